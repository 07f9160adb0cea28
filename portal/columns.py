"""Column types shared by the models."""

from __future__ import annotations

import enum

from sqlalchemy import Enum


def str_enum(cls: type[enum.Enum]) -> Enum:
    """A string-enum column stored as its values in a VARCHAR (no database enum type, so
    adding a member needs no migration of a type on PostgreSQL)."""
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
