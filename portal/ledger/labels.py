"""Human words for ledger entries: the balance an entry sits in, what kind of move it
is and what its reference points to (``order:93``, ``campaign:3:rank:1``…)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.ledger.models import Bucket, EntryKind

# The commission states that hold money (commissions name their states with these words),
# plus the one money on its way out: the single word for it everywhere ("Being paid out",
# not also "Being withdrawn").
WITHDRAWING_LABEL = _l("Being paid out")
BUCKET_LABELS = {
    Bucket.PENDING.value: _l("Pending"),
    Bucket.HOLDING.value: _l("Holding"),
    Bucket.AVAILABLE.value: _l("Available"),
    Bucket.PAID.value: _l("Paid"),
    Bucket.ON_REVIEW.value: _l("On review"),
    Bucket.WITHDRAWING.value: WITHDRAWING_LABEL,
    Bucket.CREDIT.value: _l("Store credit not yet spent"),
}

KIND_LABELS = {
    EntryKind.ACCRUAL.value: _l("Commission booked"),
    EntryKind.ADJUSTMENT.value: _l("Order changed"),
    EntryKind.TRANSFER.value: _l("Moved between balances"),
    EntryKind.MANUAL.value: _l("Manual adjustment"),
    EntryKind.BONUS.value: _l("Campaign bonus"),
    EntryKind.WITHDRAWAL.value: _l("Withdrawal"),
    EntryKind.CREDIT_BONUS.value: _l("Store credit bonus"),
}


def reference_text(reference: str) -> str:
    """What a reference points to, in words; an unknown shape is shown as it is."""
    kind, _sep, rest = reference.partition(":")
    if kind == "order" and rest:
        return _("Order %(order)s", order=rest)
    if kind == "withdrawal" and rest:
        return _("Withdrawal #%(id)s", id=rest)
    if kind == "manual" and rest:
        number, _sep, reason = rest.partition(" ")
        return _("Adjustment #%(id)s: %(reason)s", id=number, reason=reason)
    if kind == "campaign":
        campaign, _sep, award = rest.partition(":")
        award_kind, _sep, value = award.partition(":")
        if award_kind == "rank":
            return _("Campaign #%(campaign)s, place %(rank)s", campaign=campaign, rank=value)
        if award_kind == "tier":
            return _("Campaign #%(campaign)s, tier %(target)s", campaign=campaign, target=value)
    return reference
