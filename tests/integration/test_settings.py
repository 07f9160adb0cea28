"""The settings page: every rule in one place, validated, each change audited."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.settings import services as settings
from tests.helpers import csrf_token

VALID = {
    "recruitment_mode": "apply",
    "recruitment_threshold": "100",
    "default_locale": "en",
    "currency": "cny",
    "return_window_days": "14",
    "binding_days": "30",
    "max_depth": "2",
    "self_purchase": "everyone",
    "min_withdrawal": "50",
    "withdrawal_fee_percent": "1.5",
    "withdrawal_fee_fixed": "0",
    "withdrawal_daily_limit": "5000",
    "withdrawal_auto_approve_below": "0",
    "adjustment_approval_above": "1000",
    "adjustment_limit_ops": "10000",
    "risk_self_purchase": "y",
    "risk_same_device": "ip",
    "risk_team_loop": "y",
    "risk_velocity_per_hour": "0",
    "risk_large_order": "0",
    "coupon_percent": "10",
    "coupon_usage_limit": "0",
    "coupon_usage_limit_per_user": "0",
    "coupon_valid_days": "0",
    "store_credit_bonus_percent": "0",
}


def post(client, **changes: str):
    data = {**VALID, **changes, "csrf_token": csrf_token(client, "/admin/settings")}
    return client.post("/admin/settings", data={k: v for k, v in data.items() if v is not None})


def test_saving_settings_audits_each_change(app: Flask, admin_client) -> None:
    assert post(admin_client).status_code == 302
    with app.app_context():
        values = settings.all_values()
        assert (values["currency"], values["return_window_days"]) == ("CNY", 14)
        assert (values["max_depth"], values["self_purchase"]) == (2, "everyone")
        actions = {e.target_id: (e.before, e.after) for e in db.session.scalars(select(AuditEntry))}
    assert actions["return_window_days"] == ({"value": 7}, {"value": 14})
    assert actions["withdrawal_fee_percent"] == ({"value": "0"}, {"value": "1.5"})
    with app.app_context():
        assert settings.get("min_withdrawal") == Decimal("50")
        assert settings.get("withdrawal_fee_percent") == Decimal("1.5")
    assert "default_locale" not in actions  # unchanged: not audited
    assert "Nothing changed." in admin_client.get(post(admin_client).headers["Location"]).get_data(
        as_text=True
    )


def test_bad_settings_are_field_errors(app: Flask, admin_client) -> None:
    for field, value in (
        ("currency", "EURO"),
        ("return_window_days", "-1"),
        ("return_window_days", "many"),
        ("max_depth", "4"),
        ("self_purchase", "sometimes"),
        ("min_withdrawal", "-5"),
        ("withdrawal_fee_percent", "101"),
        ("withdrawal_fee_fixed", "NaN"),
        ("withdrawal_fee_fixed", "lots"),
        ("adjustment_approval_above", "-1"),
        ("adjustment_limit_ops", "1e12"),
    ):
        response = post(admin_client, **{field: value})
        assert response.status_code == 400, field
        assert f'id="{field}-error"' in response.get_data(as_text=True), field
    with app.app_context():
        assert settings.all_values()["currency"] == "USD"
        assert db.session.scalars(select(AuditEntry)).first() is None


def test_the_service_refuses_values_outside_the_spec(app: Flask) -> None:
    import pytest

    with app.app_context():
        for key, value in (
            ("max_depth", 5),
            ("return_window_days", True),
            ("currency", 3),
            ("min_withdrawal", Decimal("-1")),
            ("withdrawal_fee_percent", Decimal("NaN")),
            ("withdrawal_fee_fixed", 2.5),
        ):
            with pytest.raises(ValueError):
                settings.update({key: value}, None)  # type: ignore[arg-type]


def test_form_fields_carry_aria_attributes_only_when_they_mean_something(
    app: Flask, admin_client
) -> None:
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert '"None"' not in page
    assert 'aria-describedby="currency-hint"' in page  # every field here has a hint
    error = post(admin_client, currency="EURO").get_data(as_text=True)
    assert (
        'aria-invalid="true"' in error
        and 'aria-describedby="currency-error currency-hint"' in error
    )
