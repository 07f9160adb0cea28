"""Append-only audit trail of admin actions and setting changes."""
