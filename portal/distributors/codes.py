"""Referral codes: short, upper-case, without characters people misread (0/O, 1/I/L)."""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MIN_LENGTH = 6
MAX_LENGTH = 8


def generate(length: int = MIN_LENGTH) -> str:
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"code length must be {MIN_LENGTH}..{MAX_LENGTH}")
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalise(raw: str) -> str:
    """Canonical form of a code someone typed or a link carried (case-insensitive)."""
    return raw.strip().upper()


def is_well_formed(code: str) -> bool:
    return MIN_LENGTH <= len(code) <= MAX_LENGTH and all(ch in ALPHABET for ch in code)


# A vanity code: what a creator chose to be known by (``AMYBEAUTY``). Any letters and
# digits — they chose it and say it themselves — but never a word that reads as the
# programme's own voice or a page of the portal.
VANITY_MIN_LENGTH = 4
VANITY_MAX_LENGTH = 16
RESERVED = frozenset(
    {
        "ADMIN",
        "ADMINS",
        "API",
        "APP",
        "AUTH",
        "HELP",
        "HOME",
        "INFO",
        "JOIN",
        "LOGIN",
        "LOGOUT",
        "MAIL",
        "NONE",
        "NULL",
        "OFFICIAL",
        "OPS",
        "ORDER",
        "ORDERS",
        "PORTAL",
        "REFUND",
        "ROOT",
        "SHOP",
        "SIGNIN",
        "SIGNUP",
        "STAFF",
        "STATIC",
        "STORE",
        "SUPPORT",
        "SYSTEM",
        "TEST",
        "UNDEFINED",
        "WWW",
    }
)


def is_vanity(code: str) -> bool:
    """Well-formed as a vanity code (reserved words included: see :data:`RESERVED`)."""
    return VANITY_MIN_LENGTH <= len(code) <= VANITY_MAX_LENGTH and code.isascii() and code.isalnum()


def is_link_code(code: str) -> bool:
    """What a short link may carry: an issued code or a vanity one."""
    return is_well_formed(code) or is_vanity(code)
