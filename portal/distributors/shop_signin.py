"""Sign in with the shop account: what the portal does with a shop customer's identity
that a shop plugin has verified (the plugin checks the assertion's signature, expiry,
one-time nonce and shop; the core never names it).

* The distributor whose :class:`ShopAccount` is that customer is signed in.
* An account that may be theirs — a distributor linked to that customer id by a lookup
  by email, or the user with the shop's email — is connected once, with its portal
  password. Neither side verifies emails (the shop lets anyone register any address),
  so an email match alone signs nobody in: the person proves both accounts, the shop's by
  arriving with the assertion, the portal's with its password.
* Anyone else is offered the one-tap join page, with the shop's name and email.

Between the assertion and the join or connect page, the identity waits in the signed
session cookie for :data:`PENDING_SECONDS`.
"""

from __future__ import annotations

import enum
import time
from dataclasses import asdict, dataclass

from flask import session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.distributors import services
from portal.distributors.models import Distributor, DistributorRole, ShopAccount
from portal.extensions import db
from portal.timeutil import utcnow

SESSION_KEY = "shop_identity"
PENDING_SECONDS = 900


@dataclass(frozen=True)
class ShopIdentity:
    """A shop customer, as the shop vouched for them."""

    customer_id: str
    email: str
    name: str
    locale: str | None = None  # a portal locale (``en``, ``zh_Hans``), or None
    ref: str | None = None  # the referral code the shop remembered for them


class Found(enum.Enum):
    SIGN_IN = "sign_in"  # their shop account is connected: sign them in
    CONNECT = "connect"  # an account that may be theirs: confirm with its password
    STAFF = "staff"  # the shop's email is a staff account's: never through the shop
    JOIN = "join"  # nobody: the join page


@dataclass(frozen=True)
class Match:
    found: Found
    user: User | None = None
    account: ShopAccount | None = None


def match(identity: ShopIdentity) -> Match:
    account = db.session.scalar(
        select(ShopAccount).where(ShopAccount.customer_id == identity.customer_id)
    )
    if account is not None:
        return Match(Found.SIGN_IN, account.distributor.user, account)
    email = accounts.normalise_email(identity.email)
    candidate = db.session.scalar(
        select(User)
        .join(Distributor, Distributor.user_id == User.id)
        .where(Distributor.shop_customer_id == identity.customer_id)
        .order_by(Distributor.id)
        .limit(1)
    ) or db.session.scalar(select(User).where(User.email == email))
    if candidate is None:
        return Match(Found.JOIN)
    return Match(Found.STAFF if candidate.is_staff else Found.CONNECT, candidate)


def signed_in(account: ShopAccount) -> None:
    account.last_signin_at = utcnow()


# --- the identity waiting for the join or connect page ---------------------------------


def remember(identity: ShopIdentity, candidate: User | None = None) -> None:
    session[SESSION_KEY] = {
        **asdict(identity),
        "candidate": candidate.id if candidate is not None else None,
        "until": time.time() + PENDING_SECONDS,
    }


def pending() -> tuple[ShopIdentity, int | None] | None:
    """The identity remembered, and the user id it may be connected to (None: joining)."""
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, dict) or stored.get("until", 0) < time.time():
        return None
    candidate = stored.get("candidate")
    fields = {k: stored.get(k) for k in ("customer_id", "email", "name", "locale", "ref")}
    return ShopIdentity(**fields), candidate


def forget() -> None:
    session.pop(SESSION_KEY, None)


# --- joining, connecting ----------------------------------------------------------------


def join(
    identity: ShopIdentity,
    display_name: str,
    role: DistributorRole,
    note: str | None,
    terms_version: str | None,
    page_locale: str,
    inviter: Distributor | None,
) -> Distributor:
    """One-tap join with the shop identity: no portal password (they sign in through the
    shop, or choose one with *Forgot your password?*). The recruitment mode and the terms
    apply as on ``/join``."""
    applicant = services.Applicant(
        email=identity.email,
        password=None,
        display_name=display_name,
        role=role,
        note=note,
        locale=identity.locale or page_locale,
        terms_version=terms_version,
        shop_customer_id=identity.customer_id,
    )
    return services.apply(applicant, inviter)


def connect(user: User, identity: ShopIdentity) -> Distributor:
    """The user proved the portal account with its password: their distributor's shop
    account is now this customer (replacing another they had), and ``shop_customer_id``
    follows it (the self-purchase rule)."""
    distributor = services.distributor_for(user)
    if distributor is None:
        raise services.RecruitmentError(_("Only distributors sign in with the shop account."))
    account = db.session.scalar(
        select(ShopAccount).where(ShopAccount.distributor_id == distributor.id)
    )
    savepoint = db.session.begin_nested()
    try:
        if account is None:
            account = ShopAccount(distributor=distributor, customer_id=identity.customer_id)
            db.session.add(account)
        account.customer_id = identity.customer_id
        account.linked_at = account.last_signin_at = utcnow()
        distributor.shop_customer_id = identity.customer_id
        db.session.flush()
    except IntegrityError:  # another distributor connected it in the meantime
        savepoint.rollback()
        raise services.ShopAccountTaken() from None
    savepoint.commit()
    return distributor
