"""Programme reports for ops: KPIs, time series, top distributors, levels."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.reports import views

    return (views.admin,)
