"""Token-authenticated /api/ calls go straight to their view (BearerApiMiddleware): what they
skip and what they still get (docs/decisions/0008-api-middleware.md)."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from wangge.accounts.actions import issue_token, revoke_token
from wangge.cases.models import Case
from wangge.cases.tests.helpers import GRID
from wangge.core.middleware import API_CSP
from wangge.core.tests.fixtures import World, login_as
from wangge.core.tests.test_i18n import english  # noqa: F401 (a fixture)
from wangge.territory.tests.factories import center_of


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def report(world: World, **overrides: Any) -> dict[str, Any]:
    lon, lat = center_of(world.unit(GRID))
    return {"category": "exposed_garbage", "title": "垃圾堆积", "lon": lon, "lat": lat, **overrides}


def test_a_token_call_gets_the_apis_own_strict_headers_and_no_cookie(
    client: Client, world: World
) -> None:
    raw = issue_token(user=world.users["dispatcher"], name="t")[1]
    response = client.get("/api/v1/categories", headers=bearer(raw))
    assert response.status_code == 200
    # Not the pages' policy with its nonce: a JSON answer loads nothing and is never framed.
    assert response["Content-Security-Policy"] == API_CSP
    assert response["X-Frame-Options"] == "DENY"
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_a_call_without_a_token_keeps_the_full_stack(client: Client, world: World) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] != API_CSP
    assert response["X-Frame-Options"] == "DENY"


def test_a_token_call_acts_as_the_tokens_user_never_the_sessions(
    client: Client, world: World
) -> None:
    login_as(client, world.users["dispatcher"])
    token, raw = issue_token(user=world.users["grid_worker"], name="t")
    response = client.post(
        "/api/v1/cases", report(world), content_type="application/json", headers=bearer(raw)
    )
    assert response.status_code == 201, response.content
    assert Case.objects.get(pk=response.json()["id"]).created_by == world.users["grid_worker"]

    revoke_token(token=token)
    response = client.get("/api/v1/cases", headers=bearer(raw))
    assert response.status_code == 401
    # Without a token the signed-in browser session is no credential for the API either.
    assert client.get("/api/v1/cases").status_code == 401


@pytest.mark.django_db
def test_a_token_call_still_answers_in_the_callers_language(
    english: None,  # noqa: F811
    client: Client,
    world: World,
) -> None:
    raw = issue_token(user=world.users["grid_worker"], name="t")[1]
    body = report(world, category="no_such_category")
    response = client.post(
        "/api/v1/cases",
        body,
        content_type="application/json",
        headers={**bearer(raw), "Accept-Language": "en"},
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error == {"field": "category", "code": "unknown", "message": "Unknown category"}
    assert response["Content-Language"] == "en"


def test_a_token_call_is_still_counted_and_limited(
    client: Client, world: World, settings: Any
) -> None:
    settings.WANGGE_API_RATE_PER_TOKEN = 2
    raw = issue_token(user=world.users["dispatcher"], name="t")[1]
    assert client.get("/api/v1/categories", headers=bearer(raw)).status_code == 200
    assert client.get("/api/v1/categories", headers=bearer(raw)).status_code == 200
    response = client.get("/api/v1/categories", headers=bearer(raw))
    assert response.status_code == 429
    assert response["Retry-After"]
    assert response["Content-Security-Policy"] == API_CSP


def test_the_shortcut_sits_after_the_guards_it_relies_on() -> None:
    """Size cap and rate limits, language and common handling run before it; everything that
    serves browser sessions after it."""
    order = [path.rsplit(".", 1)[1] for path in settings.MIDDLEWARE]
    here = order.index("BearerApiMiddleware")
    for before in (
        "RequestGuardMiddleware",
        "LocaleMiddleware",
        "CommonMiddleware",
        "CorsMiddleware",
    ):
        assert order.index(before) < here, before
    for after in (
        "SessionMiddleware",
        "CsrfViewMiddleware",
        "AuthenticationMiddleware",
        "MessageMiddleware",
        "ContentSecurityPolicyMiddleware",
        "AxesMiddleware",
    ):
        assert order.index(after) > here, after
