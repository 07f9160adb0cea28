"""The webhook's lean acceptance path: one INSERT on a pool of its own, no ping."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from plugins.woocommerce_bridge import inbox
from plugins.woocommerce_bridge.models import WooDelivery
from portal.extensions import db
from tests.woo import deliver, woo_order


def test_a_delivery_is_stored_when_the_server_dropped_the_connection(shop: Flask, client) -> None:
    with shop.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("only a database server drops connections")
    assert deliver(client, "order.created", woo_order(1), delivery="before").status_code == 200
    with shop.app_context():
        with inbox._inbox_engine().connect() as conn:  # the pooled connection the next uses
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        db.session.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        db.session.commit()
    assert deliver(client, "order.created", woo_order(2), delivery="after").status_code == 200
    with shop.app_context():
        stored = db.session.scalars(select(WooDelivery.delivery_id).order_by(WooDelivery.id))
        assert list(stored) == ["before", "after"]
