"""``POST /paypal/webhook``: verify with PayPal, store, answer, enqueue — nothing more.

PayPal retries a delivery that is not answered 2xx (for up to three days), so anything
this side cannot do now answers an error: 503 when PayPal's verification API cannot be
reached, 401 while no webhook ID is configured (nothing can be verified)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from portal import jobs
from portal.extensions import csrf
from portal.withdrawals import paypal

public = Blueprint("paypal", __name__)


@public.post("/paypal/webhook")
@csrf.exempt
def webhook() -> tuple[Response, int]:
    body = request.get_data(cache=False)
    try:
        new = paypal.receive(body, {k.upper(): v for k, v in request.headers.items()})
    except paypal.WebhookRefused as exc:
        return jsonify({"status": exc.message}), exc.status
    if new:
        jobs.enqueue(paypal.process_events, queue=jobs.BACKGROUND, timeout=300)
    return jsonify({"status": "stored" if new else "duplicate"}), 200
