"""Imports every model module so SQLAlchemy's metadata (and Alembic) sees all tables."""

from portal.accounts.models import LoginFailure, User
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.commissions.models import (
    Commission,
    CommissionEvent,
    CommissionPlan,
    PlanExclusion,
    PlanOverride,
)
from portal.distributors.models import Distributor, Level
from portal.ledger.models import LedgerEntry
from portal.orders.models import CustomerBinding, Order, OrderLine
from portal.settings.models import Setting

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Commission",
    "CommissionEvent",
    "CommissionPlan",
    "CustomerBinding",
    "Distributor",
    "LedgerEntry",
    "Level",
    "LoginFailure",
    "Order",
    "OrderLine",
    "PlanExclusion",
    "PlanOverride",
    "Setting",
    "User",
]
