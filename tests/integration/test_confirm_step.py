"""The one confirm step (portal/confirm.py) on the queue's withdrawal decisions: asked
first as a page without JavaScript and as a dialog with htmx, nothing changes until it
is answered, the answer needs its CSRF token, and it swaps where the form would have."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from portal.accounts.models import Role
from portal.extensions import db
from portal.withdrawals.models import Withdrawal, WithdrawalState
from tests.helpers import csrf_from, csrf_token
from tests.money import HX, add_account, request, signed_in


def _state(app: Flask, withdrawal_id: int) -> WithdrawalState:
    with app.app_context():
        return db.session.get(Withdrawal, withdrawal_id).state


def _ops(app: Flask, make_user) -> FlaskClient:
    make_user("ops@shop.example", Role.OPS)
    return signed_in(app, "ops@shop.example")


def test_without_javascript_the_step_is_a_page(app: Flask, seller, make_user) -> None:
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    ops = _ops(app, make_user)
    url = f"/admin/withdrawals/{withdrawal_id}/reject"
    form = {"csrf_token": csrf_token(ops, "/admin/withdrawals"), "note": "Wrong account"}
    asked = ops.post(url, data=form)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<html" in page and "HX-Retarget" not in asked.headers
    assert f"Reject withdrawal #{withdrawal_id}?" in page
    assert "$20.00 goes back to the distributor&#39;s available balance" in page
    assert "Test Distributor" in page and "Wrong account" in page
    assert f'<form method="post" action="{url}" class="confirm-actions">' in page
    assert 'href="/admin/withdrawals"' in page and "<dialog" not in page
    assert _state(app, withdrawal_id) is WithdrawalState.REQUESTED

    no_token = ops.post(url, data={"note": "Wrong account", "confirmed": "1"})
    assert no_token.status_code == 400
    assert _state(app, withdrawal_id) is WithdrawalState.REQUESTED
    answer = {"csrf_token": csrf_from(page), "note": "Wrong account", "confirmed": "1"}
    assert ops.post(url, data=answer).status_code == 302
    assert _state(app, withdrawal_id) is WithdrawalState.REJECTED


def test_with_htmx_the_step_is_a_dialog_that_swaps_the_row(app: Flask, seller, make_user) -> None:
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    ops = _ops(app, make_user)
    url = f"/admin/withdrawals/{withdrawal_id}/approve"
    token = csrf_token(ops, "/admin/withdrawals")
    asked = ops.post(
        url,
        data={"csrf_token": token},
        headers={**HX, "HX-Target": f"withdrawal-{withdrawal_id}"},
    )
    dialog = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "<html" not in dialog
    assert (asked.headers["HX-Retarget"], asked.headers["HX-Reswap"]) == (
        "#confirm-dialog",
        "innerHTML",
    )
    assert dialog.lstrip().startswith('<dialog class="confirm"')
    assert 'aria-labelledby="confirm-title"' in dialog and "autofocus" in dialog
    assert f'hx-target="#withdrawal-{withdrawal_id}" hx-swap="outerHTML"' in dialog
    assert _state(app, withdrawal_id) is WithdrawalState.REQUESTED
    done = ops.post(url, data={"csrf_token": token, "confirmed": "1"}, headers=HX)
    assert done.status_code == 200 and f'<tr id="withdrawal-{withdrawal_id}"' in done.text
    assert _state(app, withdrawal_id) is WithdrawalState.APPROVED
    # A decision that cannot happen is refused at once, not asked about.
    again = ops.post(url, data={"csrf_token": token}, headers=HX)
    assert again.status_code == 409 and "Not possible" in again.text


def test_a_missing_reference_is_a_row_error_before_any_question(
    app: Flask, seller, make_user
) -> None:
    withdrawal_id = request(app, seller, "20", add_account(app, seller))
    ops = _ops(app, make_user)
    token = csrf_token(ops, "/admin/withdrawals")
    ops.post(
        f"/admin/withdrawals/{withdrawal_id}/approve",
        data={"csrf_token": token, "confirmed": "1"},
        headers=HX,
    )
    missing = ops.post(
        f"/admin/withdrawals/{withdrawal_id}/pay", data={"csrf_token": token}, headers=HX
    )
    assert missing.status_code == 409 and "Enter the payment&#39;s reference." in missing.text
    assert "HX-Retarget" not in missing.headers
