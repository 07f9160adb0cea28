"""Linking a distributor to their customer account in the shop (``shop_customer_id``),
so an order they place while signed in to the shop is known as theirs whatever billing
email it gives: the self-purchase rule and the risk screening match the buyer by email
*or* by customer id.

A distributor is looked up by their portal email (``GET /customers?email=``, every
role) when they become active — a queued job on the core's ``activated`` signal — and
the reconcile goes round the active distributors not linked yet, a batch per run. Only
exactly one match links: an email the shop has no account for (or, in a misconfigured
shop, several) leaves the distributor unlinked."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from plugins.woocommerce_bridge import credentials
from plugins.woocommerce_bridge.client import WooClient, WooError
from plugins.woocommerce_bridge.models import WooSyncState
from portal.accounts.models import User
from portal.distributors.models import Distributor, DistributorStatus
from portal.extensions import db

log = logging.getLogger(__name__)
LINK_BATCH = 50  # distributors looked up per reconcile


def customer_id(api: WooClient, email: str) -> str | None:
    """The id of the one shop customer with this email, else ``None``."""
    found = api.json("GET", "/customers", params={"email": email, "role": "all"})
    if not isinstance(found, list):
        raise WooError("/customers did not return a list")
    ids = {str(c.get("id")) for c in found if isinstance(c, dict) and c.get("id")}
    return ids.pop() if len(ids) == 1 else None


def _link(api: WooClient, distributor: Distributor, email: str) -> bool:
    found = customer_id(api, email)
    if found is not None:
        distributor.shop_customer_id = found
    return found is not None


def link(distributor_id: int, **client: Any) -> bool:
    """The queued job: link one active, unlinked distributor. A shop that cannot be
    reached is logged; the reconcile tries again."""
    row = db.session.execute(
        select(Distributor, User.email)
        .join(User, User.id == Distributor.user_id)
        .where(
            Distributor.id == distributor_id,
            Distributor.status == DistributorStatus.ACTIVE,
            Distributor.shop_customer_id.is_(None),
        )
    ).first()
    if row is None:
        return False
    api = credentials.client(**client)
    try:
        linked = _link(api, *row)
    except WooError as exc:
        log.warning("woocommerce: distributor %s not linked to a customer: %s", distributor_id, exc)
        return False
    finally:
        api.close()
    return linked


def link_unlinked(api: WooClient, state: WooSyncState) -> int:
    """Look up the next ``LINK_BATCH`` active, unlinked distributors, going round by id.
    Returns how many were linked; commits."""
    limit = LINK_BATCH
    after = state.customers_checked_after or 0
    wanted = list(
        db.session.execute(
            select(Distributor, User.email)
            .join(User, User.id == Distributor.user_id)
            .where(
                Distributor.id > after,
                Distributor.status == DistributorStatus.ACTIVE,
                Distributor.shop_customer_id.is_(None),
            )
            .order_by(Distributor.id)
            .limit(limit)
        )
    )
    linked = 0
    for distributor, email in wanted:
        linked += _link(api, distributor, email)
        state.customers_checked_after = distributor.id
        db.session.commit()
    if len(wanted) < limit:
        state.customers_checked_after = 0
        db.session.commit()
    return linked
