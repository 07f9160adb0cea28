"""Imports every model module so SQLAlchemy's metadata (and Alembic) sees all tables."""

from portal.accounts.models import LoginFailure, User
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.catalogue.models import Product
from portal.commissions.models import (
    Commission,
    CommissionEvent,
    CommissionPlan,
    PlanExclusion,
    PlanOverride,
)
from portal.distributors.models import Distributor, Level, PersonalCoupon
from portal.ledger.models import LedgerEntry
from portal.links.models import Click
from portal.orders.models import CustomerBinding, Order, OrderLine
from portal.risk.models import LoginDevice, RiskFlag
from portal.settings.models import Setting
from portal.withdrawals.models import PayoutAccount, Withdrawal

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Click",
    "Commission",
    "CommissionEvent",
    "CommissionPlan",
    "CustomerBinding",
    "Distributor",
    "LedgerEntry",
    "Level",
    "LoginDevice",
    "LoginFailure",
    "Order",
    "OrderLine",
    "PayoutAccount",
    "PersonalCoupon",
    "PlanExclusion",
    "PlanOverride",
    "Product",
    "RiskFlag",
    "Setting",
    "User",
    "Withdrawal",
]
