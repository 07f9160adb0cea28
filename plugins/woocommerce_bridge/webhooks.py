"""``POST /woocommerce/webhook``: verify, store, answer, enqueue — nothing more.

WooCommerce never retries a failed delivery and disables a webhook after a few failures,
so the answer must be fast and the delivery must be safe in the database before it.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from plugins.woocommerce_bridge import credentials, inbox, signatures
from portal import metrics
from portal.extensions import csrf, db

log = logging.getLogger(__name__)
bp = Blueprint("woocommerce", __name__)
WEBHOOK_PATH = "/woocommerce/webhook"
# The portal's webhooks, in the order the Shop page lists them.
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
# Headers kept in their own columns, with the columns' lengths.
ID_HEADERS = {"X-WC-Webhook-Delivery-ID": 128, "X-WC-Webhook-ID": 32}


def _answer(status: int, message: str, outcome: str) -> tuple[Response, int]:
    metrics.inc("portal_webhook_deliveries_total", outcome=outcome)
    return jsonify({"status": message}), status


def _signed(body: bytes, signature: str | None) -> bool:
    """Checked against the secret this process knows, and — when that fails — against
    the stored one read again (it may have been set from another process)."""
    secret = credentials.webhook_secret()
    if signatures.verify(secret, body, signature):
        return True
    fresh = credentials.webhook_secret(refresh=True)
    return fresh != secret and signatures.verify(fresh, body, signature)


@bp.post(WEBHOOK_PATH)
@csrf.exempt
def webhook() -> tuple[Response, int]:
    body = request.get_data(cache=False)
    topic = request.headers.get("X-WC-Webhook-Topic")
    signature = request.headers.get("X-WC-Webhook-Signature")
    if topic is None and signature is None:
        # Saving a webhook in WooCommerce sends an unsigned ping; only an exact 200
        # lets the merchant activate it.
        if body.startswith(b"webhook_id="):
            log.info("woocommerce webhook ping: %s", body[:64].decode(errors="replace"))
            return _answer(200, "pong", "ping")
        return _answer(400, "not a WooCommerce delivery", "rejected")
    try:
        signed = _signed(body, signature)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("woocommerce delivery: the webhook secret could not be read")
        return _answer(503, "database unavailable", "unavailable")
    if not signed:
        inbox.count_refused()
        if not credentials.webhook_secret():
            log.error("woocommerce delivery refused: no webhook secret is configured")
            return _answer(401, "webhook secret not configured", "unauthorized")
        log.warning("woocommerce delivery with a bad signature (topic %s)", topic)
        return _answer(401, "bad signature", "unauthorized")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
        log.warning("woocommerce delivery that is not JSON (topic %s)", topic)
        return _answer(400, "body is not JSON", "rejected")
    if not isinstance(payload, dict):
        return _answer(400, "body is not a JSON object", "rejected")
    if topic not in TOPICS:
        log.info("woocommerce delivery for topic %s ignored", topic)
        return _answer(200, "ignored", "ignored")
    headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-wc-")}
    for name, limit in ID_HEADERS.items():
        value = request.headers.get(name, "")
        if len(value) > limit or not value.isprintable():
            return _answer(400, f"{name} is not an id", "rejected")
    try:
        inbox.store(topic, headers, body)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("woocommerce delivery could not be stored")
        return _answer(503, "database unavailable", "unavailable")
    try:
        inbox.schedule_drain()
    except Exception:  # stored is what matters: the periodic drain will process it
        log.exception("woocommerce delivery stored but not enqueued")
    return _answer(200, "stored", "stored")
