"""What other packages hear from distributors (blinker signals), so distributors import
none of them.

:data:`activated` and :data:`coupons_changed` are for a shop plugin (the core names none):
sent after the change is committed, with the distributor's id as the sender, so a receiver
may queue a job that reads it. :data:`approved` and :data:`rejected` are sent inside the
review's unit of work with the distributor as the sender: receivers (the notifications)
add to the session and never commit."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The distributor became active (approved, auto-approved, or added by ops): the shop
# plugin links them to their shop customer account.
activated = _signals.signal("distributor-activated")
# The distributor's personal coupons no longer match the shop (see ``PersonalCoupon``).
coupons_changed = _signals.signal("distributor-coupons-changed")
# An application was approved / rejected (``review_note``: the reason ops gave, if any).
approved = _signals.signal("application-approved")
rejected = _signals.signal("application-rejected")
