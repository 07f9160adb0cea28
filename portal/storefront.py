"""What the connected shop says about itself — its address, currency and timezone —
recorded by the shop plugin through :func:`record` whenever it reads them (the core
never names the plugin). Kept in the settings table under one key of its own.

The portal's own currency stays a setting: orders in another currency are held for
review, never converted. Until the portal has its first order the shop's currency
becomes it (:func:`adopt_if_new`: nothing was counted in the old one); afterwards a
difference is shown to the merchant (``currency_differs``), who can take the shop's
with :func:`adopt_currency` — balances already earned stay in the currency they were
earned in. The portal counts days (reports, daily
limits) in UTC, whatever the shop's timezone."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from portal import registry
from portal.accounts.models import User
from portal.extensions import db
from portal.orders.models import Order
from portal.settings import services as settings
from portal.settings.models import Setting
from portal.timeutil import utcnow

KEY = "storefront"
CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Storefront:
    url: str = ""
    currency: str = ""  # ISO 4217
    timezone: str = ""  # an IANA name; empty when the shop gives only an offset
    utc_offset_minutes: int | None = None  # the shop's offset when it was read
    read_at: datetime | None = None

    @property
    def utc_offset(self) -> str:
        """``+08:00`` (empty when unknown)."""
        if self.utc_offset_minutes is None:
            return ""
        sign = "-" if self.utc_offset_minutes < 0 else "+"
        hours, minutes = divmod(abs(self.utc_offset_minutes), 60)
        return f"{sign}{hours:02d}:{minutes:02d}"


def _load(value: Any) -> Storefront:
    if not isinstance(value, dict):
        return Storefront()
    read_at = value.get("read_at")
    return Storefront(
        url=value.get("url") or "",
        currency=value.get("currency") or "",
        timezone=value.get("timezone") or "",
        utc_offset_minutes=value.get("utc_offset_minutes"),
        read_at=datetime.fromisoformat(read_at) if read_at else None,
    )


def current() -> Storefront:
    """As last recorded, read once per database session."""
    cache = db.session.info.setdefault("settings", {})
    if KEY not in cache:
        row = db.session.get(Setting, KEY)
        cache[KEY] = _load(row.value if row is not None else None)
    return cache[KEY]


def url() -> str:
    """The shop's address: as the deployment sets it, else the recorded one."""
    return registry.configured_shop_url() or current().url


def offset_minutes(timezone: str, fallback_hours: Any = None) -> int | None:
    """The offset now of an IANA zone, else of WordPress's ``gmt_offset`` (hours, maybe
    fractional, as a number or a string)."""
    if timezone:
        try:
            offset = utcnow().astimezone(ZoneInfo(timezone)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError):
            offset = None
        if offset is not None:
            return int(offset.total_seconds() // 60)
    try:
        return round(float(fallback_hours) * 60) if fallback_hours not in (None, "") else None
    except (TypeError, ValueError):
        return None


def record(
    *,
    url: str | None = None,
    currency: str | None = None,
    timezone: str | None = None,
    utc_offset_minutes: int | None = None,
) -> Storefront:
    """Keep what the shop said (the fields given; flushed, the caller commits). A
    currency that is not an ISO 4217 code is ignored."""
    known = current()
    values = asdict(known)
    if url is not None:
        values["url"] = url
    if currency is not None and CURRENCY.match(currency.strip().upper()):
        values["currency"] = currency.strip().upper()
    if timezone is not None:
        values["timezone"] = timezone
        values["utc_offset_minutes"] = utc_offset_minutes
    values["read_at"] = utcnow().isoformat()
    row = db.session.get(Setting, KEY)
    if row is None:
        db.session.add(Setting(key=KEY, value=values))
    else:
        row.value = values
    db.session.flush()
    db.session.info.setdefault("settings", {}).pop(KEY, None)
    return current()


def adopt_if_new(actor: User | None = None) -> bool:
    """Take the shop's currency while the portal has no order yet (audited; ``actor``
    None: the system's doing). The caller commits."""
    if db.session.scalar(select(Order.id).limit(1)) is not None:
        return False
    return adopt_currency(actor)


def currency_differs() -> bool:
    """The shop names a currency other than the portal's (its orders would be held)."""
    shop = current().currency
    return bool(shop) and shop != settings.get("currency")


def adopt_currency(actor: User | None) -> bool:
    """Make the shop's currency the portal's (audited; the caller commits). False when
    there is nothing to change."""
    shop = current().currency
    if not shop:
        return False
    return bool(settings.update({"currency": shop}, actor))
