"""Money on the ground floor: the column type and the currency's minor unit.

Exact decimals, never float. Every module that rounds money imports these helpers from
here (the pure engine included), so no package reaches into another to round an amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric

# Major units with room for 3-decimal currencies (KWD); amounts are quantised to the
# currency's minor unit before they are stored (round_money below).
Money = Numeric(18, 4)

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def minor_unit_exponent(currency: str) -> int:
    """ISO 4217 exponent: JPY 0, KWD 3, most currencies 2."""
    return _EXPONENTS.get(currency.upper(), 2)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def round_money(amount: Decimal, currency: str, rounding: str = ROUND_HALF_UP) -> Decimal:
    return amount.quantize(quantum(currency), rounding=rounding)
