"""What other packages hear from the intake (blinker signals), so the orders package does
not import them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Copies of orders were stored, in the intake's transaction (not yet committed): the
# sender is the list of stored ``OrderData``. A receiver writes in the same transaction
# (store credit books the coupons those orders spent) and must not commit.
copies_stored = _signals.signal("order-copies-stored")
