"""Queue entry points (RQ imports these by name)."""

from __future__ import annotations

from portal.commissions import services


def mature_commissions() -> int:
    """Periodic: holding → available for every commission past its return window."""
    return services.mature_commissions()


def apply_due_commissions() -> int:
    """Periodic: run the commissions an interrupted or partial intake left undone."""
    from portal.commissions import sweep

    return sweep.apply_due()
