"""Joining: the public join pages (``/join``, invite links, the one-tap join with the shop
account), the terms and rates they show, the upline a newcomer joins under, and the job
that makes buyers distributors (人人分销 / 满额分销). Above orders, commissions and risk,
which they read; the recruitment rules they apply are :mod:`portal.distributors.recruitment`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.join import shop_views, views

    return (views.public, shop_views.public)
