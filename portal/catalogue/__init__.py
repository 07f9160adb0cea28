"""The shop's product catalogue, as synced by a shop plugin."""
