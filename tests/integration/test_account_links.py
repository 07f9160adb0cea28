"""Password reset, invitations and unlock links: emailed, used once, expiring, the same
answer whether or not the email has an account, throttled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from portal.accounts import services
from portal.accounts.models import AccountToken, LoginFailure, Role, TokenPurpose, User
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.timeutil import utcnow
from tests.helpers import CSRF_RE, choose_password, csrf_token, link_in, login

NEW = "a-fresh-passphrase-7"


def forgot(client, email: str, **environ):
    token = csrf_token(client, "/password/forgot")
    return client.post(
        "/password/forgot", data={"email": email, "csrf_token": token}, environ_base=environ
    )


def test_reset_by_email_then_sign_in_with_the_new_password(
    app: Flask, client, make_user, outbox
) -> None:
    make_user("ops@shop.example", Role.OPS)
    answer = forgot(client, "OPS@shop.example ")
    assert answer.status_code == 200
    (message,) = outbox()
    assert message["To"] == "ops@shop.example" and message["Subject"] == "Reset your password"
    link = link_in(message)
    assert link.startswith("/password/reset/")
    page = client.get(link)
    assert page.status_code == 200 and "ops@shop.example" in page.get_data(as_text=True)
    done = choose_password(client, link, NEW)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert login(client, "ops@shop.example").status_code == 401
    assert login(client, "ops@shop.example", NEW).status_code == 302


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(
    app: Flask, make_user, outbox
) -> None:
    make_user("known@shop.example")
    known = forgot(app.test_client(), "known@shop.example")
    unknown = forgot(app.test_client(), "unknown@shop.example")
    assert known.status_code == unknown.status_code == 200

    def page(response, email: str) -> str:
        html = response.get_data(as_text=True).replace(email, "EMAIL")
        return CSRF_RE.sub("", html)  # each session has its own token

    assert page(known, "known@shop.example") == page(unknown, "unknown@shop.example")
    assert [m["To"] for m in outbox()] == ["known@shop.example"]


def test_a_reset_link_works_once(app: Flask, client, make_user, outbox) -> None:
    make_user("once@shop.example")
    forgot(client, "once@shop.example")
    link = link_in(outbox()[0])
    form = client.get(link)
    assert choose_password(client, link, NEW).status_code == 302
    again = client.post(
        link,
        data={
            "password": "another-pass-99",
            "confirm": "another-pass-99",
            "csrf_token": csrf_token(client, "/login"),
        },
    )
    assert again.status_code == 404
    assert "invalid, was already used or has expired" in again.get_data(as_text=True)
    assert client.get(link).status_code == 404
    assert form.status_code == 200
    assert login(client, "once@shop.example", NEW).status_code == 302


def test_setting_a_password_retires_every_other_reset_and_invitation_link(
    app: Flask, client, make_user, outbox
) -> None:
    make_user("two@shop.example")
    forgot(client, "two@shop.example")
    forgot(client, "two@shop.example")
    first, second = (link_in(m) for m in outbox())
    assert choose_password(client, second, NEW).status_code == 302
    assert client.get(first).status_code == 404


def test_an_expired_link_is_refused(app: Flask, client, make_user, outbox) -> None:
    make_user("late@shop.example")
    forgot(client, "late@shop.example")
    link = link_in(outbox()[0])
    with app.app_context():
        db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(link).status_code == 404
    assert choose_password(client.application.test_client(), link, NEW).status_code == 404


@pytest.mark.parametrize(
    "tamper",
    [
        lambda link: link[:-2] + ("AA" if not link.endswith("AA") else "BB"),
        lambda link: "/password/reset/not-a-token",
        lambda link: link.replace("/password/reset/", "/welcome/"),  # another purpose
        lambda link: link.replace("/password/reset/", "/login/unlock/"),
    ],
)
def test_forged_or_misused_links_are_refused(app: Flask, client, make_user, outbox, tamper) -> None:
    make_user("forge@shop.example")
    forgot(client, "forge@shop.example")
    assert client.get(tamper(link_in(outbox()[0]))).status_code == 404


def test_a_link_signed_with_another_secret_is_refused(app: Flask, make_user, outbox) -> None:
    user_id = make_user("secret@shop.example")
    with app.test_request_context():
        from portal.accounts import tokens

        token = tokens.issue(db.session.get(User, user_id), TokenPurpose.RESET)
        db.session.commit()
        genuine = tokens.sign(token)
        app.config["SECRET_KEY"], original = "another-secret", app.config["SECRET_KEY"]
        try:
            forged = tokens.sign(token)
        finally:
            app.config["SECRET_KEY"] = original
        assert tokens.find(genuine, TokenPurpose.RESET) is not None
        assert tokens.find(forged, TokenPurpose.RESET) is None


def test_deactivated_accounts_get_no_reset_and_their_links_die(
    app: Flask, client, make_user, outbox
) -> None:
    user_id = make_user("gone@shop.example")
    forgot(client, "gone@shop.example")
    link = link_in(outbox()[0])
    with app.app_context():
        db.session.get(User, user_id).active = False
        db.session.commit()
    assert client.get(link).status_code == 404
    forgot(client, "gone@shop.example")
    assert len(outbox()) == 1


def test_reset_requests_are_throttled_per_email_and_per_address(
    app: Flask, make_user, outbox
) -> None:
    make_user("flood@shop.example")
    per_email = app.config["PORTAL_RESET_MAX_PER_EMAIL"]
    for i in range(per_email):
        assert (
            forgot(app.test_client(), "flood@shop.example", REMOTE_ADDR=f"10.1.0.{i}").status_code
            == 200
        )
    refused = forgot(app.test_client(), "flood@shop.example", REMOTE_ADDR="10.1.1.1")
    assert refused.status_code == 429
    assert "Too many reset requests" in refused.get_data(as_text=True)
    assert len(outbox()) == per_email
    # An unknown email is throttled alike: the limit tells nothing about accounts.
    for _ in range(per_email):
        forgot(app.test_client(), "ghost@shop.example", REMOTE_ADDR="10.2.0.1")
    assert (
        forgot(app.test_client(), "ghost@shop.example", REMOTE_ADDR="10.2.0.2").status_code == 429
    )

    per_ip = app.config["PORTAL_RESET_MAX_PER_IP"]
    for i in range(per_ip - per_email):
        forgot(app.test_client(), f"spray{i}@shop.example", REMOTE_ADDR="10.2.0.1")
    assert forgot(app.test_client(), "new@shop.example", REMOTE_ADDR="10.2.0.1").status_code == 429
    assert forgot(app.test_client(), "new@shop.example", REMOTE_ADDR="10.2.0.3").status_code == 200


def test_a_reset_clears_the_sign_in_throttle(app: Flask, client, make_user, outbox) -> None:
    make_user("slow@shop.example")
    for _ in range(app.config["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"]):
        login(client, "slow@shop.example", "guess")
    assert login(client, "slow@shop.example").status_code == 429
    forgot(client, "slow@shop.example")
    reset = [m for m in outbox() if m["Subject"] == "Reset your password"]
    assert choose_password(client, link_in(reset[0]), NEW).status_code == 302
    assert login(client, "slow@shop.example", NEW).status_code == 302


# --- the unlock link ------------------------------------------------------------------


def test_the_failure_that_starts_the_waits_emails_an_unlock_link(
    app: Flask, client, make_user, outbox
) -> None:
    make_user("owner@shop.example", Role.ADMIN)
    free = app.config["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"]
    for _ in range(free - 1):
        login(client, "owner@shop.example", "guess")
    assert outbox() == []
    login(client, "owner@shop.example", "guess")
    (message,) = outbox()
    assert message["Subject"] == "Failed sign-ins to your account"
    refused = login(client, "owner@shop.example")
    assert refused.status_code == 429
    assert "a link that unlocks signing in" in refused.get_data(as_text=True)
    # From a second address the same count sends no second email within the hour.
    for _ in range(free):
        login(client, "owner@shop.example", "guess", REMOTE_ADDR="198.51.100.2")
    assert len(outbox()) == 1

    link = link_in(message)
    shown = client.get(link)  # a mail scanner fetching the link changes nothing
    assert shown.status_code == 200
    assert login(client, "owner@shop.example").status_code == 429
    token = csrf_token(client, link)
    assert client.post(link, data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count(LoginFailure.id))) == 0
    assert client.post(link, data={"csrf_token": token}).status_code == 404  # once
    assert login(client, "owner@shop.example").status_code == 302


def test_no_unlock_email_for_unknown_accounts(app: Flask, client, outbox) -> None:
    for _ in range(app.config["PORTAL_LOGIN_FREE_FAILURES_PER_ACCOUNT"]):
        login(client, "nobody@shop.example", "guess")
    assert outbox() == []


# --- invitations ---------------------------------------------------------------------


def test_an_admin_invites_staff_who_choose_their_own_password(
    app: Flask, admin_client, outbox
) -> None:
    token = csrf_token(admin_client, "/admin/staff")
    response = admin_client.post(
        "/admin/staff", data={"email": "New.Ops@shop.example", "role": "ops", "csrf_token": token}
    )
    assert response.status_code == 302
    listing = admin_client.get("/admin/staff").get_data(as_text=True)
    assert "new.ops@shop.example" in listing and "Invited" in listing
    (invitation,) = outbox()
    assert invitation["To"] == "new.ops@shop.example"
    link = link_in(invitation)
    assert link.startswith("/welcome/")
    person = app.test_client()
    assert login(person, "new.ops@shop.example", "").status_code == 400
    assert choose_password(person, link, NEW).status_code == 302
    assert login(person, "new.ops@shop.example", NEW).status_code == 302
    assert person.get("/admin/").status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.invite"))
        assert entry.after == {"email": "new.ops@shop.example", "role": "ops"}


def test_inviting_an_existing_email_is_a_field_error(app: Flask, admin_client, outbox) -> None:
    token = csrf_token(admin_client, "/admin/staff")
    response = admin_client.post(
        "/admin/staff", data={"email": "admin@shop.example", "role": "admin", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert outbox() == []


def test_a_forgotten_invitation_is_replaced_by_a_reset_link(
    app: Flask, admin_client, outbox
) -> None:
    token = csrf_token(admin_client, "/admin/staff")
    admin_client.post(
        "/admin/staff", data={"email": "slow@shop.example", "role": "ops", "csrf_token": token}
    )
    person = app.test_client()
    forgot(person, "slow@shop.example")
    reset = outbox()[-1]
    assert reset["Subject"] == "Reset your password"
    assert choose_password(person, link_in(reset), NEW).status_code == 302
    assert login(person, "slow@shop.example", NEW).status_code == 302


def test_two_requests_with_one_link_set_one_password(app: Flask, make_user, outbox) -> None:
    """The compare-and-set on ``used_at``: whoever comes second gets "already used"."""
    from tests.helpers import run_together

    user_id = make_user("race@shop.example")
    with app.test_request_context():
        from portal.accounts import tokens

        signed = tokens.sign(tokens.issue(db.session.get(User, user_id), TokenPurpose.RESET))
        db.session.commit()
    results: list[str] = []

    def attempt(password: str):
        def call() -> None:
            with app.test_request_context():
                try:
                    services.set_password_from_link(signed, TokenPurpose.RESET, password)
                    db.session.commit()  # as the request would
                    results.append(password)
                except services.InvalidLink:
                    results.append("refused")
                finally:
                    db.session.remove()

        return call

    assert run_together(app, attempt("first-choice-11"), attempt("second-choice-22")) == []
    assert len(results) == 2 and results.count("refused") == 1
    winner = next(r for r in results if r != "refused")
    assert login(app.test_client(), "race@shop.example", winner).status_code == 302
