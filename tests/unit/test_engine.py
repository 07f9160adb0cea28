"""The pure commission engine: worked examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.commissions import engine as e
from portal.money import minor_unit_exponent, quantum

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SETTINGS = e.Settings(now=NOW)


def member(n: int, **kw) -> e.Member:
    return e.Member(distributor_id=n, role="affiliate", **kw)


def plan(**kw) -> e.Plan:
    base = {"role": "affiliate", "max_depth": 3, "rates": (D("10"), D("3"), D("1"))}
    base.update(kw)
    return e.Plan(**base)


def order(*lines: e.Line, currency: str = "USD", **kw) -> e.Order:
    return e.Order(order_id="1001", currency=currency, lines=tuple(lines), **kw)


def line(pid: str, qty: int, total: str, cats: tuple[str, ...] = (), **kw) -> e.Line:
    return e.Line(
        line_id=f"L{pid}", product_id=pid, qty=qty, total=D(total), category_ids=cats, **kw
    )


def amounts(result: e.Result) -> list[D]:
    return [c.amount for c in result.lines]


def test_minor_units() -> None:
    assert [minor_unit_exponent(c) for c in ("JPY", "USD", "CNY", "KWD", "eur")] == [
        0,
        2,
        2,
        3,
        2,
    ]


def test_single_level() -> None:
    result = e.compute(
        order(line("P1", 1, "100.00"), line("P2", 2, "50.00")),
        [member(1), member(2)],
        plan(max_depth=1),
        SETTINGS,
    )
    assert [(c.beneficiary_id, c.depth, c.amount, c.rate) for c in result.lines] == [
        (1, 1, D("15.00"), D("10"))
    ]
    assert result.basis == D("150.00")


def test_two_levels_with_category_and_product_overrides() -> None:
    p = plan(
        max_depth=2,
        overrides=(
            e.Override("category", "books", 1, e.RateKind.PERCENT, D("5")),
            e.Override("product", "P9", 2, e.RateKind.FIXED, D("2.00")),
            e.Override("category", "toys", 2, e.RateKind.PERCENT, D("8")),  # product wins
        ),
    )
    result = e.compute(
        order(line("P1", 1, "40.00", ("books",)), line("P9", 3, "60.00", ("toys",))),
        [member(1), member(2), member(3)],
        p,
        SETTINGS,
    )
    d1, d2 = result.lines
    assert (d1.beneficiary_id, d1.amount) == (1, D("8.00"))  # 40×5% + 60×10%
    assert (d2.beneficiary_id, d2.amount) == (2, D("7.20"))  # 40×3% + 3×2.00
    assert d1.rule_id == "mixed" and d1.rate is None
    assert {p.rule_id for p in d2.parts} == {"plan:affiliate:d2", "product:P9:d2"}


def test_three_levels_with_level_rates_and_product_override() -> None:
    p = plan(overrides=(e.Override("product", "P1", 3, e.RateKind.PERCENT, D("2")),))
    chain = [
        member(1, level_rates=(D("12"), None, None)),
        member(2, level_rates=(None, D("4"), None)),
        member(3),
    ]
    result = e.compute(order(line("P1", 1, "200.00"), line("P2", 1, "100.00")), chain, p, SETTINGS)
    assert amounts(result) == [D("36.00"), D("12.00"), D("5.00")]  # 300×12%, 300×4%, 200×2%+100×1%
    assert result.lines[0].rule_id == "level:d1"


def test_order_basis_ignores_overrides() -> None:
    p = plan(
        basis=e.Basis.ORDER,
        overrides=(e.Override("product", "P1", 1, e.RateKind.PERCENT, D("50")),),
    )
    result = e.compute(
        order(line("P1", 1, "80.00"), line("P2", 1, "20.00")), [member(1)], p, SETTINGS
    )
    assert amounts(result) == [D("10.00")]
    assert result.lines[0].rate == D("10")


def test_exclusions_earn_nothing_and_leave_the_basis() -> None:
    p = plan(max_depth=1, exclusions=frozenset({"GIFT"}), cap_percent=D("10"))
    result = e.compute(
        order(line("GIFT", 1, "500.00"), line("P1", 1, "100.00")), [member(1)], p, SETTINGS
    )
    assert result.basis == D("100.00") and amounts(result) == [D("10.00")]
    only_excluded = e.compute(order(line("GIFT", 1, "500.00")), [member(1)], p, SETTINGS)
    assert amounts(only_excluded) == [D("0.00")]
    assert only_excluded.lines[0].zero_reason is e.ZeroReason.EXCLUDED


def test_cap_scales_every_depth_and_holds_after_rounding() -> None:
    p = plan(rates=(D("30"), D("20"), D("10")), cap_percent=D("40"))
    result = e.compute(
        order(line("P1", 1, "33.33")), [member(1), member(2), member(3)], p, SETTINGS
    )
    assert result.cap == D("13.33")
    assert sum(amounts(result)) <= result.cap
    assert amounts(result) == [D("6.66"), D("4.44"), D("2.22")]


def test_self_purchase_rules() -> None:
    o = order(line("P1", 1, "100.00"), customer_email="Me@Shop.example")
    chain = [member(1, email="me@shop.example"), member(2)]
    default = e.compute(o, chain, plan(max_depth=2), SETTINGS)
    assert amounts(default) == [D("0.00"), D("3.00")]
    assert default.lines[0].zero_reason is e.ZeroReason.SELF_PURCHASE
    everyone = e.compute(
        o, chain, plan(max_depth=2), e.Settings(now=NOW, self_purchase=e.SelfPurchase.EVERYONE)
    )
    assert amounts(everyone) == [D("10.00"), D("3.00")]
    nobody = e.compute(
        o, chain, plan(max_depth=2), e.Settings(now=NOW, self_purchase=e.SelfPurchase.NOBODY)
    )
    assert amounts(nobody) == [D("0.00"), D("0.00")]
    by_customer_id = e.compute(
        order(line("P1", 1, "100.00"), customer_id="77"),
        [member(1, shop_customer_id="77"), member(2)],
        plan(max_depth=2),
        SETTINGS,
    )
    assert amounts(by_customer_id) == [D("0.00"), D("3.00")]


def test_network_commission_requires_a_recent_own_sale() -> None:
    p = plan(network_sale_days=30)
    chain = [
        member(1),
        member(2, last_own_sale_at=NOW - timedelta(days=29)),
        member(3, last_own_sale_at=NOW - timedelta(days=31)),
    ]
    result = e.compute(order(line("P1", 1, "100.00")), chain, p, SETTINGS)
    assert amounts(result) == [D("10.00"), D("3.00"), D("0.00")]
    assert result.lines[2].zero_reason is e.ZeroReason.NO_RECENT_SALE


def test_inactive_upline_earns_nothing_without_compression() -> None:
    chain = [member(1), member(2, active=False), member(3)]
    result = e.compute(order(line("P1", 1, "100.00")), chain, plan(), SETTINGS)
    assert amounts(result) == [D("10.00"), D("0.00"), D("1.00")]
    assert result.lines[1].zero_reason is e.ZeroReason.INACTIVE


def test_max_depth_setting_limits_the_plan() -> None:
    result = e.compute(
        order(line("P1", 1, "100.00")),
        [member(1), member(2), member(3)],
        plan(),
        e.Settings(now=NOW, max_depth=2),
    )
    assert [c.depth for c in result.lines] == [1, 2]


@pytest.mark.parametrize(
    ("currency", "total", "rate", "expected"),
    [
        ("USD", "10.05", "5", "0.50"),  # 0.5025
        ("USD", "2.50", "5", "0.13"),  # 0.125 rounds half up
        ("JPY", "1005", "5", "50"),  # 50.25
        ("JPY", "1010", "5", "51"),  # 50.5 rounds half up
        ("KWD", "20.010", "5", "1.001"),  # 1.0005
        ("KWD", "20.009", "5", "1.000"),  # 1.00045
    ],
)
def test_rounding_per_currency(currency: str, total: str, rate: str, expected: str) -> None:
    result = e.compute(
        order(line("P1", 1, total), currency=currency),
        [member(1)],
        plan(max_depth=1, rates=(D(rate),)),
        SETTINGS,
    )
    assert str(result.lines[0].amount) == expected


def test_refunds_per_line_and_unallocated_are_proportional() -> None:
    lines = (line("P1", 2, "60.00", refunded_total=D("30.00")), line("P2", 1, "40.00"))
    p = plan(max_depth=1, overrides=(e.Override("product", "P1", 1, e.RateKind.FIXED, D("5")),))
    result = e.compute(order(*lines), [member(1)], p, SETTINGS)
    assert amounts(result) == [D("9.00")]  # 5×2×0.5 + 40×10%
    spread = e.compute(
        order(line("P1", 1, "75.00"), line("P2", 1, "25.00"), refunded_unallocated=D("50.00")),
        [member(1)],
        plan(max_depth=1),
        SETTINGS,
    )
    assert spread.basis == D("50.00") and amounts(spread) == [D("5.00")]


# --- properties ---------------------------------------------------------------------

money = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
percent = st.decimals(min_value=D("0"), max_value=D("60"), places=2)


@st.composite
def orders(draw: st.DrawFn) -> e.Order:
    count = draw(st.integers(1, 6))
    currency = draw(st.sampled_from(["USD", "JPY", "KWD", "CNY"]))
    q = quantum(currency)
    result = []
    for i in range(count):
        total = draw(money).quantize(q) or q
        refunded = draw(st.sampled_from([D(0), total, (total / 3).quantize(q)]))
        result.append(
            e.Line(
                line_id=str(i),
                product_id=f"P{draw(st.integers(1, 4))}",
                qty=draw(st.integers(1, 5)),
                total=total,
                category_ids=(f"C{draw(st.integers(1, 3))}",),
                refunded_total=refunded,
            )
        )
    return e.Order(order_id="x", currency=currency, lines=tuple(result))


@st.composite
def plans(draw: st.DrawFn) -> e.Plan:
    overrides = tuple(
        e.Override(
            draw(st.sampled_from(["product", "category"])),
            draw(st.sampled_from(["P1", "P2", "C1", "C2"])),
            draw(st.integers(1, 3)),
            draw(st.sampled_from(list(e.RateKind))),
            draw(percent),
        )
        for _ in range(draw(st.integers(0, 5)))
    )
    return e.Plan(
        role="affiliate",
        max_depth=draw(st.integers(1, 3)),
        rates=(draw(percent), draw(percent), draw(percent)),
        basis=draw(st.sampled_from(list(e.Basis))),
        overrides=overrides,
        cap_percent=draw(st.one_of(st.none(), percent)),
        exclusions=frozenset(draw(st.sets(st.sampled_from(["P3", "P4"]), max_size=1))),
    )


CHAIN = [member(1, level_rates=(None, D("4.5"), None)), member(2), member(3)]


@given(orders(), plans())
@settings(max_examples=300, deadline=None)
def test_total_never_exceeds_the_cap_and_amounts_are_exact(o: e.Order, p: e.Plan) -> None:
    result = e.compute(o, CHAIN, p, SETTINGS)
    q = quantum(o.currency)
    for c in result.lines:
        assert c.amount >= 0 and c.amount == c.amount.quantize(q)
    if p.cap_percent is not None:
        assert result.total <= p.cap_percent * result.basis / 100


@given(orders(), plans())
@settings(max_examples=200, deadline=None)
def test_a_full_refund_earns_exactly_nothing(o: e.Order, p: e.Plan) -> None:
    per_line = e.Order(
        o.order_id,
        o.currency,
        tuple(
            e.Line(
                ln.line_id,
                ln.product_id,
                ln.qty,
                ln.total,
                ln.category_ids,
                refunded_total=ln.total,
            )
            for ln in o.lines
        ),
    )
    as_order = e.Order(
        o.order_id,
        o.currency,
        tuple(
            e.Line(ln.line_id, ln.product_id, ln.qty, ln.total, ln.category_ids) for ln in o.lines
        ),
        refunded_unallocated=sum(ln.total for ln in o.lines),
    )
    for refunded in (per_line, as_order):
        assert e.compute(refunded, CHAIN, p, SETTINGS).total == 0


def test_engine_is_pure() -> None:
    """No Flask, no SQLAlchemy: only the standard library and the ground-floor money helpers
    (portal/money.py, whose only non-standard import is SQLAlchemy's ``Numeric`` for the
    ``Money`` column type it also declares)."""
    import ast
    import sys
    from pathlib import Path

    from portal import money

    def imports(path: str) -> set[str]:
        found = set()
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
        return {name for name in found if name.split(".")[0] not in sys.stdlib_module_names}

    assert imports(e.__file__) <= {"__future__", "portal.money"}, imports(e.__file__)
    assert imports(money.__file__) <= {"__future__", "sqlalchemy"}, imports(money.__file__)
