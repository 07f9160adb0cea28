"""The one family of service refusals.

A service refuses what it is asked with a :class:`ServiceError`: a message a person can
read and, when the refusal belongs to one form field, that field's name. Every service
error of the core and of the plugins derives from it and is built the same way,
``(message, field=None)``; a domain keeps its own subclass (``PlanError``,
``WithdrawalError``, …) only where a caller tells it apart. Two kinds say how the view
answers: :class:`NotFound` (404) and :class:`Conflict` (409; :class:`InvalidTransition`
is the state machines' one). Exceptions that are not refusals (a broken invariant, a
transport failure meant to be retried) are not in the family: the allow-list in
``tests/unit/test_errors.py`` names each with its reason.

Views show a refusal with :func:`portal.forms.attach_error` on a form, and answer an
admin's decision on a queue row with :func:`portal.rendering.decision_answer`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refused request; ``field`` names the form field the message belongs to
    (``None``: the form as a whole)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """No such row (for this person): the view answers 404."""


class Conflict(ServiceError):
    """The row is not in a state that allows the step: the view answers 409."""


class InvalidTransition(Conflict):
    """A state machine refused the step (someone acted first, or it was already done)."""
