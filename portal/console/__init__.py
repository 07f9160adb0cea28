"""The staff console's pages about one thing seen through every domain: a distributor
(money, team, orders, risk flags, coupons, audit) and an order (its commissions, why, its
risk flags, re-assignment). Above every package they read, so those import none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.console import distributor_admin, orders_admin

    return (distributor_admin.admin, orders_admin.admin)
