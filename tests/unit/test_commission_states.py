"""The pure commission state machine: one table of cases, and properties."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from portal.commissions.models import CommissionState as S
from portal.commissions.states import (
    RISK_PREFIX,
    Decision,
    Flag,
    OrderFacts,
    Standing,
    decide,
)
from portal.risk.models import FlagStatus

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
DONE = NOW - timedelta(days=3)  # completed three days ago: inside the return window
LONG_AGO = NOW - timedelta(days=30)  # completed before the window: matured
HOLD = DONE + WINDOW
OLD_HOLD = LONG_AGO + WINDOW


def order(
    status: str = "completed",
    completed_at: datetime | None = DONE,
    currency: str = "USD",
    shop_currency: str = "USD",
) -> OrderFacts:
    return OrderFacts(status, completed_at, currency, shop_currency)


def processing() -> OrderFacts:
    return order("processing", None)


NEW = Standing()
OPEN = Flag(FlagStatus.OPEN, ("velocity", "self_referral", "velocity"))
RELEASED = Flag(FlagStatus.RELEASED, ("velocity",))
REJECTED = Flag(FlagStatus.REJECTED, ("velocity",))

# (case, standing, earned, order, flag, decision: state, amount, hold date, reason)
CASES = [
    # the happy path: pending while processing, holding once completed, then available
    ("new, processing", NEW, D("10.00"), processing(), None, (S.PENDING, D("10.00"), None, None)),
    ("new, completed", NEW, D("10.00"), order(), None, (S.HOLDING, D("10.00"), HOLD, None)),
    (
        "new, completed long ago",
        NEW,
        D("10.00"),
        order(completed_at=LONG_AGO),
        None,
        (S.AVAILABLE, D("10.00"), OLD_HOLD, None),
    ),
    (
        "pending → completed",
        Standing(S.PENDING),
        D("10.00"),
        order(),
        None,
        (S.HOLDING, D("10.00"), HOLD, None),
    ),
    (
        "holding keeps its date",
        Standing(S.HOLDING, NOW + timedelta(days=1)),
        D("10.00"),
        order(),
        None,
        (S.HOLDING, D("10.00"), NOW + timedelta(days=1), None),
    ),
    (
        "holding matures on its date",
        Standing(S.HOLDING, NOW),
        D("10.00"),
        order(),
        None,
        (S.AVAILABLE, D("10.00"), NOW, None),
    ),
    (
        "completed without a date waits",
        NEW,
        D("10.00"),
        order(completed_at=None),
        None,
        (S.PENDING, D("10.00"), None, None),
    ),
    (
        "back to processing restarts the window",
        Standing(S.HOLDING, HOLD),
        D("10.00"),
        processing(),
        None,
        (S.PENDING, D("10.00"), None, None),
    ),
    # refunds: a partial refund earns less (the engine's amount), a full refund reverses
    (
        "partial refund while holding",
        Standing(S.HOLDING, HOLD),
        D("6.00"),
        order(),
        None,
        (S.HOLDING, D("6.00"), HOLD, None),
    ),
    (
        "partial refund when available",
        Standing(S.AVAILABLE, OLD_HOLD),
        D("6.00"),
        order(completed_at=LONG_AGO),
        None,
        (S.AVAILABLE, D("6.00"), OLD_HOLD, None),
    ),
    (
        "full refund reverses",
        Standing(S.AVAILABLE, OLD_HOLD),
        D("0.00"),
        order("refunded"),
        None,
        (S.REVERSED, D("0"), None, None),
    ),
    # reversal: void orders, or the order no longer earns this commission
    (
        "cancelled",
        Standing(S.PENDING),
        D("10.00"),
        order("cancelled", None),
        None,
        (S.REVERSED, D("0"), None, None),
    ),
    (
        "trashed while holding",
        Standing(S.HOLDING, HOLD),
        D("10.00"),
        order("trash"),
        None,
        (S.REVERSED, D("0"), None, None),
    ),
    (
        "re-attributed: no longer earned",
        Standing(S.HOLDING, HOLD),
        None,
        order(),
        None,
        (S.REVERSED, D("0"), None, None),
    ),
    (
        "revived after reversal waits a full window",
        Standing(S.REVERSED, None),
        D("10.00"),
        order(),
        None,
        (S.HOLDING, D("10.00"), HOLD, None),
    ),
    (
        "reversal keeps a review reason",
        Standing(S.ON_REVIEW, None, "checked by hand"),
        D("10.00"),
        order("cancelled"),
        None,
        (S.REVERSED, D("0"), None, "checked by hand"),
    ),
    # paid stays paid: the amount follows (the ledger carries the change over)
    (
        "paid",
        Standing(S.PAID, OLD_HOLD),
        D("10.00"),
        order(completed_at=LONG_AGO),
        None,
        (S.PAID, D("10.00"), OLD_HOLD, None),
    ),
    (
        "paid, partial refund",
        Standing(S.PAID, OLD_HOLD),
        D("4.00"),
        order(completed_at=LONG_AGO),
        None,
        (S.PAID, D("4.00"), OLD_HOLD, None),
    ),
    (
        "paid, full refund",
        Standing(S.PAID, OLD_HOLD),
        D("0.00"),
        order("refunded", LONG_AGO),
        None,
        (S.PAID, D("0"), OLD_HOLD, None),
    ),
    (
        "paid, rejected flag",
        Standing(S.PAID, OLD_HOLD),
        D("10.00"),
        order(completed_at=LONG_AGO),
        REJECTED,
        (S.PAID, D("0"), OLD_HOLD, None),
    ),
    # review: another currency, open risk flags, reasons ops set
    (
        "another currency books nothing",
        NEW,
        D("10.00"),
        order(currency="EUR"),
        None,
        (
            S.ON_REVIEW,
            D("0"),
            None,
            "order currency EUR differs from the shop currency USD; would earn 10.00 EUR",
        ),
    ),
    (
        "open flag holds, reasons sorted once",
        NEW,
        D("10.00"),
        order(),
        OPEN,
        (S.ON_REVIEW, D("10.00"), None, RISK_PREFIX + "self_referral, velocity"),
    ),
    (
        "open flag on a holding commission keeps its date",
        Standing(S.HOLDING, HOLD),
        D("10.00"),
        order(),
        OPEN,
        (S.ON_REVIEW, D("10.00"), HOLD, RISK_PREFIX + "self_referral, velocity"),
    ),
    (
        "released flag lets it flow on",
        Standing(S.ON_REVIEW, None, RISK_PREFIX + "velocity"),
        D("10.00"),
        order(),
        RELEASED,
        (S.HOLDING, D("10.00"), HOLD, None),
    ),
    (
        "risk reason without a flag clears",
        Standing(S.ON_REVIEW, None, RISK_PREFIX + "velocity"),
        D("10.00"),
        processing(),
        None,
        (S.PENDING, D("10.00"), None, None),
    ),
    (
        "a reason ops set stays on review",
        Standing(S.ON_REVIEW, None, "checked by hand"),
        D("10.00"),
        order(),
        RELEASED,
        (S.ON_REVIEW, D("10.00"), None, "checked by hand"),
    ),
    (
        "rejected flag reverses",
        Standing(S.ON_REVIEW, None, RISK_PREFIX + "velocity"),
        D("10.00"),
        order(),
        REJECTED,
        (S.REVERSED, D("0"), None, RISK_PREFIX + "velocity"),
    ),
]


@pytest.mark.parametrize(
    ("standing", "earned", "facts", "flag", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide(
    standing: Standing,
    earned: D | None,
    facts: OrderFacts,
    flag: Flag | None,
    expected: tuple[S, D, datetime | None, str | None],
) -> None:
    assert decide(standing, earned, facts, flag, NOW, WINDOW) == Decision(*expected)


def test_decision_is_a_frozen_value_and_the_input_is_untouched() -> None:
    standing = Standing(S.HOLDING, HOLD, RISK_PREFIX + "velocity")
    decision = decide(standing, D("1.00"), processing(), None, NOW, WINDOW)
    assert standing == Standing(S.HOLDING, HOLD, RISK_PREFIX + "velocity")
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.state = S.PAID  # type: ignore[misc]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_deciding_again_changes_nothing(case: tuple) -> None:
    """Idempotent: the decision, taken as the new standing, decides the same again (what
    lets ``apply_order`` run any number of times)."""
    _, standing, earned, facts, flag, _ = case
    first = decide(standing, earned, facts, flag, NOW, WINDOW)
    again = decide(
        Standing(first.state, first.hold_until, first.review_reason),
        earned,
        facts,
        flag,
        NOW,
        WINDOW,
    )
    assert again == first


def test_state_machine_is_pure() -> None:
    """No database work: the module imports no session, engine or query helpers."""
    import ast
    from pathlib import Path

    from portal.commissions import states

    tree = ast.parse(Path(states.__file__).read_text())
    modules = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    } | {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not {m for m in modules if m.startswith(("sqlalchemy", "flask", "portal.extensions"))}
