"""What other packages hear from accounts (blinker signals), so accounts imports none of
them: the risk rules record sign-in devices through :data:`signed_in`, the audit log
records staff changes through :data:`audited`."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# A password sign-in succeeded. Sent inside the sign-in's unit of work, before its commit,
# with the user as the sender and the keyed hashes of the client's address and user agent
# (``ip_hash``, ``ua_hash``): receivers add to the session and never commit.
signed_in = _signals.signal("signed-in")

# Ops changed a staff account (invited, deactivated, reactivated). Sent inside the change's
# unit of work with the acting user as the sender and ``action``, ``target_type``,
# ``target_id``, ``before``, ``after`` as the audit log keeps them.
audited = _signals.signal("audited")

# Asked with a user as the sender when a password is chosen: each receiver returns the
# names the person goes by elsewhere (a distributor's display name), which the password
# policy refuses as it refuses their email.
names_asked = _signals.signal("names-asked")
