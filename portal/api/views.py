"""``/api/v1``: read-only JSON for the shop and for merchants' own tools."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.wrappers import Response

from portal.api import services
from portal.distributors.services import find_by_code
from portal.extensions import csrf
from portal.orders.services import find

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


@bp.before_request
def require_token() -> tuple[Response, int] | None:
    token = services.authenticate(request.headers.get("Authorization"))
    if token is None:
        response, status = _error(401, "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
        return response, status
    g.api_token = token
    return None


@bp.get("/orders/<shop_order_id>")
def order(shop_order_id: str) -> tuple[Response, int]:
    found = find("woocommerce", shop_order_id)
    if found is None:
        return _error(404, "no such order")
    return jsonify(services.order_json(found)), 200


@bp.get("/distributors/<code>/balances")
def balances(code: str) -> tuple[Response, int]:
    distributor = find_by_code(code)
    if distributor is None:
        return _error(404, "no such distributor")
    return jsonify(services.balances_json(distributor)), 200
