"""The distributor's navigation: five tabs at the bottom of a phone, a plain nav on a desktop.

Each link names the pages it stands for (endpoints, or ``blueprint.`` for all of one
blueprint's pages), so the link of the page being shown carries ``aria-current="page"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class NavLink:
    key: str
    endpoint: str
    label: LazyString
    covers: tuple[str, ...]

    def shows(self, endpoint: str | None) -> bool:
        if not endpoint:
            return False
        return any(
            endpoint.startswith(c) if c.endswith(".") else endpoint == c for c in self.covers
        )


# The phone's tab bar (what 首页 / 推广 / 团队 / 收益 / 我的 are in the shop apps people know).
TABS: tuple[NavLink, ...] = (
    NavLink("home", "me.home", _l("Home"), ("me.home", "me.chart")),
    NavLink(
        "share",
        "me_links.index",
        _l("Share"),
        ("me_links.", "me_creator.", "me_pickup.", "me_posters.", "me_materials."),
    ),
    NavLink("team", "me.team_list", _l("Team"), ("me.team_list",)),
    NavLink("earnings", "me.orders", _l("Earnings"), ("me.orders", "me.order", "me_withdrawals.")),
    NavLink(
        "me",
        "me.account",
        _l("Me"),
        ("me.account", "me_notifications.", "me_campaigns.", "accounts.change_password"),
    ),
)

# A desktop has the room for every page by name.
DESKTOP: tuple[NavLink, ...] = (
    NavLink("home", "me.home", _l("My centre"), ("me.home", "me.chart")),
    NavLink(
        "share",
        "me_links.index",
        _l("Share"),
        ("me_links.", "me_creator.", "me_pickup.", "me_posters."),
    ),
    NavLink("materials", "me_materials.library", _l("Materials"), ("me_materials.",)),
    NavLink("team", "me.team_list", _l("Team"), ("me.team_list",)),
    NavLink("orders", "me.orders", _l("Orders"), ("me.orders", "me.order")),
    NavLink("campaigns", "me_campaigns.mine", _l("Campaigns"), ("me_campaigns.",)),
    NavLink("withdraw", "me_withdrawals.index", _l("Withdraw"), ("me_withdrawals.",)),
    NavLink("notifications", "me_notifications.index", _l("Notifications"), ("me_notifications.",)),
    NavLink("me", "me.account", _l("Me"), ("me.account", "accounts.change_password")),
)


def current(links: Sequence[NavLink], endpoint: str | None) -> str | None:
    """The key of the link standing for the page at ``endpoint``, if any."""
    return next((link.key for link in links if link.shows(endpoint)), None)
