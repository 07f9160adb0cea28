"""Imports every model module so SQLAlchemy's metadata (and Alembic) sees all tables."""

from portal.accounts.models import LoginFailure, User
from portal.audit.models import AuditEntry
from portal.distributors.models import Distributor, Level
from portal.settings.models import Setting

__all__ = ["AuditEntry", "Distributor", "Level", "LoginFailure", "Setting", "User"]
