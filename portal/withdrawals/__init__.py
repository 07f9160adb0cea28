"""Withdrawals: distributors take available money out; ops approve and pay."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.withdrawals import admin, paypal_views, views

    return (views.me, admin.admin, paypal_views.public)
