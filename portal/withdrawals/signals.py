"""What other parts listen to about withdrawals (blinker signals, sent after the change
is committed, with the withdrawal's id as the sender): store credit issues the coupon of
an approved withdrawal and takes back the one of a rejected withdrawal."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# The withdrawal was approved (by ops or automatically) or rejected.
decided = _signals.signal("withdrawal-decided")
