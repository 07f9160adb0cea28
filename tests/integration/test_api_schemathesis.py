"""Schemathesis against /api/v1/openapi.json, in-process on the Flask app: for every
documented operation, generated requests (valid and invalid) with a valid bearer token
never get a 5xx, and every response matches the schema the document gives for its status.

The database holds real data first — distributors in a team with a level, commissions
from stored orders, withdrawals in several states — so the lists have rows to shape.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation import GenerationMode

from portal.api import services as api
from portal.distributors.models import Distributor, DistributorStatus, Level
from portal.extensions import db
from portal.withdrawals.models import PayoutMethod
from tests.money import add_account, decide, earn, request

EXAMPLES = 30  # per operation and generation mode: 2 × 5 operations × 30 requests
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


@pytest.fixture
def api_token(app: Flask, plan, ops, make_distributor) -> str:
    lead, _ = make_distributor("lead@shop.example", name="Lead <b>")
    seller, _ = make_distributor("seller@shop.example", parent_id=lead)
    make_distributor("applied@shop.example", status=DistributorStatus.APPLIED)
    with app.app_context():
        db.session.add(gold := Level(name="Gold", rank=1))
        db.session.get(Distributor, lead).level = gold
        db.session.commit()
    earn(app, seller, "80.00", "5001")
    earn(app, lead, "12.34", "5002")
    bank = add_account(app, seller, PayoutMethod.BANK, "6222020200112233445", "ICBC")
    paid = request(app, seller, "30", bank)
    decide(app, ops, paid, "approve")
    decide(app, ops, paid, "pay", "REF-1")
    decide(app, ops, request(app, seller, "20", add_account(app, seller)), "reject", "typo")
    request(app, seller, "10", bank)
    with app.app_context():
        token = api.create_token("schemathesis")
        db.session.commit()
        return token


def test_api_matches_its_openapi_document(app: Flask, api_token: str) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {api_token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 5  # schemathesis leaves out the document itself

    for operation in operations:
        for mode in MODES:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                case.call_and_validate(
                    headers=headers, checks=[not_a_server_error, response_schema_conformance]
                )

            check()
