"""Pickup points, pick lists and group-buy rounds for community group leaders."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.pickup import views

    return (views.public, views.me, views.admin)
