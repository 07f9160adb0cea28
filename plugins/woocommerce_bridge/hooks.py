"""The core's distributor signals, answered with queued jobs (after the core's commit):
a distributor who became active is linked to their shop customer, changed coupons are
pushed to the shop. Quick jobs (one retry): the reconcile catches up on what they miss."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from plugins.woocommerce_bridge import coupons, credentials, customers
from portal import jobs
from portal.distributors import signals

_LOADED = "woocommerce_bridge.hooks"
QUICK = {"timeout": 10, "retries": 1, "backoff": 0.2}


def _ours() -> bool:
    """This app loaded the bridge (the signals are process-wide) and the shop is connected."""
    return bool(current_app.extensions.get(_LOADED)) and credentials.effective().rest


def _activated(distributor_id: int, **_: Any) -> None:
    if _ours():
        jobs.enqueue(link_customer, distributor_id, queue=jobs.BACKGROUND, timeout=120)


def _coupons_changed(distributor_id: int, **_: Any) -> None:
    if _ours():
        jobs.enqueue(push_coupons, distributor_id, queue=jobs.BACKGROUND, timeout=120)


def link_customer(distributor_id: int) -> bool:
    return customers.link(distributor_id, **QUICK)


def push_coupons(distributor_id: int) -> tuple[int, int]:
    return coupons.push_pending(distributor_id, **QUICK)


def connect(app: Flask) -> None:
    app.extensions[_LOADED] = True
    signals.activated.connect(_activated)
    signals.coupons_changed.connect(_coupons_changed)
