"""Business settings that ops change at run time (stored in the database)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.settings import views

    return (views.admin,)
