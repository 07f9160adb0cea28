"""The one family of service errors (portal/errors.py).

Every exception class defined under portal/ and plugins/ is found by importing every
module; each is a :class:`ServiceError` built as ``(message, field=None)``, or is on
:data:`OUTSIDE` with the reason it is not a refusal. A new exception class that is
neither fails here. The decision-row helper answers a :class:`NotFound` with 404 and a
:class:`Conflict` with the row and 409; :func:`attach_error` puts a refusal on its field.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, get_flashed_messages
from htmx_flask import Htmx
from jinja2 import DictLoader
from werkzeug.exceptions import NotFound as PageNotFound
from wtforms import Form, FormField, StringField

import plugins
import portal
from portal.errors import Conflict, InvalidTransition, NotFound, ServiceError
from portal.forms import attach_error
from portal.rendering import decision_answer

# Exceptions of the code base that are not refusals of a service, and why.
OUTSIDE: dict[str, str] = {
    "portal.ledger.guard.AppendOnlyViolation": "a broken invariant (code tried to change a "
    "ledger row): a bug to fail loudly on, never a message for a person",
    "portal.inputs.UnprintableInput": "an HTTP 400 (werkzeug BadRequest) raised by the "
    "request filter before any service runs",
    "portal.withdrawals.paypal.PayPalError": "PayPal could not be reached or answered an "
    "error: a transport failure the payout job retries, with HTTP status and body",
    "portal.withdrawals.paypal.WebhookRefused": "the HTTP answer to a webhook delivery that "
    "is not a verified PayPal event (401/400), for PayPal rather than a person",
    "portal.withdrawals.credit.IssuerError": "the shop could not be reached or refused: a "
    "transport failure the store-credit job records and retries",
    "plugins.woocommerce_bridge.client.WooError": "WooCommerce REST transport failure "
    "(retried by sync and the inbox)",
    "plugins.woocommerce_bridge.client.WooNotFound": "a 404 from the shop's REST API (a "
    "WooError; callers fall back, e.g. WooCommerce before 9.0 has no /refunds)",
    "plugins.woocommerce_bridge.client.WooRefused": "the shop refused the API keys (a "
    "WooError carrying how it authenticated)",
    "plugins.woocommerce_bridge.mapping.MappingError": "a shop payload that cannot be "
    "mapped: the delivery is recorded as poisoned, nobody's form shows it",
    "plugins.woocommerce_bridge.mapping.NotAnOrder": "an outcome of mapping (the payload "
    "is not an order to store), not a failure",
    "plugins.woocommerce_bridge.signin.Refused": "a verdict on a signed sign-in assertion "
    "from the shop, with a Refusal reason the sign-in view turns into its page",
}


def _exception_classes() -> Iterator[type[BaseException]]:
    for package in (portal, plugins):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if (
                    inspect.isclass(value)
                    and issubclass(value, BaseException)
                    and value.__module__ == module.__name__
                ):
                    yield value


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


CLASSES = sorted(set(_exception_classes()), key=_name)
SERVICE_ERRORS = [c for c in CLASSES if issubclass(c, ServiceError)]


def test_every_exception_is_a_service_error_or_says_why_not() -> None:
    outside = {_name(c) for c in CLASSES if not issubclass(c, ServiceError)}
    assert outside - OUTSIDE.keys() == set(), (
        "a new exception class: derive it from portal.errors.ServiceError (a refusal a "
        "person reads) or add it to OUTSIDE with the reason it is not one"
    )
    assert OUTSIDE.keys() - outside == set(), "gone or now a ServiceError: drop it from OUTSIDE"


def test_one_invalid_transition_and_one_not_found() -> None:
    names = {c.__name__: [_name(k) for k in CLASSES if k.__name__ == c.__name__] for c in CLASSES}
    assert names["InvalidTransition"] == ["portal.errors.InvalidTransition"]
    assert names["NotFound"] == ["portal.errors.NotFound"]
    assert issubclass(InvalidTransition, Conflict)


@pytest.mark.parametrize("cls", SERVICE_ERRORS, ids=_name)
def test_every_service_error_takes_message_then_field(cls: type[ServiceError]) -> None:
    params = list(inspect.signature(cls).parameters.values())
    assert [p.name for p in params[:2]] == ["message", "field"], _name(cls)
    assert params[1].default is None
    assert all(p.kind is p.KEYWORD_ONLY for p in params[2:]), "anything more is keyword-only"
    extra = {p.name: object() for p in params[2:] if p.default is p.empty}
    error = cls("Refused.", "amount", **extra)
    assert (error.message, error.field, str(error)) == ("Refused.", "amount", "Refused.")
    assert cls("Refused.", **extra).message == "Refused."


@pytest.fixture
def row_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", TESTING=True)
    Htmx(app)
    app.jinja_loader = DictLoader({"_row.html": "<tr>{{ thing }}|{{ error or '' }}</tr>"})
    return app


def _answer(app: Flask, error: ServiceError | str | None, htmx: bool) -> Any:
    headers = {"HX-Request": "true"} if htmx else {}
    with app.test_request_context("/decide", method="POST", headers=headers):
        response = decision_answer(error, "_row.html", "/queue", "Done.", thing="row 7")
        return response, get_flashed_messages(with_categories=True)


@pytest.mark.parametrize("htmx", [True, False])
def test_not_found_is_404_through_the_decision_helper(row_app: Flask, htmx: bool) -> None:
    with pytest.raises(PageNotFound):
        _answer(row_app, NotFound("No such withdrawal."), htmx)


def test_a_conflict_is_the_row_with_409(row_app: Flask) -> None:
    response, _flashes = _answer(row_app, InvalidTransition("Already decided."), htmx=True)
    assert response.status_code == 409
    assert response.get_data(as_text=True) == "<tr>row 7|Already decided.</tr>"
    assert "HX-Request" in response.vary


def test_a_made_decision_is_the_row_with_200(row_app: Flask) -> None:
    response, _flashes = _answer(row_app, None, htmx=True)
    assert (response.status_code, response.get_data(as_text=True)) == (200, "<tr>row 7|</tr>")


def test_without_htmx_the_decision_is_flashed_and_redirected(row_app: Flask) -> None:
    response, flashes = _answer(row_app, Conflict("Already decided."), htmx=False)
    assert (response.status_code, response.location) == (302, "/queue")
    assert flashes == [("error", "Already decided.")]
    response, flashes = _answer(row_app, None, htmx=False)
    assert flashes == [("success", "Done.")]


def test_a_form_error_text_is_a_refusal_too(row_app: Flask) -> None:
    response, _flashes = _answer(row_app, "Give a reason.", htmx=True)
    assert response.status_code == 409


class _Qr(Form):
    x = StringField()


class _Poster(Form):
    name = StringField()
    password = StringField()
    qr = FormField(_Qr)


def test_attach_error_puts_the_refusal_where_it_belongs() -> None:
    form = _Poster()
    form.validate()  # as in a view: the refusal comes after validation
    attach_error(form, ServiceError("Taken.", "name"))
    attach_error(form, ServiceError("Off the canvas.", "qr-x"))
    attach_error(form, ServiceError("Wrong.", "email"), "password")  # no such field here
    attach_error(form, ServiceError("Try later."))
    assert form.name.errors == ["Taken."]
    assert form.qr.x.errors == ["Off the canvas."]
    assert form.password.errors == ["Wrong."]
    assert form.form_errors == ["Try later."]
