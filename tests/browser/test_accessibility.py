"""axe-core over every distributor (/me…) and admin (/admin…) page, and the public ones, in
English and Simplified Chinese, at phone and desktop widths: no serious or critical
violation anywhere.

The pages are not listed by hand: every GET rule under /me or /admin in the URL map is
walked, its ids filled from a seeded programme (the demo's, plus risk flags, withdrawals
in every state, API tokens and shop deliveries). A rule with ids this file does not know,
or one answering something other than HTML, fails until it is given ids (ARGUMENTS) or
excluded with a reason (NOT_PAGES).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal as D
from typing import Any
from urllib.parse import urlsplit

import jwt
import pytest
from flask import Flask, url_for
from playwright.sync_api import Browser, Page
from sqlalchemy import func, select

from portal import demo
from portal.accounts.models import User
from portal.api import services as api_tokens
from portal.api.models import ApiToken
from portal.campaigns import progress
from portal.campaigns.models import Campaign, CampaignState
from portal.commissions import services as commissions
from portal.commissions.models import CommissionPlan, PlanOverride
from portal.distributors.models import Distributor, DistributorRole
from portal.extensions import db
from portal.links.models import PosterTemplate
from portal.materials.models import Material
from portal.orders import services as orders
from portal.orders.services import Attribution, LineData, OrderData
from portal.pickup.models import GroupRound, PickupPoint, PointStatus
from portal.risk import review
from portal.risk.models import RiskFlag
from portal.settings import services as settings
from portal.timeutil import utcnow
from portal.withdrawals import services as withdrawals
from portal.withdrawals.models import Statement, Withdrawal
from tests.browser.axe import axe_source, violations

LOCALES = {"en": ("en-GB", "en"), "zh": ("zh-CN", "zh-Hans")}  # browser locale, <html lang>
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
AREAS = ("/me/", "/admin/")

# GET rules under /me and /admin that are not pages, and why.
NOT_PAGES = {
    "me_links.shop_qr": "PNG QR code",
    "me_links.invite_qr": "PNG QR code",
    "me_links.product_qr": "PNG QR code",
    "me_links.product_card": "PNG share card",
    "me_materials.download": "file download",
    "me_materials.image": "image",
    "me.statement_csv": "CSV download",
    "me_withdrawals.statement": "PDF download",
    "admin_withdrawals.statement": "PDF download",
    "admin_materials.admin_image": "image",
    "admin_reports.distributors_csv": "CSV download",
    "admin_plans.show_override": "an htmx row; without htmx it redirects to the plans page",
    "me_posters.product_png": "PNG poster",
    "me_posters.invite_png": "PNG poster",
    "admin_posters.logo": "image",
}


@dataclass(frozen=True)
class Seeded:
    distributor_email: str
    distributor_id: int
    distributor_code: str
    campaign_id: int
    material_id: int
    order_id: int
    withdrawal_id: int
    statement_number: int
    override_id: int
    override_role: str
    poster_template_id: int
    round_id: int


# The URL arguments of the rules that take some, from the seeded programme.
ARGUMENTS: dict[str, Callable[[Seeded], dict[str, Any]]] = {
    "admin_campaigns.detail": lambda s: {"campaign_id": s.campaign_id},
    "admin_distributor.show": lambda s: {"distributor_id": s.distributor_id},
    "admin_distributor.ledger": lambda s: {"distributor_id": s.distributor_id},
    "admin_materials.admin_edit": lambda s: {"material_id": s.material_id},
    "admin_materials.admin_image": lambda s: {"material_id": s.material_id},
    "admin_orders.show": lambda s: {"order_id": s.order_id},
    "admin_plans.show_override": lambda s: {"role": s.override_role, "override_id": s.override_id},
    "admin_plans.edit_override": lambda s: {"role": s.override_role, "override_id": s.override_id},
    "me_campaigns.card": lambda s: {"campaign_id": s.campaign_id},
    "me.order": lambda s: {"order_id": s.order_id},
    "me_withdrawals.detail": lambda s: {"withdrawal_id": s.withdrawal_id},
    "me_withdrawals.statement": lambda s: {"number": s.statement_number},
    "admin_withdrawals.statement": lambda s: {"number": s.statement_number},
    "me_links.product_qr": lambda s: {"product_id": "101"},
    "me_links.product_card": lambda s: {"product_id": "101"},
    "me_materials.download": lambda s: {"material_id": s.material_id},
    "me_materials.image": lambda s: {"material_id": s.material_id},
    "me_posters.product": lambda s: {"product_id": "101"},
    "me_posters.product_png": lambda s: {"product_id": "101"},
    "admin_posters.edit": lambda s: {"template_id": s.poster_template_id},
    "me_pickup.round_detail": lambda s: {"round_id": s.round_id},
}


def area_rules(app: Flask) -> dict[str, Any]:
    """Every GET rule under /me or /admin, by endpoint."""
    return {
        rule.endpoint: rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.rule.startswith(AREAS)
    }


def urls(app: Flask, seeded: Seeded) -> dict[str, str]:
    """The URL of every /me and /admin GET rule, by endpoint (pages and not-pages)."""
    found = {}
    with app.test_request_context():
        for endpoint, rule in area_rules(app).items():
            arguments = ARGUMENTS[endpoint](seeded) if rule.arguments else {}
            found[endpoint] = url_for(endpoint, **arguments)
    return found


def test_every_me_and_admin_route_is_walked_or_excluded(app: Flask) -> None:
    """Rules without arguments are walked as they come; one with arguments needs ids here,
    whether it is a page (checked with axe) or not (checked not to answer HTML)."""
    rules = area_rules(app)
    without_ids = [r.rule for e, r in rules.items() if r.arguments and e not in ARGUMENTS]
    assert without_ids == [], (
        f"{without_ids}: give these routes ids in ARGUMENTS; if one is not a page (a "
        "download, an image), also exclude it in NOT_PAGES with a reason"
    )
    assert set(NOT_PAGES) <= set(rules), "NOT_PAGES names a route that is gone"
    assert set(ARGUMENTS) <= set(rules), "ARGUMENTS names a route that is gone"


# --- the programme ---------------------------------------------------------------------


def seed(app: Flask) -> Seeded:
    """The demo programme plus what it lacks: open and decided risk flags, withdrawals in
    every state, API tokens (one revoked) and shop deliveries (one failed)."""
    from plugins.woocommerce_bridge.models import WooDelivery

    with app.app_context():
        logins = demo.seed()
        email = logins[2].email
        admin = db.session.scalar(select(User).where(User.email == demo.ADMIN_LOGIN[0]))
        star = db.session.scalar(
            select(Distributor)
            .join(User, Distributor.user_id == User.id)
            .where(User.email == email)
        )
        star.user.locale = None  # the browser's Accept-Language decides
        # The sample distributor leads a group too, so the pickup pages are walked full.
        star.role = DistributorRole.GROUP_LEADER
        db.session.add(
            PickupPoint(
                distributor_id=star.id,
                name="Lane 5 kiosk",
                address="5 Lane Road",
                hours="10:00–18:00",
                status=PointStatus.APPROVED,
            )
        )
        db.session.commit()

        settings.update({"risk_large_order": D("1000")}, admin)
        now = utcnow()
        flagged = []
        for n in range(2):
            stored = orders.store_order(
                OrderData(
                    shop_order_id=f"9{n}00",
                    number=f"9{n}00",
                    status="processing",
                    currency="CNY",
                    created_at=now - timedelta(hours=n + 1),
                    modified_at=now - timedelta(hours=n + 1),
                    lines=(LineData("1", "302", 4, D("1436.00"), ("skincare",), name="Cream"),),
                    customer_email="big.buyer@mail.example",
                    attribution=Attribution(star.id, "coupon", {"matched": star.code}),
                )
            )
            commissions.apply_order(stored.order_id, now)
            flagged.append(stored.order_id)
        review.decide(flagged[1], admin, release=False, reason="Reseller bulk buy")
        assert db.session.scalar(select(RiskFlag.id).where(RiskFlag.order_id == flagged[0]))

        account = withdrawals.accounts(star.id)[0]
        approved = withdrawals.request_withdrawal(star.id, D("20"), account.id)
        withdrawals.approve(approved.id, admin)
        rejected = withdrawals.request_withdrawal(star.id, D("10"), account.id)
        withdrawals.reject(rejected.id, admin, "Account name does not match")

        api_tokens.create_token("Accounting export", admin)
        api_tokens.create_token("Old BI tool", admin)
        old = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "Old BI tool"))
        api_tokens.revoke_token(old, admin)

        db.session.add_all(
            [
                WooDelivery(
                    delivery_id="d-1",
                    topic="order.updated",
                    headers={},
                    body="{}",
                    processed_at=now,
                    attempts=1,
                    shop_order_id="5001",
                ),
                WooDelivery(
                    delivery_id="d-2",
                    topic="order.created",
                    headers={},
                    body="{",
                    attempts=3,
                    error="Expecting property name enclosed in double quotes",
                ),
            ]
        )
        db.session.commit()

        campaign = next(
            c
            for c in db.session.scalars(select(Campaign).order_by(Campaign.id))
            if c.state is CampaignState.OPEN and progress.is_eligible(c, star)
        )
        override = db.session.scalars(select(PlanOverride).order_by(PlanOverride.id)).first()
        return Seeded(
            distributor_email=email,
            distributor_id=star.id,
            distributor_code=star.code,
            campaign_id=campaign.id,
            material_id=db.session.scalar(select(Material.id).order_by(Material.id)),
            order_id=flagged[0],
            withdrawal_id=db.session.scalar(
                select(Withdrawal.id).where(Withdrawal.distributor_id == star.id).limit(1)
            ),
            # the demo pays one of the sample distributor's withdrawals, which issues one
            statement_number=db.session.scalar(
                select(Statement.number).where(Statement.distributor_id == star.id)
            ),
            override_id=override.id,
            override_role=db.session.get(CommissionPlan, override.plan_id).role,
            poster_template_id=db.session.scalar(select(func.min(PosterTemplate.id))),
            round_id=db.session.scalar(select(func.min(GroupRound.id))),
        )


# --- the walk --------------------------------------------------------------------------


class Walk:
    """One browser page per locale and width; collects every problem instead of stopping
    at the first, so one run lists them all."""

    def __init__(self, page: Page, base: str, lang: str, label: str) -> None:
        self.page, self.base, self.lang, self.label = page, base, lang, label
        self.problems: list[str] = []
        page.on(
            "console",
            lambda message: (
                self.problems.append(f"[{label}] {page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )

    def check(self, where: str) -> None:
        lang = self.page.get_attribute("html", "lang")
        if lang != self.lang:
            self.problems.append(f"[{self.label}] {where}: <html lang={lang}>, not {self.lang}")
        self.problems += violations(self.page, f"[{self.label}] {where}")

    def visit(self, path: str, status: int = 200) -> None:
        response = self.page.goto(self.base + path)
        if response is None or response.status != status:
            got = response.status if response else "nothing"
            self.problems.append(f"[{self.label}] {path}: HTTP {got}, expected {status}")
            return
        if urlsplit(response.url).path != path:
            self.problems.append(f"[{self.label}] {path}: redirected to {response.url}")
            return
        content_type = response.headers.get("content-type", "")
        if not content_type.startswith("text/html"):
            self.problems.append(
                f"[{self.label}] {path}: {content_type}, not a page — exclude it in NOT_PAGES"
            )
            return
        self.check(path)

    def refused(self, path: str, form: str = "main form[novalidate]") -> None:
        """The page after its form was sent empty: fields and form errors on show."""
        self.page.goto(self.base + path)
        self.page.locator(f"{form} button[type=submit]").first.click()
        self.page.wait_for_selector("[aria-invalid='true'], .form-errors")
        self.check(f"{path} (refused)")

    def not_a_page(self, path: str) -> None:
        """An excluded route must not be a page: a download, an image, or a redirect."""
        response = self.page.request.get(self.base + path, max_redirects=0)
        html = response.headers.get("content-type", "").startswith("text/html")
        if not (300 <= response.status < 400 or (response.ok and not html)):
            self.problems.append(
                f"[{self.label}] {path}: excluded as not a page, but answers "
                f"{response.status} {response.headers.get('content-type')}"
            )

    def sign_in(self, email: str, password: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        with self.page.expect_navigation():
            self.page.click("main form button[type=submit]")
        assert urlsplit(self.page.url).path != "/login", f"{email} could not sign in"

    def sign_out(self) -> None:
        button = self.page.locator("form[action$='/logout'] button:visible")
        if not button.count():  # a distributor's phone: signing out is on the "Me" tab
            self.page.goto(self.base + "/me/account")
        with self.page.expect_navigation():
            button.first.click()


def walk_public(walk: Walk, app: Flask, seeded: Seeded) -> None:
    for path in ("/", "/login", "/join", f"/join/{seeded.distributor_code}"):
        walk.visit(path)
    walk.visit("/join/NOSUCHCODE", 404)
    walk.visit("/r/NOSUCHCODE", 404)  # the shop's URL is set: "unknown link"
    shop_url = app.config["WOO_STORE_URL"]
    app.config["WOO_STORE_URL"] = ""
    try:
        walk.visit("/r/NOSUCHCODE", 503)  # no shop yet: "links unavailable"
    finally:
        app.config["WOO_STORE_URL"] = shop_url
    walk.visit("/no-such-page", 404)
    walk.visit("/password/forgot")
    walk.visit("/password/reset/not-a-link", 404)
    walk.refused("/login")
    walk.refused("/join")
    walk.refused("/password/forgot")
    walk_shop_signin(walk, app)


def walk_shop_signin(walk: Walk, app: Flask) -> None:
    """The refusal page, and the one-tap join page a shop identity leads to."""
    walk.visit("/woocommerce/signin", 403)  # no sign-in secret: not set up
    walk.visit("/join/shop", 400)  # no shop identity waiting
    secret = "axe-walk-signin-secret-0123456789abcdef"
    app.config["WOO_SIGNIN_SECRET"] = secret
    try:
        now = int(time.time())
        claims = {"iss": demo.SHOP_URL, "sub": "9001", "email": "axe@example.com"}
        claims |= {"name": "Axe", "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex}
        token = jwt.encode(claims, secret, algorithm="HS256")
        walk.page.goto(f"{walk.base}/woocommerce/signin?token={token}")
        if urlsplit(walk.page.url).path != "/join/shop":
            walk.problems.append(f"[{walk.label}] shop sign-in led to {walk.page.url}")
        else:
            walk.check("/join/shop (from the shop)")
    finally:
        app.config["WOO_SIGNIN_SECRET"] = ""


def walk_area(walk: Walk, pages: dict[str, str], area: str) -> None:
    for endpoint, path in sorted(pages.items()):
        if not path.startswith(area + "/"):
            continue
        if endpoint in NOT_PAGES:
            walk.not_a_page(path)
        else:
            walk.visit(path)


def test_every_page_passes_axe_in_both_languages_on_phone_and_desktop(
    app: Flask, live_server: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    axe_source()  # installs axe-core (or skips) before any time is spent seeding
    monkeypatch.setitem(app.config, "WOO_STORE_URL", demo.SHOP_URL)
    seeded = seed(app)
    pages = urls(app, seeded)
    problems: list[str] = []
    started = time.monotonic()
    for locale, (browser_locale, lang) in LOCALES.items():
        for width, viewport in WIDTHS.items():
            context = browser.new_context(locale=browser_locale, viewport=viewport)
            walk = Walk(context.new_page(), live_server, lang, f"{locale} {width}")
            try:
                walk_public(walk, app, seeded)
                walk.sign_in(seeded.distributor_email, demo.DISTRIBUTOR_PASSWORD)
                walk_area(walk, pages, "/me")
                walk.visit("/account/password")
                walk.refused("/account/password")
                walk.refused("/me/withdrawals/accounts", "#payout-account-form")
                walk.visit("/admin/", 403)
                walk.sign_out()
                walk.sign_in(*demo.ADMIN_LOGIN)
                walk_area(walk, pages, "/admin")
                walk.refused("/admin/distributors/new")
                walk.refused("/admin/campaigns/new", "#campaign-form")
                walk.refused("/admin/tokens")
                walk.refused("/admin/staff")
            finally:
                context.close()
            problems += walk.problems
    took = time.monotonic() - started
    print(f"axe: {len(pages)} routes, {len(LOCALES) * len(WIDTHS)} passes, {took:.0f} s")
    assert problems == [], "\n" + "\n".join(problems)
