"""Distributors, their levels and recruitment."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.distributors import approvals_admin, detail_admin, shop_views, views

    return (views.public, shop_views.public, views.admin, detail_admin.admin, approvals_admin.admin)
