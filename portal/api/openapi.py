"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Built in Python so the enumerations (states, roles, buckets) come from the models and
cannot drift from what the API returns; a test checks that every API route is documented
and schemathesis checks the responses against these schemas.
"""

from __future__ import annotations

import enum
from functools import cache
from typing import Any

from portal.api.services import DEFAULT_LIMIT, MAX_LIMIT
from portal.commissions.models import CommissionState
from portal.distributors.models import DistributorRole, DistributorStatus
from portal.ledger.models import Bucket
from portal.withdrawals.models import PayoutMethod, WithdrawalState

PREFIX = "/api/v1"
# The referral-code alphabet (no 0/O, 1/I/L), either case: codes are case-insensitive.
CODE_PATTERN = "^[2-9A-HJKMNP-Za-hjkmnp-z]{6,8}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _values(kind: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in kind]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _object(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error_response(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _list_operation(
    summary: str, description: str, item: str, filters: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": f"list{item}s",
            "summary": summary,
            "description": description,
            "tags": ["lists"],
            "parameters": [
                *filters,
                {"$ref": "#/components/parameters/limit"},
                {"$ref": "#/components/parameters/cursor"},
            ],
            "responses": {
                "200": _json(_ref(f"{item}Page"), "One page, in id order (oldest first)."),
                "400": _error_response("BadRequest"),
                "401": _error_response("Unauthorized"),
            },
        }
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _distributor_filter(description: str) -> dict[str, Any]:
    return _query(
        "distributor",
        description + " An unknown code is a 400.",
        {"type": "string", "pattern": CODE_PATTERN, "examples": ["K7M2QX"]},
    )


def _schemas() -> dict[str, Any]:
    money = {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
        "description": "A decimal amount as a string, with exactly the currency's minor "
        "unit digits (JPY 0, USD 2, KWD 3). Never a float.",
        "examples": ["12.50"],
    }
    timestamp = {"type": "string", "format": "date-time", "examples": ["2026-11-01T10:00:00+00:00"]}
    currency = {"type": "string", "minLength": 3, "maxLength": 3, "examples": ["CNY"]}
    code = {"type": "string", "description": "A referral code.", "examples": ["K7M2QX"]}
    schemas: dict[str, Any] = {
        "Error": _object({"error": {"type": "string"}}, "What was wrong, for a person to read."),
        "Money": money,
        "Timestamp": timestamp,
        "Order": _object(
            {
                "shop_order_id": {"type": "string"},
                "number": _nullable({"type": "string"}),
                "status": {"type": "string", "description": "The shop's order status."},
                "currency": currency,
                "attribution": _object(
                    {
                        "method": _nullable({"type": "string"}),
                        "distributor_code": _nullable(code),
                        "evidence": _nullable({"type": "object"}),
                    },
                    "Who the order is credited to, how, and the evidence.",
                ),
                "commissions": {
                    "type": "array",
                    "items": _object(
                        {
                            "beneficiary_code": code,
                            "depth": {"type": "integer", "minimum": 1, "maximum": 3},
                            "amount": _ref("Money"),
                            "state": {"enum": _values(CommissionState)},
                        }
                    ),
                },
            }
        ),
        "Balances": _object(
            {
                "code": code,
                "currency": currency,
                "balances": _object({bucket: _ref("Money") for bucket in _values(Bucket)}),
            },
            "Sums of the distributor's ledger entries per bucket, in the shop currency.",
        ),
        "Distributor": _object(
            {
                "code": code,
                "display_name": {"type": "string"},
                "status": {"enum": _values(DistributorStatus)},
                "role": {"enum": _values(DistributorRole)},
                "level": _nullable(
                    _object({"name": {"type": "string"}, "rank": {"type": "integer"}})
                ),
                "parent_code": _nullable(code),
                "joined_at": _nullable(_ref("Timestamp")),
            },
            "A distributor. Emails and payout details are never part of the API.",
        ),
        "Commission": _object(
            {
                "id": {"type": "integer"},
                "shop_order_id": {"type": "string"},
                "order_number": _nullable({"type": "string"}),
                "order_created_at": _ref("Timestamp"),
                "beneficiary_code": code,
                "seller_code": _nullable(code),
                "depth": {"type": "integer", "minimum": 1, "maximum": 3},
                "state": {"enum": _values(CommissionState)},
                "currency": currency,
                "amount": _ref("Money"),
                "created_at": _ref("Timestamp"),
                "updated_at": _ref("Timestamp"),
            },
            "One beneficiary's commission on one order at one depth (1 = the seller).",
        ),
        "Withdrawal": _object(
            {
                "id": {"type": "integer"},
                "distributor_code": code,
                "state": {"enum": _values(WithdrawalState)},
                "currency": currency,
                "amount": _ref("Money"),
                "fee": _ref("Money"),
                "net": _ref("Money"),
                "payout_method": {"enum": _values(PayoutMethod)},
                "payout_account": {
                    "type": "string",
                    "description": "Method, bank and the account masked: "
                    '"Bank transfer · ICBC · •••• 6789".',
                },
                "requested_at": _ref("Timestamp"),
                "decided_at": _nullable(_ref("Timestamp")),
                "paid_at": _nullable(_ref("Timestamp")),
                "reference": _nullable({"type": "string"}),
            },
            "A withdrawal request: requested → approved → paid, or rejected.",
        ),
    }
    for item in ("Distributor", "Commission", "Withdrawal"):
        schemas[f"{item}Page"] = _object(
            {
                "data": {"type": "array", "items": _ref(item), "maxItems": MAX_LIMIT},
                "next_cursor": _nullable(
                    {
                        "type": "string",
                        "description": "Pass as `cursor` for the next page; null on the last page.",
                    }
                ),
            }
        )
    return schemas


def _paths() -> dict[str, Any]:
    return {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }
        },
        f"{PREFIX}/orders/{{shop_order_id}}": {
            "get": {
                "operationId": "getOrder",
                "summary": "An order, its attribution and its commissions",
                "tags": ["orders"],
                "parameters": [
                    {
                        "name": "shop_order_id",
                        "in": "path",
                        "required": True,
                        "description": "The shop's order id.",
                        "schema": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9_-]{1,64}$",
                            "examples": ["727"],
                        },
                    }
                ],
                "responses": {
                    "200": _json(_ref("Order"), "The order."),
                    "401": _error_response("Unauthorized"),
                    "404": _error_response("NotFound"),
                },
            }
        },
        f"{PREFIX}/distributors/{{code}}/balances": {
            "get": {
                "operationId": "getBalances",
                "summary": "A distributor's balances per ledger bucket",
                "tags": ["distributors"],
                "parameters": [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "description": "The referral code (case-insensitive).",
                        "schema": {"type": "string", "pattern": CODE_PATTERN},
                    }
                ],
                "responses": {
                    "200": _json(_ref("Balances"), "The balances."),
                    "401": _error_response("Unauthorized"),
                    "404": _error_response("NotFound"),
                },
            }
        },
        f"{PREFIX}/distributors": _list_operation(
            "Distributors",
            "Every distributor, including applicants and suspended ones.",
            "Distributor",
            [
                _query("status", "Only this status.", {"enum": _values(DistributorStatus)}),
                _query("role", "Only this role.", {"enum": _values(DistributorRole)}),
            ],
        ),
        f"{PREFIX}/commissions": _list_operation(
            "Commissions",
            "Commissions with their current state.",
            "Commission",
            [
                _distributor_filter("Only commissions earned by this referral code."),
                _query("state", "Only this state.", {"enum": _values(CommissionState)}),
                _query(
                    "since",
                    "Only commissions on orders placed at or after this time: an RFC 3339 "
                    "date-time, or a date (midnight UTC). Without an offset, UTC.",
                    {"type": "string", "format": "date-time"},
                ),
            ],
        ),
        f"{PREFIX}/withdrawals": _list_operation(
            "Withdrawals",
            "Withdrawal requests; payout accounts appear masked only.",
            "Withdrawal",
            [
                _query("state", "Only this state.", {"enum": _values(WithdrawalState)}),
                _distributor_filter("Only this distributor's withdrawals."),
            ],
        ),
    }


@cache
def document() -> dict[str, Any]:
    """The whole document (built once per process; it depends on code only)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Distribution portal API",
            "version": "1",
            "description": "Read-only JSON for the shop and for the merchant's own tools. "
            "Every endpoint except this document needs `Authorization: Bearer <token>`; "
            "admins issue tokens under Admin → API tokens or with `portal api-token create`. "
            "Lists are paged by an opaque cursor: follow `next_cursor` until it is null.",
        },
        "security": [{"bearer": []}],
        "tags": [
            {"name": "orders"},
            {"name": "distributors"},
            {"name": "lists"},
            {"name": "meta"},
        ],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from Admin → API tokens or the command line.",
                }
            },
            "schemas": _schemas(),
            "parameters": {
                "limit": _query(
                    "limit",
                    f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                ),
                "cursor": _query(
                    "cursor",
                    "The `next_cursor` of the previous page (opaque).",
                    {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,24}$"},
                ),
            },
            "responses": {
                "BadRequest": _json(_ref("Error"), "A query parameter is not usable."),
                "Unauthorized": {
                    **_json(_ref("Error"), "No valid bearer token."),
                    "headers": {
                        "WWW-Authenticate": {
                            "schema": {"type": "string"},
                            "description": 'Always `Bearer realm="portal"`.',
                        }
                    },
                },
                "NotFound": _json(_ref("Error"), "Nothing has this id or code."),
            },
        },
    }
