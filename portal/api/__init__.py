"""The read-only JSON API (``/api/v1``), authenticated with bearer tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.api import admin, views

    return (admin.admin, views.public)
