"""Users, roles, sessions, sign-in throttling, passwords and the emailed account links."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.accounts import admin, views

    return (views.public, admin.admin)
