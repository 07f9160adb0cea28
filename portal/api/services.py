"""Issuing, listing and revoking API tokens; the API's query parameters, cursor pages and
JSON shapes (orders, balances, distributors, commissions, withdrawals)."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Select, select, update
from sqlalchemy.orm import aliased, selectinload

from portal.accounts.models import User
from portal.api.models import ApiToken
from portal.audit import services as audit
from portal.commissions.models import Commission, CommissionState
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.distributors.services import find_by_code
from portal.errors import ServiceError
from portal.extensions import db
from portal.ledger import services as ledger
from portal.money import round_money
from portal.orders.models import Order
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals.models import Withdrawal, WithdrawalState
from portal.withdrawals.services import label as payout_label

TOKEN_PREFIX = "pt_"  # noqa: S105 - a visible prefix, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, actor: User | None = None) -> str:
    """A new token (returned once, never stored in the clear), audited as made by
    ``actor`` (``None``: the command line). Commits."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ValueError("a token name of 1 to 80 characters is required")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_digest(token), prefix=token[:10])
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "api_token.create", "api_token", row.id, after={"name": name})
    db.session.commit()
    return token


def tokens() -> Select[tuple[ApiToken]]:
    """Every token, newest first (revoked ones too: the list is their history)."""
    return select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())


def revoke_token(token_id: int, actor: User) -> ApiToken | None:
    """Revoke a token for good; ``None`` if there is no such token. Revoking a revoked
    token changes nothing. The conditional UPDATE makes two revokes at once record one
    audit entry. Commits."""
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    token = db.session.get(ApiToken, token_id, populate_existing=True)
    if token is not None and revoked.rowcount:
        audit.record(
            actor,
            "api_token.revoke",
            "api_token",
            token.id,
            {"name": token.name, "revoked": False},
            {"name": token.name, "revoked": True},
        )
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
    return format(round_money(amount, currency), "f")


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- query parameters and cursor pages --------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
SHOP_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,24}")
_LIMIT = re.compile(r"[0-9]{1,4}")

E = TypeVar("E", bound=enum.Enum)


class QueryError(ServiceError):
    """A query parameter the API cannot use; its message is sent to the caller (400)."""


def encode_cursor(last_id: int) -> str:
    """The opaque cursor after the row ``last_id``: base64url of the id, unpadded."""
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        if not _CURSOR.fullmatch(cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.isdigit() or len(text) > 18:
            raise ValueError(text)
    except (binascii.Error, ValueError):
        raise QueryError("cursor is not one this API returned") from None
    return int(text)


def _arg(args: Mapping[str, str], name: str) -> str | None:
    """A query parameter; empty counts as absent."""
    return args.get(name) or None


def _limit(args: Mapping[str, str]) -> int:
    raw = _arg(args, "limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _choice(args: Mapping[str, str], name: str, kind: type[E]) -> E | None:
    raw = _arg(args, name)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise QueryError(f"{name} must be one of: {allowed}") from None


def _distributor(args: Mapping[str, str]) -> Distributor | None:
    raw = _arg(args, "distributor")
    if raw is None:
        return None
    found = find_by_code(raw)
    if found is None:
        raise QueryError("distributor: no distributor has this referral code")
    return found


def _since(args: Mapping[str, str]) -> datetime | None:
    """An ISO 8601 date (midnight UTC) or date-time; without an offset it is UTC."""
    raw = _arg(args, "since")
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise QueryError("since must be an ISO 8601 date or date-time") from None


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {"data": self.data, "next_cursor": self.next_cursor}


def _page(
    query: Select[Any],
    id_column: Any,
    args: Mapping[str, str],
    shape: Callable[[Any], dict[str, Any]],
) -> Page:
    """Rows after the cursor in id order; one row more than asked tells if a page follows."""
    limit = _limit(args)
    cursor = _arg(args, "cursor")
    if cursor is not None:
        query = query.where(id_column > decode_cursor(cursor))
    rows = db.session.execute(query.order_by(id_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(
        [shape(row) for row in rows],
        encode_cursor(rows[-1][0].id) if more else None,
    )


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


def distributors_page(args: Mapping[str, str]) -> Page:
    """``GET /distributors``: filters ``status``, ``role``. No emails, ever."""
    status = _choice(args, "status", DistributorStatus)
    role = _choice(args, "role", DistributorRole)
    parent = aliased(Distributor)
    query = (
        select(Distributor, Level, parent.code)
        .outerjoin(Level, Level.id == Distributor.level_id)
        .outerjoin(parent, parent.id == Distributor.parent_id)
    )
    if status is not None:
        query = query.where(Distributor.status == status)
    if role is not None:
        query = query.where(Distributor.role == role)

    def shape(row: Any) -> dict[str, Any]:
        distributor, level, parent_code = row
        return {
            "code": distributor.code,
            "display_name": distributor.display_name,
            "status": distributor.status.value,
            "role": distributor.role.value,
            "level": {"name": level.name, "rank": level.rank} if level else None,
            "parent_code": parent_code,
            "joined_at": _time(distributor.joined_at),
        }

    return _page(query, Distributor.id, args, shape)


def commissions_page(args: Mapping[str, str]) -> Page:
    """``GET /commissions``: filters ``distributor`` (the beneficiary's code), ``state`` and
    ``since`` (orders placed from then on)."""
    beneficiary = _distributor(args)
    state = _choice(args, "state", CommissionState)
    since = _since(args)
    earner = aliased(Distributor)
    seller = aliased(Distributor)
    query = (
        select(Commission, earner.code, seller.code, Order.shop_order_id, Order.number)
        .join(earner, earner.id == Commission.beneficiary_id)
        .outerjoin(seller, seller.id == Commission.seller_id)
        .join(Order, Order.id == Commission.order_id)
    )
    if beneficiary is not None:
        query = query.where(Commission.beneficiary_id == beneficiary.id)
    if state is not None:
        query = query.where(Commission.state == state)
    if since is not None:
        query = query.where(Commission.order_created_at >= since)

    def shape(row: Any) -> dict[str, Any]:
        commission, beneficiary_code, seller_code, shop_order_id, number = row
        return {
            "id": commission.id,
            "shop_order_id": shop_order_id,
            "order_number": number,
            "order_created_at": _time(commission.order_created_at),
            "beneficiary_code": beneficiary_code,
            "seller_code": seller_code,
            "depth": commission.depth,
            "state": commission.state.value,
            "currency": commission.currency,
            "amount": _money(commission.amount, commission.currency),
            "created_at": _time(commission.created_at),
            "updated_at": _time(commission.updated_at),
        }

    return _page(query, Commission.id, args, shape)


def withdrawals_page(args: Mapping[str, str]) -> Page:
    """``GET /withdrawals``: filters ``state`` and ``distributor``. The payout account only
    ever appears masked."""
    state = _choice(args, "state", WithdrawalState)
    distributor = _distributor(args)
    query = (
        select(Withdrawal, Distributor.code)
        .join(Distributor, Distributor.id == Withdrawal.distributor_id)
        .options(selectinload(Withdrawal.payout_account))
    )
    if state is not None:
        query = query.where(Withdrawal.state == state)
    if distributor is not None:
        query = query.where(Withdrawal.distributor_id == distributor.id)

    def shape(row: Any) -> dict[str, Any]:
        withdrawal, code = row
        currency = withdrawal.currency
        return {
            "id": withdrawal.id,
            "distributor_code": code,
            "state": withdrawal.state.value,
            "currency": currency,
            "amount": _money(withdrawal.amount, currency),
            "fee": _money(withdrawal.fee, currency),
            "net": _money(withdrawal.net, currency),
            "payout_method": withdrawal.payout_account.method.value,
            "payout_account": payout_label(withdrawal.payout_account),
            "requested_at": _time(withdrawal.requested_at),
            "decided_at": _time(withdrawal.decided_at),
            "paid_at": _time(withdrawal.paid_at),
            "reference": withdrawal.reference,
        }

    return _page(query, Withdrawal.id, args, shape)
