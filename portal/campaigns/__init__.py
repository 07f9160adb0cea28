"""Incentive campaigns: tiered bonuses and leaderboard prizes, awarded into the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Blueprint


def blueprints() -> tuple[Blueprint, ...]:
    """This package's pages, for the app factory (imported only then: views import models)."""
    from portal.campaigns import views

    return (views.me, views.admin)
