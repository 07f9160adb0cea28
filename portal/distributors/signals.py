"""What a shop plugin listens to (blinker signals; the core names no plugin). Each is
sent after the change is committed, with the distributor's id as the sender, so a
receiver may queue a job that reads it."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The distributor became active (approved, auto-approved, or added by ops): the shop
# plugin links them to their shop customer account.
activated = _signals.signal("distributor-activated")
# The distributor's personal coupons no longer match the shop (see ``PersonalCoupon``).
coupons_changed = _signals.signal("distributor-coupons-changed")
