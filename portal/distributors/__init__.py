"""Distributors, their levels and recruitment."""
