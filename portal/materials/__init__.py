"""The promotion material library: images, copy text, tutorials and chat scripts that ops
publish and distributors share, filled with their own links and codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.materials import views

    return (views.me, views.admin)
