"""Automatic payouts through the PayPal Payouts API (a payout provider that pays).

The contract this follows — PayPal's published REST API, written down with its
documentation in ``tests/paypal_loopback.py``:

* ``POST /v1/oauth2/token`` (HTTP Basic client id : secret, ``grant_type=
  client_credentials``) gives a Bearer token valid ``expires_in`` seconds; it is kept per
  process until shortly before then, and fetched again at once when an API call answers
  401.
* ``POST /v1/payments/payouts`` creates a batch. Its ``sender_batch_header.
  sender_batch_id`` is the idempotency key: PayPal pays a ``sender_batch_id`` once in 30
  days and answers a repeat with an error naming the duplicate and a link to the original
  batch. So the batch is **stored before it is sent** (state ``unknown``), and every retry —
  after a timeout, a dropped connection, a crash, a second click — sends the very same
  id: nothing can be paid twice.
* ``GET /v1/payments/payouts/{payout_batch_id}`` gives the batch status and every item's
  ``transaction_status``; webhooks (``PAYMENT.PAYOUTS-ITEM.*``, ``PAYMENT.PAYOUTSBATCH.*``)
  say the same sooner, verified through ``POST /v1/notifications/verify-webhook-signature``.

Reconciliation goes through the withdrawals' own steps, never a ledger path of its own:
``SUCCESS`` → :func:`services.pay` (statement, "paid" email); ``FAILED`` / ``RETURNED`` /
``BLOCKED`` / ``REFUNDED`` → :func:`services.reject` (the amount back to available) with
PayPal's reason as a sentence in the distributor's language, and a notification;
``PENDING`` / ``UNCLAIMED`` / ``ONHOLD`` wait. A batch PayPal refuses or denies pays
nothing: its withdrawals stay approved and can be sent again (with a new id). Money PayPal
takes back *after* a withdrawal was paid (``REVERSED``) is flagged for ops, not booked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.audit import services as audit
from portal.distributors.models import Distributor
from portal.errors import InvalidTransition
from portal.extensions import db
from portal.ledger.services import lock_distributor
from portal.money import minor_unit_exponent, round_money
from portal.notifications import services as notifications
from portal.notifications.models import NotificationKind
from portal.paypal_reasons import paypal_reason
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals import services
from portal.withdrawals.models import (
    PayoutMethod,
    PayPalBatch,
    PayPalBatchState,
    PayPalEvent,
    PayPalItem,
    Withdrawal,
    WithdrawalState,
)
from portal.withdrawals.services import WithdrawalError

log = logging.getLogger(__name__)

LIVE = "https://api-m.paypal.com"
SANDBOX = "https://api-m.sandbox.paypal.com"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_ITEMS = 1000  # per batch (PayPal takes 15,000; one page of the batch's details)
PAID = "SUCCESS"
RETURNED = frozenset({"FAILED", "RETURNED", "BLOCKED", "REFUNDED", "REVERSED"})
WAITING = frozenset({"PENDING", "UNCLAIMED", "ONHOLD"})
BATCH_OVER = frozenset({"SUCCESS", "DENIED", "CANCELED"})
_TOKEN_MARGIN = 60  # seconds before expiry a token is no longer used


class PayPalError(Exception):
    """PayPal could not be reached, or answered with an error (``status`` 0: no answer)."""

    def __init__(self, status: int, body: dict[str, Any] | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}
        self.message = message

    @property
    def answered(self) -> bool:
        return self.status != 0


# --- the API client --------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    base_url: str
    client_id: str
    secret: str
    webhook_id: str

    @property
    def complete(self) -> bool:
        return bool(self.client_id and self.secret)


def credentials() -> Credentials:
    """Admin → Settings, and the base URL: ``PAYPAL_API_BASE`` when set (tests point it at
    a loopback server), else the sandbox or the live API by the sandbox switch."""
    base = current_app.config.get("PAYPAL_API_BASE") or (
        SANDBOX if settings.get("paypal_sandbox") else LIVE
    )
    return Credentials(
        base.rstrip("/"),
        settings.get("paypal_client_id"),
        settings.get("paypal_client_secret"),
        settings.get("paypal_webhook_id"),
    )


def configured() -> bool:
    return credentials().complete


_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def _token_key(creds: Credentials) -> tuple[str, str, str]:
    return (creds.base_url, creds.client_id, hashlib.sha256(creds.secret.encode()).hexdigest())


def _error(response: httpx.Response) -> PayPalError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    # API errors: name / message / debug_id / details; OAuth errors: error / error_description.
    name = body.get("name") or body.get("error") or f"HTTP {response.status_code}"
    text = body.get("message") or body.get("error_description") or ""
    debug = body.get("debug_id")
    message = f"{name}: {text}" if text else str(name)
    if debug:
        message += f" (debug_id {debug})"
    return PayPalError(response.status_code, body, message)


def _token(client: httpx.Client, creds: Credentials, fresh: bool = False) -> str:
    key = _token_key(creds)
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            return cached[0]
    try:
        response = client.post(
            "/v1/oauth2/token",
            auth=(creds.client_id, creds.secret),
            data={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise PayPalError(0, None, f"PayPal unreachable: {exc}") from exc
    if response.status_code != 200:
        raise _error(response)
    body = response.json()
    expires = time.monotonic() + max(int(body.get("expires_in", 0)) - _TOKEN_MARGIN, 0)
    with _tokens_lock:
        _tokens[key] = (body["access_token"], expires)
    return body["access_token"]


def _call(
    method: str,
    path: str,
    creds: Credentials,
    *,
    json_body: Any = None,
    content: str | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One API call with a Bearer token (fetched again once when PayPal answers 401).
    :class:`PayPalError` on a transport failure (status 0) or a non-2xx answer."""
    with httpx.Client(base_url=creds.base_url, timeout=TIMEOUT) as client:
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {_token(client, creds, fresh=attempt == 2)}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
            try:
                response = client.request(
                    method, path, json=json_body, content=content, params=params, headers=headers
                )
            except httpx.HTTPError as exc:
                raise PayPalError(0, None, f"PayPal unreachable: {exc}") from exc
            if response.status_code == 401 and attempt == 1:
                continue  # the token expired or was revoked early
            if response.status_code >= 300:
                raise _error(response)
            return response.json() if response.content else {}
    raise AssertionError("unreachable")  # pragma: no cover


# --- sending ---------------------------------------------------------------------------


def _amount_text(amount: Decimal, currency: str) -> str:
    """PayPal's amount value: a string with the currency's decimals ("10.00", JPY "10")."""
    places = minor_unit_exponent(currency)
    return f"{round_money(amount, currency):.{places}f}"


def _digest(withdrawal_ids: Iterable[int]) -> str:
    ids = ",".join(str(i) for i in sorted(withdrawal_ids))
    return hashlib.sha256(ids.encode()).hexdigest()[:20]


def _sender_batch_id(withdrawal_ids: Sequence[int]) -> str:
    """``portal-<digest of the withdrawal ids>-<attempt>``: the same withdrawals give the
    same id; the attempt grows only after PayPal refused or denied an earlier batch of
    them (which paid nothing), so a new try is not taken for a duplicate."""
    prefix = f"portal-{_digest(withdrawal_ids)}-"
    earlier = db.session.scalar(
        select(func.count(PayPalBatch.id)).where(PayPalBatch.sender_batch_id.startswith(prefix))
    )
    return f"{prefix}{earlier + 1}"


def _recipient_type(account: str) -> str:
    return "EMAIL" if "@" in account else "PHONE"


def _reference(withdrawal_id: int) -> str:
    return f"W{withdrawal_id}"


@dataclass(frozen=True)
class SendResult:
    batches: list[PayPalBatch]
    skipped: int  # chosen withdrawals that are not approved PayPal ones
    created: int | None  # the id of the batch this call stored (None: all were sent before)


def payable(withdrawal_ids: Sequence[int]) -> list[Withdrawal]:
    """The approved PayPal withdrawals among ``withdrawal_ids``, by id."""
    chosen = db.session.scalars(
        select(Withdrawal)
        .options(selectinload(Withdrawal.payout_account))
        .where(Withdrawal.id.in_(withdrawal_ids))
        .order_by(Withdrawal.id)
    )
    return [
        w
        for w in chosen
        if w.state is WithdrawalState.APPROVED and w.payout_account.method is PayoutMethod.PAYPAL
    ]


def send(withdrawal_ids: Sequence[int], actor: User) -> SendResult:
    """Send the chosen approved PayPal withdrawals as one PayPal batch. Safe to repeat:
    withdrawals already in a batch are not put in another; a batch whose answer is not
    known yet is sent again with its own ``sender_batch_id``. Commits; audited.

    Refusals raise :class:`WithdrawalError`. A PayPal that cannot be reached leaves the
    batch ``unknown``; the periodic job sends it again."""
    if not configured():
        raise WithdrawalError(
            _("Enter the PayPal client ID and secret under Admin → Settings first.")
        )
    chosen = payable(withdrawal_ids)
    if not chosen:
        raise WithdrawalError(
            _("None of the selected withdrawals is an approved PayPal withdrawal.")
        )
    ids = [w.id for w in chosen]
    claimed = dict(
        db.session.execute(
            select(PayPalItem.claim, PayPalItem.batch_id).where(PayPalItem.claim.in_(ids))
        ).all()
    )
    fresh = [w for w in chosen if w.id not in claimed]
    if len(fresh) > MAX_ITEMS:
        raise WithdrawalError(
            _("Send at most %(limit)d withdrawals in one PayPal batch.", limit=MAX_ITEMS)
        )
    if len({w.currency for w in fresh}) > 1:
        raise WithdrawalError(_("Send withdrawals of one currency at a time."))
    skipped = len(set(withdrawal_ids)) - len(chosen)
    batch_ids = set(claimed.values())
    created = _store_batch(fresh, actor) if fresh else None
    if created is not None:
        batch_ids.add(created)
    batches = list(
        db.session.scalars(
            select(PayPalBatch).where(PayPalBatch.id.in_(batch_ids)).order_by(PayPalBatch.id)
        )
    )
    for batch in batches:
        if batch.state is PayPalBatchState.UNKNOWN:
            submit(batch.id)
    return SendResult(
        [db.session.get(PayPalBatch, b.id, populate_existing=True) for b in batches],
        skipped,
        created,
    )


def _store_batch(fresh: list[Withdrawal], actor: User | None) -> int:
    """Store the batch and its items (claiming the withdrawals) and commit, before anything
    is sent. Takes each distributor's lock and checks the withdrawals are still approved,
    so a rejection or "mark paid" at the same moment cannot slip in between."""
    ids = [w.id for w in fresh]
    currency = fresh[0].currency
    batch = PayPalBatch(
        sender_batch_id=_sender_batch_id(ids),
        state=PayPalBatchState.UNKNOWN,
        currency=currency,
        total=sum((w.net for w in fresh), Decimal(0)),
        created_by_id=actor.id if actor else None,
        attempts=0,
    )
    db.session.add(batch)
    for w in fresh:
        db.session.add(
            PayPalItem(
                batch=batch,
                withdrawal_id=w.id,
                claim=w.id,
                sender_item_id=_reference(w.id),
                recipient_type=_recipient_type(w.payout_account.account),
                receiver=w.payout_account.account,
                amount=w.net,
                currency=w.currency,
            )
        )
    try:
        db.session.flush()
        for distributor_id in sorted({w.distributor_id for w in fresh}):
            lock_distributor(distributor_id)
        states = db.session.scalars(select(Withdrawal.state).where(Withdrawal.id.in_(ids)))
        if any(state is not WithdrawalState.APPROVED for state in states):
            db.session.rollback()
            raise WithdrawalError(
                _("Some of these withdrawals were decided meanwhile; reload and try again.")
            )
        audit.record(
            actor,
            "payout.paypal_send",
            "paypal_batch",
            batch.sender_batch_id,
            None,
            {"withdrawals": ids, "total": str(batch.total), "currency": currency},
        )
        db.session.commit()
    except IntegrityError:
        # Someone sent (some of) these withdrawals at the same moment: theirs is the batch.
        db.session.rollback()
        raise WithdrawalError(
            _("These withdrawals were just sent to PayPal by someone else; reload the page."),
        ) from None
    return batch.id


def _request_body(batch: PayPalBatch) -> dict[str, Any]:
    return {
        "sender_batch_header": {
            "sender_batch_id": batch.sender_batch_id,
            "email_subject": _("You have a payout"),
            "email_message": _("Your commission payout from %(name)s.", name=_payer_name()),
        },
        "items": [
            {
                "recipient_type": item.recipient_type,
                "amount": {
                    "value": _amount_text(item.amount, item.currency),
                    "currency": item.currency,
                },
                "receiver": item.receiver,
                "note": _("Commission payout %(reference)s", reference=item.sender_item_id),
                "sender_item_id": item.sender_item_id,
            }
            for item in batch.items
        ],
    }


def _payer_name() -> str:
    return settings.get("legal_name") or _("the programme")


def _duplicate_of(error: PayPalError) -> str | None:
    """The ``payout_batch_id`` of the original batch when PayPal refused a repeated
    ``sender_batch_id`` (its error links to the original: ``/v1/payments/payouts/<id>``)."""
    if error.status != 400:
        return None
    for link in error.body.get("links") or []:
        parts = urlsplit(str(link.get("href", ""))).path.rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] == "payouts" and parts[-1]:
            return parts[-1]
    return None


def _mentions_duplicate(error: PayPalError) -> bool:
    text = json.dumps(error.body).upper()
    return "SENDER_BATCH_ID" in text or "ALREADY EXISTS" in text or "DUPLICATE" in text


def submit(batch_id: int) -> PayPalBatch:
    """POST an ``unknown`` batch (again) and record PayPal's answer. Commits.

    * created (201) or "already exists" (the original's id from the error's link): sent;
    * no answer, 5xx, 429, 401/403 (credentials), or a duplicate we cannot place: stays
      unknown, tried again later — never released, as PayPal may have it;
    * any other refusal (validation, insufficient funds …): refused, the withdrawals are
      released and stay approved.
    """
    batch = db.session.get(PayPalBatch, batch_id, populate_existing=True)
    assert batch is not None
    if batch.state is not PayPalBatchState.UNKNOWN:
        return batch
    body = _request_body(batch)
    batch.attempts += 1
    batch.last_attempt_at = utcnow()
    db.session.commit()
    try:
        answer = _call("POST", "/v1/payments/payouts", credentials(), json_body=body)
    except PayPalError as exc:
        return _unsent(batch, exc)
    header = answer.get("batch_header") or {}
    _mark_sent(batch, header.get("payout_batch_id"), header.get("batch_status"))
    db.session.commit()
    return batch


def _leave_unknown(batch: PayPalBatch, state: PayPalBatchState, **values: object) -> bool:
    """Compare-and-set ``unknown → state``: of two sends of one batch at once (a click and
    the job), the first answer recorded wins and a later one cannot undo it."""
    changed = db.session.execute(
        update(PayPalBatch)
        .where(PayPalBatch.id == batch.id, PayPalBatch.state == PayPalBatchState.UNKNOWN)
        .values(state=state, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(batch)
    return changed == 1


def _mark_sent(batch: PayPalBatch, payout_batch_id: str | None, status: str | None) -> None:
    if _leave_unknown(
        batch,
        PayPalBatchState.SENT,
        payout_batch_id=payout_batch_id,
        batch_status=status,
        error=None,
    ):
        for item in batch.items:
            item.transaction_status = item.transaction_status or "PENDING"


def _unsent(batch: PayPalBatch, exc: PayPalError) -> PayPalBatch:
    original = _duplicate_of(exc)
    batch.error = exc.message[:1000]
    if original:
        log.info("paypal batch %s already existed as %s", batch.sender_batch_id, original)
        _mark_sent(batch, original, None)
        db.session.commit()
        return refresh(batch.id)
    definite = (
        exc.answered
        and 400 <= exc.status < 500
        and exc.status not in (401, 403, 408, 409, 429)
        and not _mentions_duplicate(exc)
    )
    if definite and _leave_unknown(batch, PayPalBatchState.REFUSED, error=batch.error):
        for item in batch.items:
            item.claim = None
            item.final = True
        audit.record(
            None,
            "payout.paypal_refused",
            "paypal_batch",
            batch.sender_batch_id,
            {"state": PayPalBatchState.UNKNOWN.value},
            {"state": PayPalBatchState.REFUSED.value, "error": batch.error},
        )
    else:
        log.warning("paypal batch %s: answer unknown: %s", batch.sender_batch_id, exc.message)
    db.session.commit()
    return batch


# --- reconciling -----------------------------------------------------------------------


def refresh(batch_id: int) -> PayPalBatch:
    """Read the batch from PayPal and apply every item's status. Commits (each withdrawal
    that changes in a transaction of its own)."""
    batch = db.session.get(PayPalBatch, batch_id, populate_existing=True)
    assert batch is not None
    if batch.state is not PayPalBatchState.SENT or not batch.payout_batch_id:
        return batch
    answer = _call(
        "GET",
        f"/v1/payments/payouts/{batch.payout_batch_id}",
        credentials(),
        params={"page_size": MAX_ITEMS, "page": 1},
    )
    header = answer.get("batch_header") or {}
    batch.batch_status = header.get("batch_status") or batch.batch_status
    batch.checked_at = utcnow()
    db.session.commit()
    for data in answer.get("items") or []:
        item = _item_for(batch, data)
        if item is not None:
            apply_item(item.id, data)
    return _close_if_done(batch.id)


def _item_for(batch: PayPalBatch, data: dict[str, Any]) -> PayPalItem | None:
    sender_item_id = (data.get("payout_item") or {}).get("sender_item_id")
    payout_item_id = data.get("payout_item_id")
    for item in batch.items:
        if (payout_item_id and item.payout_item_id == payout_item_id) or (
            sender_item_id and item.sender_item_id == sender_item_id
        ):
            return item
    return None


def _close_if_done(batch_id: int) -> PayPalBatch:
    batch = db.session.get(PayPalBatch, batch_id, populate_existing=True)
    assert batch is not None
    if batch.state is not PayPalBatchState.SENT:
        return batch
    if batch.batch_status == "DENIED":
        # Nothing of a denied batch is paid: release what is still waiting.
        for item in batch.items:
            if not item.final:
                item.claim = None
                item.final = True
                item.transaction_status = "DENIED"
        audit.record(
            None,
            "payout.paypal_denied",
            "paypal_batch",
            batch.sender_batch_id,
            None,
            {"error": batch.error},
        )
    if batch.batch_status in BATCH_OVER and all(item.final for item in batch.items):
        batch.state = PayPalBatchState.CLOSED
    db.session.commit()
    return batch


def _distributor_locale(distributor_id: int) -> str:
    user = db.session.scalar(
        select(User)
        .join(Distributor, Distributor.user_id == User.id)
        .where(Distributor.id == distributor_id)
    )
    return (user.locale if user and user.locale else None) or settings.get("default_locale")


def apply_item(item_id: int, data: dict[str, Any]) -> None:
    """Apply one item's status from PayPal (the batch details or a webhook). Idempotent:
    a final item is left alone, and the withdrawal's own compare-and-set makes a second
    "paid" or "returned" for it a no-op. Commits."""
    item = db.session.get(PayPalItem, item_id, populate_existing=True)
    status = str(data.get("transaction_status") or "")
    if item is None or not status:
        return
    if item.final and (item.claim is None or item.attention or status not in RETURNED):
        return  # returned, flagged, or paid and told nothing new
    item.payout_item_id = data.get("payout_item_id") or item.payout_item_id
    item.transaction_id = data.get("transaction_id") or item.transaction_id
    errors = data.get("errors") or {}
    item.error_code = (errors.get("name") if isinstance(errors, dict) else None) or item.error_code
    previous, item.transaction_status = item.transaction_status, status
    withdrawal = db.session.get(Withdrawal, item.withdrawal_id, populate_existing=True)
    assert withdrawal is not None
    approved = withdrawal.state is WithdrawalState.APPROVED
    try:
        if status == PAID and approved:
            item.final = True
            paypal_id = item.transaction_id or item.payout_item_id or item.sender_item_id
            services.pay(withdrawal.id, None, f"PayPal {paypal_id}"[:120], by_provider=True)
            return
        if status in RETURNED and approved:
            _return(item, withdrawal, status)
            return
    except InvalidTransition:
        # Decided meanwhile (another job applied the same answer first): nothing to do.
        db.session.rollback()
        return
    paid = withdrawal.state is WithdrawalState.PAID
    if status == PAID and paid:
        item.final = True
    elif status in WAITING and approved:
        pass
    else:
        # PayPal took back a payout already paid and statemented (REVERSED), or paid one
        # that is no longer approved: nothing is booked automatically, ops decide.
        item.attention = True
        item.final = True
        audit.record(
            None,
            "payout.paypal_attention",
            "withdrawal",
            withdrawal.id,
            {"transaction_status": previous, "state": withdrawal.state.value},
            {"transaction_status": status, "error": item.error_code},
        )
    db.session.commit()


def _return(item: PayPalItem, withdrawal: Withdrawal, status: str) -> None:
    """PayPal did not pay: the withdrawal is rejected (its amount back to available) with
    PayPal's reason in the distributor's language, and they are told."""
    item.final = True
    item.claim = None
    with force_locale(_distributor_locale(withdrawal.distributor_id)):
        reason = _("PayPal did not pay: %(reason)s", reason=paypal_reason(status, item.error_code))
    notifications.notify(
        withdrawal.distributor_id,
        NotificationKind.WITHDRAWAL_RETURNED,
        {
            "amount": str(withdrawal.amount),
            "currency": withdrawal.currency,
            "status": status,
            "code": item.error_code or "",
        },
        key=f"withdrawal_returned:{withdrawal.id}",
    )
    db.session.flush()
    services.reject(withdrawal.id, None, reason[: services.MAX_NOTE], by_provider=True)


# --- the periodic job and webhooks -----------------------------------------------------


def poll() -> None:
    """Every few minutes: send again what has no known answer, read every open batch from
    PayPal, and apply webhook events not applied yet. A PayPal that cannot be reached is
    tried again next time."""
    if not configured():
        return
    process_events()
    open_batches = list(
        db.session.execute(
            select(PayPalBatch.id, PayPalBatch.state)
            .where(PayPalBatch.state.in_((PayPalBatchState.UNKNOWN, PayPalBatchState.SENT)))
            .order_by(PayPalBatch.id)
        ).all()
    )
    for batch_id, state in open_batches:
        try:
            if state is PayPalBatchState.UNKNOWN:
                submit(batch_id)
            else:
                refresh(batch_id)
        except PayPalError as exc:
            db.session.rollback()
            log.warning("paypal batch %s not checked: %s", batch_id, exc.message)


WEBHOOK_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}


class WebhookRefused(Exception):
    """Not a verified PayPal event (``status``: the HTTP answer to give)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def receive(body: bytes, headers: dict[str, str]) -> bool:
    """Verify a webhook delivery with PayPal and store the event. Commits. True when the
    event is new (the caller then enqueues :func:`process_events`); raises
    :class:`WebhookRefused`.

    The event is passed to the verification API as the exact bytes received: PayPal
    signs those, and JSON parsed and serialised again need not be the same text."""
    creds = credentials()
    if not (creds.complete and creds.webhook_id):
        raise WebhookRefused(401, "PayPal webhook not configured")
    try:
        text = body.decode()
        event = json.loads(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise WebhookRefused(400, "body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise WebhookRefused(400, "not a PayPal event")
    fields = {name: headers.get(header, "") for name, header in WEBHOOK_HEADERS.items()}
    if not all(fields.values()):
        raise WebhookRefused(400, "PayPal signature headers missing")
    fields["webhook_id"] = creds.webhook_id
    request_text = json.dumps(fields)[:-1] + ', "webhook_event": ' + text + "}"
    try:
        answer = _call(
            "POST", "/v1/notifications/verify-webhook-signature", creds, content=request_text
        )
    except PayPalError as exc:
        log.warning("paypal webhook not verified: %s", exc.message)
        raise WebhookRefused(503, "verification unavailable") from None
    if answer.get("verification_status") != "SUCCESS":
        raise WebhookRefused(400, "signature not verified")
    if db.session.scalar(select(PayPalEvent.id).where(PayPalEvent.event_id == event["id"])):
        return False
    resource = event.get("resource")
    db.session.add(
        PayPalEvent(
            event_id=event["id"][:64],
            event_type=str(event.get("event_type", ""))[:80],
            resource=resource if isinstance(resource, dict) else {},
        )
    )
    try:
        db.session.commit()
    except IntegrityError:  # the same event delivered twice at once
        db.session.rollback()
        return False
    return True


def process_events() -> int:
    """Apply stored webhook events, oldest first; returns how many. An item event carries
    the item's status; a batch event makes the batch be read again."""
    done = 0
    pending = list(
        db.session.scalars(
            select(PayPalEvent.id)
            .where(PayPalEvent.processed_at.is_(None))
            .order_by(PayPalEvent.id)
        )
    )
    for event_id in pending:
        event = db.session.get(PayPalEvent, event_id)
        assert event is not None
        resource = event.resource or {}
        try:
            if event.event_type.startswith("PAYMENT.PAYOUTS-ITEM."):
                item = _item_for_event(resource)
                if item is not None:
                    if item.batch.state is PayPalBatchState.UNKNOWN:
                        # PayPal's event came before (or instead of) its answer to the POST.
                        _mark_sent(item.batch, resource.get("payout_batch_id"), None)
                        db.session.commit()
                    apply_item(item.id, resource)
                    _close_if_done(item.batch_id)
            elif event.event_type.startswith("PAYMENT.PAYOUTSBATCH."):
                header = resource.get("batch_header") or {}
                sender = (header.get("sender_batch_header") or {}).get("sender_batch_id")
                batch = db.session.scalar(
                    select(PayPalBatch).where(
                        or_(
                            PayPalBatch.payout_batch_id == header.get("payout_batch_id"),
                            PayPalBatch.sender_batch_id == sender,
                        )
                    )
                )
                if batch is not None:
                    if batch.state is PayPalBatchState.UNKNOWN:
                        _mark_sent(batch, header.get("payout_batch_id"), None)
                        db.session.commit()
                    refresh(batch.id)
        except PayPalError as exc:
            db.session.rollback()
            log.warning("paypal event %s not applied yet: %s", event.event_id, exc.message)
            continue
        event = db.session.get(PayPalEvent, event_id, populate_existing=True)
        assert event is not None
        event.processed_at = utcnow()
        db.session.commit()
        done += 1
    return done


def _item_for_event(resource: dict[str, Any]) -> PayPalItem | None:
    payout_item_id = resource.get("payout_item_id")
    if payout_item_id:
        found = db.session.scalar(
            select(PayPalItem).where(PayPalItem.payout_item_id == payout_item_id)
        )
        if found is not None:
            return found
    sender_item_id = (resource.get("payout_item") or {}).get("sender_item_id")
    batch = or_(
        PayPalBatch.payout_batch_id == resource.get("payout_batch_id"),
        PayPalBatch.sender_batch_id == resource.get("sender_batch_id"),
    )
    return db.session.scalar(
        select(PayPalItem)
        .join(PayPalBatch)
        .where(batch, PayPalItem.sender_item_id == sender_item_id)
    )


class PayPalPayouts:
    """The :class:`portal.withdrawals.payouts.PayoutApi` of PayPal Payouts."""

    key = "paypal_api"
    label = _l("PayPal Payouts API")
    methods = frozenset({PayoutMethod.PAYPAL})
    currencies = None  # PayPal converts; the account's currencies are PayPal's business
    limit = MAX_ITEMS

    def ready(self) -> bool:
        return configured()

    def send(self, withdrawal_ids: Sequence[int], actor: User) -> SendResult:
        return send(withdrawal_ids, actor)


PROVIDER = PayPalPayouts()


# --- for the withdrawals page ----------------------------------------------------------


def items_for(withdrawal_ids: Sequence[int]) -> dict[int, PayPalItem]:
    """Each withdrawal's newest PayPal item (one query), for its row."""
    if not withdrawal_ids:
        return {}
    rows = db.session.scalars(
        select(PayPalItem)
        .options(selectinload(PayPalItem.batch))
        .where(PayPalItem.withdrawal_id.in_(withdrawal_ids))
        .order_by(PayPalItem.id)
    )
    return {item.withdrawal_id: item for item in rows}


def item_status(item: PayPalItem) -> str:
    """The key of :data:`labels.PAYPAL_STATUS_LABELS` the row shows."""
    if item.batch.state is PayPalBatchState.UNKNOWN:
        return "SENDING"
    if item.batch.state is PayPalBatchState.REFUSED:
        return "REFUSED"
    return item.transaction_status or "PENDING"
