"""Every value a person reads is a word: ledger buckets, kinds and references, attribution
evidence, risk flags (issue #17, item 7). English here; the catalogues carry Chinese."""

from __future__ import annotations

from flask import Flask

from portal.commissions.labels import STATE_LABELS
from portal.ledger.labels import BUCKET_LABELS, KIND_LABELS, reference_text
from portal.ledger.models import Bucket, EntryKind
from portal.orders.labels import evidence_items, seller_text
from portal.risk.labels import FLAG_STATUS_LABELS
from portal.risk.models import FlagStatus


def test_every_bucket_and_kind_has_a_word(app: Flask) -> None:
    assert set(BUCKET_LABELS) == {b.value for b in Bucket}
    assert set(KIND_LABELS) == {k.value for k in EntryKind}
    assert set(FLAG_STATUS_LABELS) == {s.value for s in FlagStatus}
    with app.test_request_context():
        assert str(BUCKET_LABELS["withdrawing"]) == "Being paid out"
        assert BUCKET_LABELS["available"] is STATE_LABELS["available"]  # reused, not copied
        assert str(KIND_LABELS["transfer"]) == "Moved between balances"


def test_references_read_as_words(app: Flask) -> None:
    with app.test_request_context():
        assert reference_text("order:93") == "Order 93"
        assert reference_text("withdrawal:12") == "Withdrawal #12"
        assert reference_text("manual:7 Goodwill for a late parcel") == (
            "Adjustment #7: Goodwill for a late parcel"
        )
        assert reference_text("campaign:3:rank:1") == "Campaign #3, place 1"
        assert reference_text("campaign:3:tier:10") == "Campaign #3, tier 10"
        assert reference_text("something-else") == "something-else"  # shown as it is


def test_evidence_leaves_out_empty_entries_and_writes_out_the_rest(app: Flask) -> None:
    evidence = {
        "coupons": [],
        "portal_ref": None,
        "utm": {},
        "matched": "ABC234",
    }
    with app.test_request_context():
        assert evidence_items(evidence) == [("Code that matched", "ABC234")]
        full = evidence_items({"coupons": ["SPRING", "WU10"], "utm": {"utm_source": "portal"}})
        assert full == [("Coupons used", "SPRING, WU10"), ("Visit tags", "utm_source = portal")]
        assert evidence_items(None) == []
        assert seller_text(None) == "Own sale" and seller_text("Wu") == "Wu"
