"""What other packages hear from accounts (blinker signals), so accounts imports none of
them: the risk rules record sign-in devices through :data:`signed_in`."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# A password sign-in succeeded. Sent inside the sign-in's unit of work, before its commit,
# with the user as the sender and the keyed hashes of the client's address and user agent
# (``ip_hash``, ``ua_hash``): receivers add to the session and never commit.
signed_in = _signals.signal("signed-in")
