"""Short-link redirects (public) and the distributor's links & QR page."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.accounts.access import distributor_blueprint
from portal.distributors.current import current_distributor

public = Blueprint("links", __name__)
me = distributor_blueprint("me_links", __name__)


@me.get("/links")
def index() -> str:
    return render_template("me/links.html", distributor=current_distributor())
