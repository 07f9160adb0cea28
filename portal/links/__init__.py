"""Short links, clicks, QR codes and share cards."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.links import creator_views, poster_admin, poster_views, views

    return (views.public, views.me, creator_views.me, poster_views.me, poster_admin.admin)
