"""``/api/v1``: read-only JSON for the shop and for merchants' own tools."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.wrappers import Response

from portal import registry
from portal.api import openapi, services
from portal.distributors.services import find_by_code
from portal.extensions import csrf
from portal.inputs import UnprintableInput
from portal.orders.services import find

public = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(public)

PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


@public.before_request
def require_token() -> tuple[Response, int] | None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = services.authenticate(request.headers.get("Authorization"))
    if token is None:
        response, status = _error(401, "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal"'
        return response, status
    g.api_token = token
    return None


@public.errorhandler(UnprintableInput)
def unprintable_input(error: UnprintableInput) -> tuple[Response, int]:
    return _error(400, "the address contains control characters (such as NUL)")


@public.errorhandler(services.QueryError)
def bad_query(error: services.QueryError) -> tuple[Response, int]:
    return _error(400, error.message)


@public.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 description of this API (no token needed to read it)."""
    return jsonify(openapi.document())


@public.get("/orders/<shop_order_id>")
def order(shop_order_id: str) -> tuple[Response, int]:
    found = (
        find(registry.shop_kind(), shop_order_id)
        if services.SHOP_ORDER_ID.fullmatch(shop_order_id)
        else None
    )
    if found is None:
        return _error(404, "no such order")
    return jsonify(services.order_json(found)), 200


@public.get("/distributors/<code>/balances")
def balances(code: str) -> tuple[Response, int]:
    distributor = find_by_code(code)
    if distributor is None:
        return _error(404, "no such distributor")
    return jsonify(services.balances_json(distributor)), 200


@public.get("/distributors")
def distributors() -> tuple[Response, int]:
    return jsonify(services.distributors_page(request.args).as_json()), 200


@public.get("/commissions")
def commissions() -> tuple[Response, int]:
    return jsonify(services.commissions_page(request.args).as_json()), 200


@public.get("/withdrawals")
def withdrawals() -> tuple[Response, int]:
    return jsonify(services.withdrawals_page(request.args).as_json()), 200


@public.get("/<path:unknown>")
def not_found(unknown: str) -> tuple[Response, int]:
    """Unknown API URLs answer in JSON like the rest of the API, not with an HTML page."""
    return _error(404, "no such endpoint")
