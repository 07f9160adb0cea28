"""Recruitment and approval: the ways a distributor joins, and the review queue.

* apply (一键申请): the public form at ``/join``;
* invite (扫码授权): ``/join/<parent_code>`` places the recruit under that parent;
* admin add (后台添加): ops create an active distributor directly;
* buyers (人人分销 / 满额分销): :mod:`portal.distributors.buyers` makes customers
  distributors (see :mod:`portal.distributors.recruitment` for the modes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select, union, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts import services as accounts
from portal.accounts.models import Role, User
from portal.audit import services as audit
from portal.distributors import codes, recruitment, signals
from portal.distributors.models import (
    Distributor,
    DistributorRole,
    DistributorStatus,
    Level,
    ShopAccount,
)
from portal.errors import InvalidTransition, NotFound
from portal.extensions import db
from portal.forms import like_escape
from portal.pagination import Key, KeysetPage, keyset_page
from portal.timeutil import utcnow

# Attempts per code length before trying a longer code. 31^6 ≈ 887 million codes, so
# collisions are rare; the loop exists because the unique index, not a pre-check, decides.
_CODE_ATTEMPTS_PER_LENGTH = 5


class RecruitmentError(accounts.AccountError):
    """A refused application, review, code or shop-account connection."""


class ShopAccountTaken(RecruitmentError):
    """The shop account is another distributor's (by default said so)."""

    def __init__(self, message: str | None = None, field: str | None = None) -> None:
        super().__init__(
            message or _("This shop account is already connected to another distributor."), field
        )


@dataclass(frozen=True)
class Applicant:
    email: str
    password: str | None  # None: added by staff, the person chooses it from an invitation
    display_name: str
    role: DistributorRole
    note: str | None = None
    locale: str | None = None  # the language of the page they applied on
    terms_version: str | None = None  # of the distributor terms they accepted
    # Joining through the shop's sign-in: the shop customer they proved to be.
    shop_customer_id: str | None = None


def find_by_code(code: str) -> Distributor | None:
    """The distributor with this issued or chosen (vanity) code."""
    code = codes.normalise(code)
    if not codes.is_link_code(code):
        return None
    return db.session.scalar(
        select(Distributor).where(or_(Distributor.code == code, Distributor.vanity_code == code))
    )


def find_active(code: str) -> Distributor | None:
    """The active distributor with this code (invites, coupons, links), else ``None``."""
    inviter = find_by_code(code)
    if inviter is None or inviter.status is not DistributorStatus.ACTIVE:
        return None
    return inviter


def distributor_for(user: User) -> Distributor | None:
    return db.session.scalar(select(Distributor).where(Distributor.user_id == user.id))


def _unchosen_code(length: int) -> str:
    """A fresh code nobody chose as their vanity code (the unique index covers issued
    codes; this covers the other column)."""
    while True:
        code = codes.generate(length)
        if db.session.scalar(select(Distributor.id).where(Distributor.vanity_code == code)) is None:
            return code


def _insert(applicant: Applicant, **fields: object) -> Distributor:
    """Insert user + distributor atomically, retrying only on a referral-code clash."""
    for length in range(codes.MIN_LENGTH, codes.MAX_LENGTH + 1):
        for _attempt in range(_CODE_ATTEMPTS_PER_LENGTH):
            savepoint = db.session.begin_nested()
            try:
                user = accounts.create_user(
                    applicant.email,
                    applicant.password,
                    Role.DISTRIBUTOR,
                    locale=applicant.locale,
                    names=[applicant.display_name],
                )
                distributor = Distributor(
                    user=user,
                    code=_unchosen_code(length),
                    display_name=applicant.display_name.strip(),
                    role=applicant.role,
                    application_note=(applicant.note or "").strip() or None,
                    **fields,
                )
                db.session.add(distributor)
                db.session.flush()
            except accounts.AccountError:
                savepoint.rollback()
                raise
            except IntegrityError:
                savepoint.rollback()
                # A concurrent request may have taken the email in the meantime.
                if accounts.email_exists(applicant.email):
                    raise accounts.EmailTaken() from None
                continue
            savepoint.commit()
            return distributor
    raise RecruitmentError(_("Could not allocate a referral code; please try again."))


def apply(applicant: Applicant, inviter: Distributor | None = None) -> Distributor:
    """Public application, in the team of ``inviter`` (their link or ref cookie) or else
    of the distributor the applicant is bound to as a customer. Commits.

    In the open recruitment mode the distributor is active at once. While there are
    terms, the applicant must have accepted the current text.
    """
    current = recruitment.terms_version()
    if current is not None and applicant.terms_version != current:
        raise RecruitmentError(
            _("The terms changed while you were reading them: please read and accept them again."),
            field="accept_terms",
        )
    if inviter is None:
        email = accounts.normalise_email(applicant.email)
        parent_id = recruitment.uplines([email]).get(email)
    else:
        parent_id = inviter.id
    now = utcnow()
    auto = recruitment.approves_at_once()
    distributor = _insert(
        applicant,
        parent_id=parent_id,
        status=DistributorStatus.ACTIVE if auto else DistributorStatus.APPLIED,
        applied_at=now,
        joined_at=now if auto else None,
        level_id=_entry_level_id() if auto else None,
        terms_accepted_at=now if current else None,
        terms_version=current,
        shop_customer_id=applicant.shop_customer_id,
    )
    if applicant.shop_customer_id is not None:
        _connect_shop_account(distributor, applicant.shop_customer_id)
    db.session.commit()
    if auto:
        signals.activated.send(distributor.id)
    return distributor


def _connect_shop_account(distributor: Distributor, customer_id: str) -> None:
    savepoint = db.session.begin_nested()
    try:
        db.session.add(ShopAccount(distributor=distributor, customer_id=customer_id))
        db.session.flush()
    except IntegrityError:  # the same shop account joined from another tab just now
        savepoint.rollback()
        db.session.rollback()
        raise ShopAccountTaken() from None
    savepoint.commit()


def add_by_admin(
    actor: User, applicant: Applicant, level_id: int | None, parent: Distributor | None
) -> Distributor:
    """An active distributor without a password: they get a set-your-password invitation
    by email (no password is ever typed or passed on by staff). Commits."""
    now = utcnow()
    distributor = _insert(
        applicant,
        parent_id=parent.id if parent is not None else None,
        status=DistributorStatus.ACTIVE,
        applied_at=now,
        joined_at=now,
        level_id=level_id if level_id is not None else _entry_level_id(),
        reviewed_by_id=actor.id,
        reviewed_at=now,
    )
    audit.record(
        actor,
        "distributor.add",
        "distributor",
        distributor.id,
        after={"code": distributor.code, "email": applicant.email, "role": applicant.role.value},
    )
    accounts.invite(distributor.user)
    db.session.commit()
    accounts.send_links()
    signals.activated.send(distributor.id)
    return distributor


def _entry_level_id() -> int | None:
    return db.session.scalar(select(Level.id).order_by(Level.rank).limit(1))


def add_buyer(email: str, customer_id: str | None, parent_id: int | None) -> Distributor:
    """A customer whose paid orders qualify them becomes an active distributor (the
    caller commits, then calls :func:`accounts.send_links`): they get the same
    set-your-password invitation as distributors staff add. Raises
    :class:`accounts.EmailTaken` for an address that is already a user's."""
    now = utcnow()
    applicant = Applicant(
        email=email,
        password=None,
        display_name=email.split("@", 1)[0][:80],
        role=DistributorRole.AFFILIATE,
    )
    distributor = _insert(
        applicant,
        parent_id=parent_id,
        status=DistributorStatus.ACTIVE,
        applied_at=now,
        joined_at=now,
        level_id=_entry_level_id(),
        shop_customer_id=customer_id,
    )
    audit.record(
        None,
        "distributor.recruit_buyer",
        "distributor",
        distributor.id,
        after={"code": distributor.code, "email": distributor.user.email, "parent_id": parent_id},
    )
    accounts.invite(distributor.user)
    return distributor


def _review(
    distributor_id: int, actor: User, to: DistributorStatus, **values: object
) -> Distributor:
    """Move an application out of ``applied`` with one conditional UPDATE.

    ``WHERE status = 'applied'`` makes the transition a compare-and-set: of two reviewers
    acting at once (on PostgreSQL or SQLite alike) exactly one updates the row, the other
    gets :class:`InvalidTransition`.
    """
    now = utcnow()
    result = db.session.execute(
        update(Distributor)
        .where(Distributor.id == distributor_id, Distributor.status == DistributorStatus.APPLIED)
        .values(status=to, reviewed_by_id=actor.id, reviewed_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        if db.session.get(Distributor, distributor_id) is None:
            raise NotFound(_("No such distributor."))
        raise InvalidTransition(_("This application was already reviewed."))
    after = {"status": to.value, **{k: v for k, v in values.items() if k == "review_note"}}
    audit.record(
        actor,
        f"distributor.{'approve' if to is DistributorStatus.ACTIVE else 'reject'}",
        "distributor",
        distributor_id,
        {"status": DistributorStatus.APPLIED.value},
        after,
    )
    db.session.commit()
    distributor = db.session.get(Distributor, distributor_id, populate_existing=True)
    assert distributor is not None
    return distributor


def approve(distributor_id: int, actor: User) -> Distributor:
    """applied → active; the distributor starts on the entry level unless one was set."""
    distributor = _review(
        distributor_id,
        actor,
        DistributorStatus.ACTIVE,
        joined_at=utcnow(),
        level_id=func.coalesce(Distributor.level_id, _entry_level_id()),
    )
    signals.approved.send(distributor)
    db.session.commit()
    signals.activated.send(distributor.id)
    return distributor


def reject(distributor_id: int, actor: User, reason: str | None) -> Distributor:
    """applied → rejected, with an optional reason shown to the applicant (on their
    dashboard, and in the notice and email they get)."""
    distributor = _review(
        distributor_id,
        actor,
        DistributorStatus.REJECTED,
        review_note=(reason or "").strip() or None,
    )
    signals.rejected.send(distributor)
    db.session.commit()
    return distributor


# Lists show each row's user, level and upline: one extra query each (no N+1).
_LIST_OPTIONS = (
    selectinload(Distributor.user),
    selectinload(Distributor.level),
    selectinload(Distributor.parent),
)


def applications_query() -> Select[tuple[Distributor]]:
    return (
        select(Distributor)
        .options(*_LIST_OPTIONS)
        .where(Distributor.status == DistributorStatus.APPLIED)
        .order_by(Distributor.applied_at, Distributor.id)
    )


@dataclass(frozen=True)
class ListFilter:
    status: DistributorStatus | None = None
    role: DistributorRole | None = None
    level_id: int | None = None
    parent_code: str = ""
    joined_from: date | None = None
    joined_to: date | None = None  # inclusive
    search: str = ""  # name, code or email


def distributors_page(filters: ListFilter | None = None) -> KeysetPage:
    """One keyset page of the admin list, newest first, with the number that match."""
    query = distributors_query(filters)
    page = keyset_page([query], (Key(Distributor.id, descending=True),))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    return KeysetPage(page.items, page.next_cursor, page.prev_cursor, total)


def distributors_query(filters: ListFilter | None = None) -> Select[tuple[Distributor]]:
    f = filters or ListFilter()
    query = select(Distributor).options(*_LIST_OPTIONS)
    if f.status is not None:
        query = query.where(Distributor.status == f.status)
    if f.role is not None:
        query = query.where(Distributor.role == f.role)
    if f.level_id is not None:
        query = query.where(Distributor.level_id == f.level_id)
    if f.parent_code:
        parent = select(Distributor.id).where(Distributor.code == f.parent_code.upper())
        query = query.where(Distributor.parent_id == parent.scalar_subquery())
    if f.joined_from is not None:
        query = query.where(Distributor.joined_at >= datetime.combine(f.joined_from, time(), UTC))
    if f.joined_to is not None:
        end = datetime.combine(f.joined_to, time(), UTC) + timedelta(days=1)
        query = query.where(Distributor.joined_at < end)
    if f.search:
        # A union of ids, one indexed lookup each (trigram indexes on PostgreSQL): an OR
        # across the two tables would scan every distributor.
        pattern = f"%{like_escape(f.search)}%"
        matches = union(
            select(Distributor.id).where(Distributor.display_name.ilike(pattern, escape="\\")),
            select(Distributor.id).where(Distributor.code == f.search.upper()),
            select(Distributor.id)
            .join(User, User.id == Distributor.user_id)
            .where(User.email.ilike(pattern, escape="\\")),
        )
        query = query.where(Distributor.id.in_(matches))
    return query


def count_by_status() -> dict[DistributorStatus, int]:
    rows = db.session.execute(
        select(Distributor.status, func.count(Distributor.id)).group_by(Distributor.status)
    )
    counts = dict.fromkeys(DistributorStatus, 0)
    counts.update({status: n for status, n in rows})
    return counts


def direct_recruits(distributor: Distributor) -> int:
    """From the maintained team counter (``portal.centre.team``), not a count of rows."""
    return (
        db.session.scalar(select(Distributor.team_size_1).where(Distributor.id == distributor.id))
        or 0
    )


def levels() -> list[Level]:
    return list(db.session.scalars(select(Level).order_by(Level.rank)))


def _display_name(user: User) -> list[str]:
    name = db.session.scalar(select(Distributor.display_name).where(Distributor.user_id == user.id))
    return [name] if name else []


def install() -> None:
    """A distributor's password may not be their display name (accounts asks for it)."""
    from portal.accounts import signals as account_signals

    account_signals.names_asked.connect(_display_name)
