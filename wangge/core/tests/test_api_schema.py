"""Schemathesis drives every operation of /api/v1/openapi.json: no server error, and every
response (errors included) matches what the schema promises. Bounded (20 examples per operation
plus the coverage phase) and derandomised: the same run every time, well under a minute on an
idle machine."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from wangge.accounts.actions import issue_token
from wangge.cases.tests.helpers import GRID, report
from wangge.core.tests.fixtures import World
from wangge.territory.tests.factories import center_of
from wangge.wsgi import application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# Loaded once at collection: the schema needs no database, and one test per operation follows.
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json",
    application,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261124,
            "generation": {
                "deterministic": True,
                # The token is ours to send (below), not a parameter to fuzz.
                "with-security-parameters": False,
                # Unknown query parameters are ignored, as most APIs do; not a rejection case.
                "allow-extra-parameters": False,
            },
            # One wrong method per path is enough to see the JSON 405 (test_hardening has more).
            "phases": {"coverage": {"unexpected-methods": ["DELETE"]}},
        }
    ),
)


@dataclass
class Caller:
    token: str
    case_ids: list[int]
    lon: float
    lat: float


@pytest.fixture
def caller(world: World, settings: Any) -> Iterator[Caller]:
    # Many calls with one token inside a minute: the limit is not what is tested here.
    settings.WANGGE_API_RATE_PER_TOKEN = 1_000_000
    settings.WANGGE_API_RATE_PER_IP = 1_000_000
    # Schemathesis calls the WSGI handler directly, which would close the test's connection
    # (and roll back its transaction on PostgreSQL) at every request; Django's test client
    # disconnects the same receiver.
    request_started.disconnect(close_old_connections)
    try:
        # Cases in the dispatcher's scope, so generated ids can lead somewhere real.
        case_ids = [report(world).pk for _ in range(3)]
        token = issue_token(user=world.users["dispatcher"], name="schemathesis")[1]
        lon, lat = center_of(world.unit(GRID))
        yield Caller(token=token, case_ids=case_ids, lon=lon, lat=lat)
    finally:
        request_started.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_api_operation_answers_as_its_schema_says(case: Any, caller: Caller) -> None:
    case_id = (case.path_parameters or {}).get("case_id")
    if isinstance(case_id, int) and not isinstance(case_id, bool) and case_id % 2 == 0:
        # Half the valid ids become real cases: transitions then meet real states (200, 409,
        # 422), not only 404s.
        case.path_parameters["case_id"] = caller.case_ids[case_id % len(caller.case_ids)]
    body = case.body
    positive = case.meta is None or not case.meta.generation.mode.is_negative
    if (
        case.operation.label == "POST /api/v1/cases"
        and positive
        and isinstance(body, dict)
        and len(str(body.get("title", ""))) % 2 == 0
    ):
        # Half the valid intakes name a real category and a point inside a grid, so a case is
        # created (201) rather than refused for the category or the place.
        body.update(category="exposed_garbage", lon=caller.lon, lat=caller.lat)
    case.call_and_validate(headers={"Authorization": f"Bearer {caller.token}"}, checks=CHECKS)


def test_every_operation_refuses_a_call_without_a_token(client: Any, db: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operations = [(method, path) for path, item in spec["paths"].items() for method in item]
    assert len(operations) > 20
    for method, path in operations:
        response = getattr(client, method)(
            path.replace("{case_id}", "1"), content_type="application/json"
        )
        assert response.status_code == 401, (method, path)
        assert response.json()["errors"][0]["code"] == "unauthenticated"


def test_every_operation_documents_the_errors_any_call_can_get(client: Any, db: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            assert {"401", "413", "422", "429"} <= documented, (method, path, documented)
            error_schema = operation["responses"]["429"]["content"]["application/json"]["schema"]
            assert error_schema == {"$ref": "#/components/schemas/ErrorOut"}
