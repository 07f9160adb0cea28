"""Seed data for ``portal demo``: a believable programme a merchant can click through.

Deterministic (fixed random seed) so screenshots and bug reports match between machines.
Later features extend :func:`seed` with their own data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from portal.accounts.models import Role, User
from portal.campaigns.demo import seed_campaigns
from portal.distributors import codes
from portal.distributors.models import Distributor, DistributorRole, DistributorStatus, Level
from portal.extensions import db
from portal.links.poster_demo import seed_posters
from portal.materials.demo import seed_materials
from portal.orders.services import Attribution
from portal.timeutil import utcnow

ADMIN_LOGIN = ("admin@demo.example", "demo-admin-pass")
OPS_LOGIN = ("ops@demo.example", "demo-ops-pass")
DISTRIBUTOR_PASSWORD = "demo-distributor-pass"

_GIVEN = [
    "Wei",
    "Fang",
    "Lei",
    "Min",
    "Jun",
    "Hui",
    "Ling",
    "Tao",
    "Yan",
    "Jing",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Zoe",
    "Leo",
]
_FAMILY = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Smith",
    "Brown",
    "Garcia",
    "Müller",
    "Rossi",
    "Kim",
    "Tanaka",
    "Nguyen",
]
_NOTES = [
    "I run a 480-member WeChat group for parents in my building.",
    "Food blogger, ~12k followers on Xiaohongshu.",
    "I share deals with my colleagues every week.",
    "Small agency; we manage three community stores.",
]


def _role_for(n: int, parent: Distributor | None) -> DistributorRole:
    """Top of the tree: a mix of all three roles; agents recruit sub-agents, the others
    recruit affiliates (shoppers and creators)."""
    if parent is None:
        roles = list(DistributorRole)
        return roles[n % len(roles)]
    if parent.role is DistributorRole.AGENT:
        return DistributorRole.AGENT
    return DistributorRole.AFFILIATE


@dataclass(frozen=True)
class DemoLogin:
    label: str
    email: str
    password: str


def is_seeded() -> bool:
    return (db.session.scalar(select(func.count(User.id))) or 0) > 0


def _levels() -> list[Level]:
    specs = [
        ("Member", 1, "10", "3", "1", None, None, None, None),
        ("Partner", 2, "12", "4", "1.5", "5000", 5, 20, 90),
        ("Director", 3, "15", "5", "2", "20000", 20, 80, 90),
    ]
    levels = []
    for name, rank, r1, r2, r3, sales, team, orders, window in specs:
        level = Level(
            name=name,
            rank=rank,
            rate_depth1=Decimal(r1),
            rate_depth2=Decimal(r2),
            rate_depth3=Decimal(r3),
            min_personal_sales=Decimal(sales) if sales else None,
            min_team_size=team,
            min_orders=orders,
            window_days=window,
        )
        db.session.add(level)
        levels.append(level)
    return levels


SHOP_URL = "https://shop.demo.example"
_PRODUCTS = [  # (product id, category, unit price, name)
    ("101", "tea", Decimal("68.00"), "Longjing green tea 西湖龙井 100 g"),
    ("102", "tea", Decimal("128.00"), "Aged Pu'er cake 普洱茶饼 357 g"),
    ("201", "snacks", Decimal("29.90"), "Spicy dried tofu 麻辣豆干 (6 packs)"),
    ("202", "snacks", Decimal("45.50"), "Walnut & date bites 枣夹核桃 500 g"),
    ("301", "skincare", Decimal("199.00"), "Rice water essence 米水精华 150 ml"),
    ("302", "skincare", Decimal("359.00"), "Camellia night cream 山茶花晚霜 50 ml"),
    ("401", "gift-cards", Decimal("200.00"), "Gift card 礼品卡 ¥200"),
]
_REFERRERS = ["weixin.qq.com", "www.xiaohongshu.com", "m.weibo.cn", "t.co", None]
# Sub-ids creators put on their links (?sub=), one per post or channel. Drawn from their
# own random sequence so the rest of the demo stays what it was.
_SUBS = ["douyin-0312", "xhs-note-12", "wechat-group", "weibo-live", None]
_SUB_RNG = random.Random(2020)


def _catalogue() -> None:
    from portal.catalogue.models import Product

    for pid, category, price, name in _PRODUCTS:
        slug = name.split(" ")[0].lower() + "-" + pid
        db.session.add(
            Product(
                product_id=pid,
                name=name,
                price=str(price),
                permalink=f"{SHOP_URL}/product/{slug}/",
                category_ids=[category],
            )
        )


def _plans_and_settings(admin: User) -> None:
    """A plan per role, like a merchant would set them up (CNY shop, 7-day returns)."""
    from portal.commissions.models import CommissionPlan, PlanExclusion, PlanOverride
    from portal.settings import services as settings

    settings.update({"currency": "CNY"}, admin)
    affiliate = CommissionPlan(
        role=DistributorRole.AFFILIATE.value,
        max_depth=2,
        rate_depth1=Decimal("10"),
        rate_depth2=Decimal("3"),
        rate_depth3=Decimal("0"),
        basis="product",
        cap_percent=Decimal("20"),
    )
    leader = CommissionPlan(
        role=DistributorRole.GROUP_LEADER.value,
        max_depth=3,
        rate_depth1=Decimal("12"),
        rate_depth2=Decimal("4"),
        rate_depth3=Decimal("1.5"),
        basis="product",
        cap_percent=Decimal("25"),
    )
    agent = CommissionPlan(
        role=DistributorRole.AGENT.value,
        max_depth=3,
        rate_depth1=Decimal("15"),
        rate_depth2=Decimal("5"),
        rate_depth3=Decimal("2"),
        basis="order",
        cap_percent=Decimal("25"),
        network_sale_days=60,
    )
    for plan in (affiliate, leader, agent):
        plan.exclusions = [PlanExclusion(product_id="401")]  # gift cards earn nothing
        plan.renewal_rate, plan.renewal_months = Decimal("5"), 12  # subscriptions: a year
        db.session.add(plan)
    leader.overrides = [
        PlanOverride(
            scope="category", target_id="skincare", depth=1, kind="percent", value=Decimal("18")
        ),
        PlanOverride(scope="product", target_id="102", depth=1, kind="fixed", value=Decimal("15")),
    ]
    affiliate.overrides = [
        PlanOverride(
            scope="category", target_id="snacks", depth=1, kind="percent", value=Decimal("6")
        ),
    ]
    db.session.flush()


def _attribution(rng: random.Random, seller: Distributor, created: datetime) -> Attribution:
    """Evidence shaped like :func:`portal.orders.attribution.resolve` records it."""
    from portal.orders.services import Attribution

    method = rng.choices(["coupon", "ref_meta", "utm", "binding"], weights=[4, 3, 2, 1])[0]
    evidence: dict[str, object] = {
        "coupons": [seller.code] if method == "coupon" else [],
        "portal_ref": seller.code if method == "ref_meta" else None,
        "utm": {"utm_source": "portal", "utm_campaign": seller.code} if method == "utm" else {},
        "matched": seller.code,
    }
    if method == "binding":
        bound = created - timedelta(days=rng.randint(3, 20))
        evidence["bound_at"] = bound.isoformat()
        evidence["expires_at"] = (bound + timedelta(days=30)).isoformat()
    referrer = _SUB_RNG.choice(_REFERRERS)
    if referrer:
        evidence["referrer_host"] = referrer
    sub = _SUB_RNG.choice(_SUBS)
    if sub and method in ("ref_meta", "utm"):
        evidence["sub_id"] = sub
    return Attribution(seller.id, method, evidence)


def _orders(
    rng: random.Random, sellers: list[Distributor], star: Distributor, now: datetime
) -> None:
    """~300 orders over 90 days through the real store-and-apply path, each applied at
    the time it was placed (so charts and "this month" show history); a fifth of them
    are the sample distributor's, so the demo login has full screens."""
    from portal.commissions.services import apply_order, mature_commissions
    from portal.orders.services import LineData, OrderData, store_order

    for n in range(300):
        seller = star if rng.random() < 0.2 else rng.choice(sellers)
        created = now - timedelta(days=rng.uniform(0, 90))
        lines = []
        for i, (pid, category, price, name) in enumerate(rng.sample(_PRODUCTS, rng.randint(1, 3))):
            qty = rng.randint(1, 3)
            lines.append(LineData(str(i + 1), pid, qty, price * qty, (category,), name=name))
        roll = rng.random()
        status = "completed" if roll < 0.7 else "processing" if roll < 0.9 else "refunded"
        completed = created + timedelta(days=2) if status != "processing" else None
        stored = store_order(
            OrderData(
                shop_order_id=str(5000 + n),
                number=str(5000 + n),
                status=status,
                currency="CNY",
                created_at=created,
                modified_at=completed or created,
                completed_at=completed if status == "completed" else None,
                lines=tuple(lines),
                customer_email=f"customer{rng.randint(1, 200)}@mail.example",
                attribution=_attribution(rng, seller, created),
            )
        )
        apply_order(stored.order_id, created)
    mature_commissions(now)


def _clicks(
    rng: random.Random, sellers: list[Distributor], star: Distributor, now: datetime
) -> None:
    """Short-link clicks over 90 days: roughly 3–8 % of clicks become orders."""
    from sqlalchemy import insert

    from portal.links.models import Click

    rows = []
    for seller in sellers:
        count = rng.randint(40, 120) if seller is not star else 900
        for _ in range(count):
            rows.append(
                {
                    "distributor_id": seller.id,
                    "product_id": rng.choice([None, *(p[0] for p in _PRODUCTS)]),
                    "visitor_hash": f"{rng.getrandbits(128):032x}",
                    "referrer_host": rng.choice(_REFERRERS),
                    "sub_id": _SUB_RNG.choice(_SUBS),
                    "created_at": now - timedelta(days=rng.uniform(0, 90)),
                }
            )
    db.session.execute(insert(Click), rows)
    db.session.flush()


def _creator(star: Distributor) -> None:
    """The sample distributor shares as a creator: a vanity code and a link to a page of
    the shop (their sub-id statistics come from the orders and clicks above)."""
    from portal.distributors import vanity
    from portal.links.models import DeepLink

    letters = "".join(ch for ch in star.display_name if ch.isascii() and ch.isalnum())
    vanity.choose(star, f"{letters.upper()[:10]}PICKS", star.user)
    db.session.add(
        DeepLink(distributor_id=star.id, slug="tea2026", url=f"{SHOP_URL}/product-category/tea/")
    )
    db.session.flush()


def _pickup(leader: Distributor, admin: User, now: datetime) -> None:
    """A group leader's approved pickup point with a day's pick list: orders collected
    there (some handed over already), through the real store-and-apply path."""
    from portal.commissions.services import apply_order
    from portal.orders.services import Attribution, LineData, OrderData, Referral, store_order
    from portal.pickup import rounds
    from portal.pickup import services as pickup
    from portal.pickup.models import Handover

    point = pickup.save(
        leader,
        "Sunflower Estate gate 2",
        "18 Garden Road, Building 3",
        "Mon–Sat 9:00–20:00",
        leader.user,
    )
    pickup.review(point.id, admin, approve=True, note=None)
    buyers = ["Mei W.", "Jun L.", "Dave B.", "Hui Z.", "Anna K.", "Tao C.", "Lin Y.", "Sam P."]
    for n, buyer in enumerate(buyers * 2):
        created = now - timedelta(hours=2 + n * 5)
        pid, category, price, name = _PRODUCTS[n % len(_PRODUCTS)]
        qty = 1 + n % 3
        stored = store_order(
            OrderData(
                shop_order_id=str(7000 + n),
                number=str(7000 + n),
                status="processing" if n % 5 else "on-hold",
                currency="CNY",
                created_at=created,
                modified_at=created,
                lines=(LineData("1", pid, qty, price * qty, (category,), name=name),),
                customer_email=f"pickup{n}@mail.example",
                attribution=Attribution(
                    leader.id,
                    "pickup",
                    {"matched": leader.code, "pickup_point": point.id, "coupons": [], "utm": {}},
                ),
                referral=Referral(
                    pickup_code=leader.code, pickup_point=point.id, pickup_buyer=buyer
                ),
            )
        )
        apply_order(stored.order_id, created)
        if n >= 8 and n % 5:
            db.session.add(
                Handover(order_id=stored.order_id, point_id=point.id, by_user_id=leader.user_id)
            )
    # Two group-buy rounds: one closed (what to order from the shop), one open.
    products = [p[0] for p in _PRODUCTS[:4]]
    rounds.open_round(
        "Weekend tea & snacks",
        products,
        now - timedelta(days=4),
        now - timedelta(hours=1),
        None,
        admin,
    )
    rounds.open_round(
        "Mid-autumn gifts",
        products[:2],
        now - timedelta(hours=1),
        now + timedelta(days=2),
        None,
        admin,
    )
    db.session.flush()


def _subscription(star: Distributor, now: datetime) -> None:
    """A tea subscription the sample distributor sold, renewed twice (the shop's
    subscriptions): each renewal credited to them at the plan's renewal rate."""
    from portal.commissions.services import apply_order
    from portal.orders.services import Attribution, LineData, OrderData, Referral, store_order

    pid, category, price, name = _PRODUCTS[0]
    first = None
    for n in range(3):
        created = now - timedelta(days=65 - 30 * n)
        if n == 0:
            attribution = Attribution(
                star.id,
                "ref_meta",
                {"coupons": [], "portal_ref": star.code, "utm": {}, "matched": star.code},
            )
        else:
            attribution = Attribution(
                star.id,
                "renewal",
                {
                    "renewal_of": "6100",
                    "renewal_of_id": first,
                    "renewal_number": n,
                    "renewal_months": n,
                },
            )
        stored = store_order(
            OrderData(
                shop_order_id=str(6100 + n),
                number=str(6100 + n),
                status="completed",
                currency="CNY",
                created_at=created,
                modified_at=created + timedelta(days=1),
                completed_at=created + timedelta(days=1),
                lines=(LineData("1", pid, 1, price, (category,), name=f"{name} (monthly)"),),
                customer_email="subscriber@mail.example",
                attribution=attribution,
                referral=Referral(renewal_of="6100" if n else None),
            )
        )
        first = first or stored.order_id
        apply_order(stored.order_id, created)
    db.session.flush()


def _payouts(star: Distributor, admin: User, now: datetime) -> None:
    """The sample distributor's coupon, payout account and two withdrawals (one paid)."""
    from portal.distributors.models import PersonalCoupon
    from portal.withdrawals import services as withdrawals
    from portal.withdrawals.models import PayoutMethod

    db.session.add(
        PersonalCoupon(
            distributor_id=star.id, code=star.code, shop_coupon_id="0", percent="10", synced=True
        )
    )
    db.session.flush()
    account = withdrawals.add_account(
        star.id, PayoutMethod.ALIPAY, star.display_name, "13800138000"
    )
    available = withdrawals.balance(star.id).available
    if available >= Decimal("200"):
        paid = withdrawals.request_withdrawal(star.id, Decimal("100"), account.id)
        withdrawals.approve(paid.id, admin)
        withdrawals.pay(paid.id, admin, "ALIPAY-DEMO-0001")
        withdrawals.request_withdrawal(star.id, Decimal("50"), account.id)


def _money_rules(star: Distributor, admin: User, now: datetime) -> None:
    """What the guard rails look like in use: an order of the sample distributor's
    rejected in risk review, one refunded after its commission was paid out (a negative
    carry), and the closed campaign's bonus reduced by a refund before it matured."""
    from portal.campaigns import settlement
    from portal.campaigns.models import Campaign, CampaignAward
    from portal.commissions.models import Commission, CommissionState
    from portal.commissions.services import apply_order
    from portal.orders.models import Order
    from portal.orders.services import LineData, OrderData, store_order
    from portal.risk import review
    from portal.risk.models import RiskFlag

    placed = now - timedelta(days=2)
    suspicious = OrderData(
        shop_order_id="5900",
        number="5900",
        status="processing",
        currency="CNY",
        created_at=placed,
        modified_at=placed,
        lines=(LineData("1", _PRODUCTS[0][0], 1, _PRODUCTS[0][2], (_PRODUCTS[0][1],)),),
        customer_email="same.person@mail.example",
        attribution=Attribution(star.id, "coupon", {"code": star.code}),
    )
    order_id = store_order(suspicious).order_id
    db.session.add(
        RiskFlag(
            order_id=order_id,
            distributor_id=star.id,
            rule="same_device",
            evidence={"seen": "the distributor's own phone"},
        )
    )
    apply_order(order_id, placed)
    review.decide(order_id, admin, release=False, reason="Own purchase with another email")

    def refund_in_full(order: Order, at: datetime) -> None:
        lines = tuple(
            LineData(
                line.shop_line_id,
                line.product_id,
                line.qty,
                line.total,
                tuple(line.category_ids),
                refunded_total=line.total,
                name=line.name,
            )
            for line in order.lines
        )
        copy = OrderData(
            shop_order_id=order.shop_order_id,
            number=order.number,
            status="refunded",
            currency=order.currency,
            created_at=order.created_at_shop,
            modified_at=at,
            lines=lines,
            customer_email=order.customer_email,
        )
        apply_order(store_order(copy).order_id, at)

    paid = db.session.scalar(
        select(Order)
        .join(Commission, Commission.order_id == Order.id)
        .where(Commission.beneficiary_id == star.id, Commission.state == CommissionState.PAID)
        .order_by(Order.id)
        .limit(1)
    )
    if paid is not None:
        refund_in_full(paid, now - timedelta(hours=5))
    # The closed race's narrowest tier winner loses sales (refunds) below the tier.
    race = db.session.scalar(select(Campaign).where(Campaign.name == "Summer sales race"))
    narrowest = db.session.scalar(
        select(CampaignAward)
        .where(CampaignAward.campaign_id == race.id, CampaignAward.award_key.startswith("tier:"))
        .order_by(CampaignAward.value)
        .limit(1)
    )
    if narrowest is not None:
        target = Decimal(narrowest.award_key.removeprefix("tier:"))
        left = narrowest.value
        for order in db.session.scalars(
            select(Order)
            .where(
                Order.distributor_id == narrowest.distributor_id,
                Order.status == "completed",
                Order.created_at_shop >= race.starts_at,
                Order.created_at_shop < race.ends_at,
            )
            .order_by(Order.net_total.desc())
        ).all():
            if left < target:
                break
            left -= order.net_total
            refund_in_full(order, now - timedelta(hours=1))
        settlement.settle_awards(now + settlement.SETTLE)


def seed(size: int = 60) -> list[DemoLogin]:
    """Fill an empty database (flushed; the command commits); returns the logins to
    print."""
    rng = random.Random(20261125)
    now = utcnow()
    admin = User(email=ADMIN_LOGIN[0], role=Role.ADMIN)
    admin.set_password(ADMIN_LOGIN[1])
    ops = User(email=OPS_LOGIN[0], role=Role.OPS)
    ops.set_password(OPS_LOGIN[1])
    db.session.add_all([admin, ops])
    levels = _levels()
    # One hash for every demo distributor: hashing is deliberately slow.
    shared_hash = generate_password_hash(DISTRIBUTOR_PASSWORD)
    used_codes: set[str] = set()

    def new_distributor(n: int, parent: Distributor | None, depth: int) -> Distributor:
        given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
        user = User(
            email=f"{given}.{family}.{n}@demo.example".lower().replace("ü", "u"),
            password_hash=shared_hash,
            role=Role.DISTRIBUTOR,
            locale=rng.choice(["en", "zh_Hans"]),
        )
        code = "".join(rng.choice(codes.ALPHABET) for _ in range(codes.MIN_LENGTH))
        while code in used_codes:
            code = "".join(rng.choice(codes.ALPHABET) for _ in range(codes.MIN_LENGTH))
        used_codes.add(code)
        earliest = (
            parent.joined_at
            if parent is not None and parent.joined_at
            else now - timedelta(days=365)
        )
        joined = earliest + timedelta(days=rng.randint(1, max(2, (now - earliest).days - 1)))
        rank = rng.choices([0, 1, 2], weights=[6, 3, 1] if depth > 1 else [2, 3, 2])[0]
        distributor = Distributor(
            user=user,
            code=code,
            display_name=f"{given} {family}",
            status=DistributorStatus.ACTIVE,
            role=_role_for(n, parent),
            level=levels[rank],
            parent=parent,
            applied_at=joined - timedelta(hours=rng.randint(1, 48)),
            joined_at=joined,
            reviewed_by_id=None,
            reviewed_at=joined,
        )
        db.session.add(distributor)
        return distributor

    roots = [new_distributor(n, None, 1) for n in range(1, 6)]
    members = list(roots)
    n = len(members)
    second = []
    for root in roots:
        for _ in range(3):
            n += 1
            second.append(new_distributor(n, root, 2))
    members += second
    while len(members) < size - 8:
        n += 1
        members.append(new_distributor(n, rng.choice(second), 3))
    db.session.flush()
    for distributor in (members[-3], members[-7]):
        distributor.status = DistributorStatus.SUSPENDED
    # Applications waiting in the queue, some through invite links.
    for i in range(8):
        n += 1
        applicant = new_distributor(n, rng.choice(roots) if i % 2 else None, 2)
        applicant.status = DistributorStatus.APPLIED
        applicant.level = None
        applicant.joined_at = None
        applicant.reviewed_at = None
        applicant.applied_at = now - timedelta(hours=rng.randint(1, 96))
        applicant.application_note = rng.choice(_NOTES)
    _catalogue()
    db.session.flush()
    _plans_and_settings(admin)
    sellers = [m for m in members if m.status is DistributorStatus.ACTIVE]
    sample = second[0]  # a group leader's team member with a team of their own
    _orders(rng, sellers, sample, now)
    _clicks(rng, sellers, sample, now)
    _creator(sample)
    _subscription(sample, now)
    leader = next(r for r in roots if r.role is DistributorRole.GROUP_LEADER)
    _pickup(leader, admin, now)
    _payouts(sample, admin, now)
    seed_campaigns(admin)
    _money_rules(sample, admin, now)
    seed_materials(admin)
    seed_posters(admin)
    return [
        DemoLogin("admin", *ADMIN_LOGIN),
        DemoLogin("ops", *OPS_LOGIN),
        DemoLogin("distributor", sample.user.email, DISTRIBUTOR_PASSWORD),
        DemoLogin("group leader", leader.user.email, DISTRIBUTOR_PASSWORD),
    ]
