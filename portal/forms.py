"""Small helpers shared by the WTForms forms."""

from __future__ import annotations


def strip(value: str | None) -> str | None:
    """Field filter: people paste emails and codes with stray spaces."""
    return value.strip() if isinstance(value, str) else value
