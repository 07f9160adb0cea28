"""Which tab (phone) or nav link (desktop) stands for a page: exactly one, or none."""

from __future__ import annotations

import pytest

from portal.centre.tabs import DESKTOP, TABS, current


@pytest.mark.parametrize(
    ("endpoint", "tab", "link"),
    [
        ("me.home", "home", "home"),
        ("me.chart", "home", "home"),
        ("me_links.index", "share", "share"),
        ("me_links.product_card", "share", "share"),
        ("me_creator.index", "share", "share"),
        ("me_materials.library", "share", "materials"),
        ("me.team_list", "team", "team"),
        ("me.orders", "earnings", "orders"),
        ("me.order", "earnings", "orders"),
        ("me_withdrawals.accounts", "earnings", "withdraw"),
        ("me.account", "me", "me"),
        ("me_notifications.index", "me", "notifications"),
        ("me_campaigns.leaderboard", "me", "campaigns"),
        ("accounts.change_password", "me", "me"),
        ("core.index", None, None),
        (None, None, None),
    ],
)
def test_the_current_page_marks_one_link(endpoint, tab, link) -> None:
    assert current(TABS, endpoint) == tab
    assert current(DESKTOP, endpoint) == link
    assert sum(t.shows(endpoint) for t in TABS) == (tab is not None)  # never two tabs
    assert sum(d.shows(endpoint) for d in DESKTOP) == (link is not None)


def test_five_tabs_in_the_order_shop_apps_use() -> None:
    assert [t.key for t in TABS] == ["home", "share", "team", "earnings", "me"]
    assert current(TABS, "me.team") is None  # "me.team" is no prefix of "me.team_list"
