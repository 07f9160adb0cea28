"""The confirm step before a destructive or money action (one pattern for every such
action: rejecting an applicant, re-assigning an order, removing a payout account,
withdrawal decisions one by one or in a batch, manual adjustments).

The action's own form posts as before. A view that has parsed and validated the request
calls :func:`ask` until the request carries ``confirmed=1``: the answer names what will
happen (the amount, the person, the consequences) and holds a form that posts the same
fields again with ``confirmed=1`` and a fresh CSRF token.

* Without JavaScript that answer is a full page (Cancel is a link back).
* For htmx it is a ``<dialog>`` swapped into ``#confirm-dialog`` (``HX-Retarget``), opened
  modally by portal.js with the focus on Cancel; the confirmed post swaps the result
  where the original form would have (the ``HX-Target`` it was sent with), so rows still
  update in place. Escape or Cancel closes it and gives the focus back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import Response, request, url_for

from portal.rendering import is_htmx, render

CONFIRMED = "confirmed"
DIALOG_TARGET = "confirm-dialog"


@dataclass(frozen=True)
class Confirmation:
    """What the person is asked. Every text is already translated."""

    question: str  # "Reject the application of Lin Mei?"
    button: str  # the confirm button: "Reject the application"
    back: str  # where Cancel leads without JavaScript (a page of ours, by url_for)
    facts: Sequence[tuple[str, str]] = ()  # (label, value): amount, person, reason …
    consequences: Sequence[str] = field(default_factory=tuple)  # what happens, one per line


def confirmed() -> bool:
    """True when the person has answered the confirm step."""
    return request.form.get(CONFIRMED) == "1"


def ask(confirmation: Confirmation) -> Response:
    """The confirm step for the current POST: a full page, or for htmx a dialog."""
    fields = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", CONFIRMED)
    ]
    target = request.headers.get("HX-Target") if is_htmx() else None
    endpoint = request.endpoint
    assert endpoint is not None  # always answering a view's POST
    response = render(
        "confirm.html",
        "_confirm_dialog.html",
        c=confirmation,
        action=url_for(endpoint, **(request.view_args or {})),
        fields=fields,
        target=target if target and target != DIALOG_TARGET else None,
    )
    if is_htmx():
        response.headers["HX-Retarget"] = f"#{DIALOG_TARGET}"
        response.headers["HX-Reswap"] = "innerHTML"
    return response
