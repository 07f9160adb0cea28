"""Issuing and checking API tokens; the JSON shapes of orders and balances."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from portal.api.models import ApiToken
from portal.commissions.engine import round_money
from portal.commissions.models import Commission
from portal.distributors.models import Distributor
from portal.extensions import db
from portal.ledger import services as ledger
from portal.orders.models import Order
from portal.settings import services as settings
from portal.timeutil import utcnow

TOKEN_PREFIX = "pt_"  # noqa: S105 - a visible prefix, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str) -> str:
    """A new token (returned once, never stored in the clear). Commits."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ValueError("a token name of 1 to 80 characters is required")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(name=name, token_hash=_digest(token), prefix=token[:10]))
    db.session.commit()
    return token


def authenticate(header: str | None) -> ApiToken | None:
    """The token behind an ``Authorization: Bearer …`` header, if valid and not revoked."""
    if not header or not header.startswith("Bearer "):
        return None
    found = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_hash == _digest(header[7:].strip()), ApiToken.revoked_at.is_(None)
        )
    )
    if found is not None:
        found.last_used_at = utcnow()
        db.session.commit()
    return found


def _money(amount: Decimal, currency: str) -> str:
    return str(round_money(amount, currency))


def order_json(order: Order) -> dict[str, Any]:
    commissions = db.session.execute(
        select(Commission, Distributor.code)
        .join(Distributor, Distributor.id == Commission.beneficiary_id)
        .where(Commission.order_id == order.id)
        .order_by(Commission.depth)
    ).all()
    seller = db.session.get(Distributor, order.distributor_id) if order.distributor_id else None
    return {
        "shop_order_id": order.shop_order_id,
        "number": order.number,
        "status": order.status,
        "currency": order.currency,
        "attribution": {
            "method": order.attribution_method,
            "distributor_code": seller.code if seller else None,
            "evidence": order.attribution_evidence,
        },
        "commissions": [
            {
                "beneficiary_code": code,
                "depth": c.depth,
                "amount": _money(c.amount, c.currency),
                "state": c.state.value,
            }
            for c, code in commissions
        ],
    }


def balances_json(distributor: Distributor) -> dict[str, Any]:
    currency = settings.get("currency")
    return {
        "code": distributor.code,
        "currency": currency,
        "balances": {
            bucket.value: _money(amount, currency)
            for bucket, amount in ledger.balances(distributor.id).items()
        },
    }
