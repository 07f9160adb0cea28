"""Services flush; one place commits: the request boundary and the job runner
(:mod:`portal.transactions`). Every other ``db.session.commit()`` under ``portal/`` and
``plugins/`` is listed here with why it is a transaction boundary of its own — a batch
job giving each unit its own fate — or, under PENDING, as one still to go. A new commit
fails this test; one removed must leave the list too (it may only shrink)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# (file, outermost function) → (commits in it, why)
BOUNDARIES: dict[tuple[str, str], tuple[int, str]] = {
    ("portal/transactions.py", "unit"): (1, "the job runner's and the commands' unit"),
    # (the request boundary commits through the session itself: _commit_keeping_loaded)
    ("portal/transactions.py", "keep"): (1, "what a refused request must leave behind"),
    ("portal/intake.py", "each_alone"): (4, "each delivery its own fate"),
    ("portal/orders/services.py", "store_order"): (
        1,
        "a concurrent insert of the same order is settled by retrying after a rollback",
    ),
    ("portal/commissions/services.py", "apply_orders"): (
        1,
        "each batch of orders its own transaction: maturation holds the order locks for "
        "one batch at a time",
    ),
    ("portal/ledger/services.py", "committed_bound"): (
        1,
        "ends the SHARE lock on the ledger as soon as the bound is read",
    ),
    ("portal/ledger/services.py", "write_checkpoints"): (
        4,
        "resumable: each batch of distributors is committed with the cursor",
    ),
    ("portal/levels/upgrades.py", "upgrade_levels"): (
        2,
        "resumable: each batch of promotions is committed with the cursor",
    ),
    ("portal/join/buyers.py", "recruit_buyers"): (
        2,
        "each customer becomes a distributor alone; one failure does not undo the others",
    ),
    ("portal/materials/services.py", "announce_new_materials"): (
        1,
        "each item is claimed in the transaction of its notifications",
    ),
    ("portal/mail.py", "drain_outbox"): (
        2,
        "an email is claimed (committed) before it is sent, and released if sending fails",
    ),
    ("portal/campaigns/settlement.py", "settle_awards"): (
        3,
        "each campaign settled alone, the cursor committed as it moves",
    ),
    ("portal/withdrawals/statements.py", "issue_months"): (
        1,
        "each batch of monthly statements committed as it is numbered",
    ),
    ("plugins/woocommerce_bridge/coupons.py", "push_each"): (
        1,
        "each coupon pushed to the shop keeps its own outcome",
    ),
    ("plugins/woocommerce_bridge/coupons.py", "issue"): (
        1,
        "the shop already holds the coupon: a bulk issue keeps each one made",
    ),
    ("plugins/woocommerce_bridge/customers.py", "link_unlinked"): (
        2,
        "each distributor linked alone, the round's cursor committed as it moves",
    ),
    ("plugins/woocommerce_bridge/sync.py", "sync_products"): (1, "page by page, resumable"),
    ("plugins/woocommerce_bridge/sync.py", "sync_orders"): (1, "page by page, resumable"),
    ("plugins/woocommerce_bridge/sync.py", "check_gone"): (2, "batch by batch, resumable"),
    ("plugins/woocommerce_bridge/sync.py", "look_at_the_shop"): (
        2,
        "what the shop said is kept before the next call to it",
    ),
    ("plugins/woocommerce_bridge/sync.py", "reconcile"): (3, "each stage kept as it ends"),
    # The store-credit and PayPal runs talk to a remote system per item: what was sent is
    # committed before the next call, so a crash never sends twice.
    ("portal/withdrawals/credit.py", "_issued"): (1, "per credit, after the shop's answer"),
    ("portal/withdrawals/credit.py", "_waiting"): (1, "per credit, after the shop's answer"),
    ("portal/withdrawals/credit.py", "_sync_one"): (1, "per credit, after the shop's answer"),
    ("portal/withdrawals/credit.py", "sync"): (1, "per credit, the failed attempt counted"),
    ("portal/withdrawals/paypal.py", "_store_batch"): (1, "the batch kept before it is sent"),
    ("portal/withdrawals/paypal.py", "submit"): (2, "per batch, around PayPal's answer"),
    ("portal/withdrawals/paypal.py", "_unsent"): (2, "per batch, around PayPal's answer"),
    ("portal/withdrawals/paypal.py", "refresh"): (1, "per batch, after PayPal's answer"),
    ("portal/withdrawals/paypal.py", "_close_if_done"): (1, "per batch"),
    ("portal/withdrawals/paypal.py", "apply_item"): (1, "per payout item"),
    ("portal/withdrawals/paypal.py", "receive"): (1, "the webhook event kept before it runs"),
    ("portal/withdrawals/paypal.py", "process_events"): (3, "each event alone"),
    ("portal/commissions/reassign.py", "reassign_many"): (
        1,
        "each batch of re-assigned orders committed alone: ten thousand do not hold their "
        "locks in one transaction",
    ),
    ("portal/risk/review.py", "decide_many"): (
        1,
        "each batch of reviewed orders committed alone, as re-assignment",
    ),
}

# Still to go: services called from requests that commit themselves. The views of these
# packages are being moved (campaigns, distributors, withdrawals); their services follow.
PENDING: dict[tuple[str, str], int] = {
    ("portal/campaigns/services.py", "create"): 1,
    ("portal/campaigns/services.py", "start_closing"): 1,
    ("portal/campaigns/services.py", "award"): 1,
    ("portal/distributors/services.py", "apply"): 1,
    ("portal/distributors/services.py", "add_by_admin"): 1,
    ("portal/distributors/services.py", "_review"): 1,
    ("portal/distributors/services.py", "approve"): 1,
    ("portal/distributors/services.py", "reject"): 1,
    ("portal/withdrawals/services.py", "add_account"): 1,
    ("portal/withdrawals/services.py", "remove_account"): 1,
    ("portal/withdrawals/services.py", "request_withdrawal"): 1,
    ("portal/withdrawals/services.py", "approve"): 1,
    ("portal/withdrawals/services.py", "reject"): 1,
    ("portal/withdrawals/services.py", "pay"): 1,
    ("portal/withdrawals/credit.py", "request"): 1,
    ("portal/withdrawals/credit.py", "reverse"): 1,
    ("portal/withdrawals/payouts.py", "export"): 1,
}

# transactions.keep(): a request that answers an error but must leave something behind.
KEEPS: dict[tuple[str, str], str] = {
    ("portal/accounts/services.py", "authenticate"): "a failed sign-in counts (401)",
    ("plugins/woocommerce_bridge/signin.py", "_spend"): "a nonce is spent once",
}


def _calls(name: str) -> Counter[tuple[str, str]]:
    """``name(...)`` calls per (file, outermost function) under portal/ and plugins/."""
    found: Counter[tuple[str, str]] = Counter()
    for top in ("portal", "plugins"):
        for path in sorted((ROOT / top).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()

            def visit(node: ast.AST, function: str, where: str = where) -> None:
                for child in ast.iter_child_nodes(node):
                    inner = function
                    if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                        inner = function or child.name
                    if isinstance(child, ast.Call) and ast.unparse(child.func) == name:
                        found[(where, function or "<module>")] += 1
                    visit(child, inner)

            visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_only_the_listed_places_commit() -> None:
    allowed = {site: count for site, (count, _why) in BOUNDARIES.items()} | PENDING
    assert dict(_calls("db.session.commit")) == allowed


def test_only_the_listed_places_keep_a_refused_request() -> None:
    assert set(_calls("transactions.keep")) == set(KEEPS)


def test_no_view_module_commits() -> None:
    views = [
        site
        for site in _calls("db.session.commit")
        if site[0].endswith(("views.py", "admin.py")) and site not in PENDING
    ]
    assert views == []
