"""The distributor's withdrawals: request, payout accounts, history."""

from __future__ import annotations

from flask import render_template

from portal.accounts.access import distributor_blueprint
from portal.distributors.current import current_distributor

me = distributor_blueprint("me_withdrawals", __name__)


@me.get("/withdrawals")
def index() -> str:
    return render_template("me/withdrawals.html", distributor=current_distributor())
