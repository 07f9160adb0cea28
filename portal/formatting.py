"""Locale-aware formatting of money and rates for pages, charts and cards."""

from __future__ import annotations

from typing import Any

from flask_babel import format_currency, format_decimal

from portal.settings import services as settings


def money(amount: Any, currency: str | None = None) -> str:
    """Locale-aware money (¥1,234.50 / $1,234.50 / 1.234,50 €) in the shop currency."""
    # CLDR knows each currency's digits (JPY 0, KWD 3), like the engine's ISO table.
    return format_currency(amount, currency or settings.get("currency"))


def percent(value: Any) -> str:
    """A rate stored as a percentage (Decimal 12.5000 → "12.5 %"), never via float."""
    if value is None:
        return "—"
    return f"{format_decimal(value, format='#,##0.####')} %"
