"""The read-only JSON API (``/api/v1``), authenticated with bearer tokens."""
