"""Imports every model module so SQLAlchemy's metadata (and Alembic) sees all tables."""

from portal.accounts.models import LoginFailure, User
from portal.api.models import ApiToken
from portal.audit.models import AuditEntry
from portal.campaigns.models import Campaign, CampaignAward, CampaignPrize, CampaignTier
from portal.catalogue.models import Product
from portal.commissions.models import (
    Commission,
    CommissionEvent,
    CommissionPlan,
    PlanExclusion,
    PlanOverride,
)
from portal.cursors import JobCursor
from portal.distributors.models import (
    AdjustmentRequest,
    Distributor,
    Level,
    PersonalCoupon,
    ShopAccount,
)
from portal.ledger.models import LedgerEntry
from portal.links.models import Click, PosterTemplate
from portal.materials.models import Material
from portal.notifications.models import Notification
from portal.onboarding import OnboardingStep
from portal.orders.models import CustomerBinding, Order, OrderLine
from portal.pickup.models import GroupRound, Handover, PickupPoint
from portal.risk.models import LoginDevice, RiskFlag
from portal.settings.models import Setting
from portal.withdrawals.credit_models import StoreCredit
from portal.withdrawals.models import PayoutAccount, Statement, Withdrawal

__all__ = [
    "AdjustmentRequest",
    "ApiToken",
    "AuditEntry",
    "Campaign",
    "CampaignAward",
    "CampaignPrize",
    "CampaignTier",
    "Click",
    "Commission",
    "CommissionEvent",
    "CommissionPlan",
    "CustomerBinding",
    "Distributor",
    "GroupRound",
    "Handover",
    "JobCursor",
    "LedgerEntry",
    "Level",
    "LoginDevice",
    "LoginFailure",
    "Material",
    "Notification",
    "OnboardingStep",
    "Order",
    "OrderLine",
    "PayoutAccount",
    "PersonalCoupon",
    "PickupPoint",
    "PlanExclusion",
    "PlanOverride",
    "PosterTemplate",
    "Product",
    "RiskFlag",
    "Setting",
    "ShopAccount",
    "Statement",
    "StoreCredit",
    "User",
    "Withdrawal",
]
