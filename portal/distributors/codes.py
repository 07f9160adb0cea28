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
