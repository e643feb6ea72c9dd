"""Public and API endpoints: rate limits with 429 + Retry-After, size limits with 413, error
bodies in each area's own format, and CORS only for configured origins."""

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from wangge.accounts.actions import issue_token
from wangge.core.tests.fixtures import World

API_ERROR_KEYS = {"field", "code", "message"}


def api_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"}
    (error,) = body["errors"]
    assert set(error) == API_ERROR_KEYS
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
def token(world: World) -> str:
    return issue_token(user=world.users["dispatcher"], name="test")[1]


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


# --- 429 in every area ----------------------------------------------------------------------


@pytest.mark.urls("wangge.core.tests.urls_limited")
def test_a_rate_limited_page_shows_a_page_with_retry_after(client: Client, db: Any) -> None:
    response = client.get("/limited/")
    assert response.status_code == 429
    assert response["Retry-After"] == "42"
    assert response["Content-Type"].startswith("text/html")
    assert "请求过于频繁" in response.content.decode()
    assert "42" in response.content.decode()


@pytest.mark.urls("wangge.core.tests.urls_limited")
def test_a_rate_limited_api_call_gets_the_api_error_body(client: Client, db: Any) -> None:
    response = client.get("/api/limited/")
    api_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "42"


@pytest.mark.urls("wangge.core.tests.urls_limited")
def test_a_rate_limited_open311_call_gets_the_open311_error_format(client: Client, db: Any) -> None:
    response = client.get("/open311/v2/requests.json")
    assert response.status_code == 429
    assert response["Retry-After"] == "42"
    (error,) = response.json()
    assert error["code"] == 429
    assert "42" in error["description"]

    response = client.get("/open311/v2/requests.xml")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/xml")
    text = response.content.decode()
    assert "<errors><error><code>429</code><description>" in text


# --- the staff API's own limits ---------------------------------------------------------------


def test_the_api_limits_each_token_and_only_that_token(
    client: Client, world: World, token: str, settings: Any
) -> None:
    settings.WANGGE_API_RATE_PER_TOKEN = 3
    for _ in range(3):
        assert client.get("/api/v1/categories", headers=bearer(token)).status_code == 200
    response = client.get("/api/v1/categories", headers=bearer(token))
    api_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60

    other = issue_token(user=world.users["dispatcher"], name="second")[1]
    assert client.get("/api/v1/categories", headers=bearer(other)).status_code == 200


def test_calls_without_a_valid_token_are_limited_per_address(
    client: Client, token: str, settings: Any
) -> None:
    settings.WANGGE_API_RATE_PER_IP = 3
    assert client.get("/api/v1/categories").status_code == 401
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/api/v1/categories", headers=bearer("not-a-token")).status_code == 401
    response = client.get("/api/v1/categories", headers=bearer("still-not-a-token"))
    api_error(response, 429, "rate_limited")
    assert "Retry-After" in response
    api_error(client.get("/api/v1/openapi.json"), 429, "rate_limited")

    # Another address has its own count, and a valid token is counted on the token.
    assert client.get("/api/v1/categories", REMOTE_ADDR="198.51.100.7").status_code == 401
    assert client.get("/api/v1/categories", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("authorization", ["", "Basic dXNlcjpwYXNz", "Bearer", "Bearer no"])
@pytest.mark.parametrize("path", ["/api/v1/categories", "/api/v1/openapi.json", "/api/v1/nope"])
def test_no_kind_of_authorization_header_escapes_the_address_limit(
    client: Client, db: Any, settings: Any, authorization: str, path: str
) -> None:
    settings.WANGGE_API_RATE_PER_IP = 2
    headers = {"Authorization": authorization}
    statuses = [client.get(path, headers=headers).status_code for _ in range(3)]
    assert 429 not in statuses[:2]
    assert statuses[2] == 429


def test_pages_do_not_count_against_the_api_limit(client: Client, db: Any, settings: Any) -> None:
    settings.WANGGE_API_RATE_PER_IP = 1
    for _ in range(3):
        assert client.get("/accounts/login/").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


# --- request size -----------------------------------------------------------------------------


def test_a_body_over_the_request_cap_is_refused_before_it_is_read(
    client: Client, token: str, settings: Any
) -> None:
    settings.WANGGE_MAX_REQUEST_BYTES = 2048
    body = json.dumps({"title": "x" * 4000})
    response = client.post(
        "/api/v1/cases", body, content_type="application/json", headers=bearer(token)
    )
    api_error(response, 413, "too_large")

    response = client.post("/accounts/login/", {"username": "x" * 4000, "password": "p"})
    assert response.status_code == 413
    assert "内容过大" in response.content.decode()


def test_a_json_body_over_the_data_limit_gets_413_in_the_api_format(
    client: Client, token: str, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"title": "x" * 4000})
    response = client.post(
        "/api/v1/cases", body, content_type="application/json", headers=bearer(token)
    )
    api_error(response, 413, "too_large")


def test_a_form_over_the_data_limit_gets_a_413_page(client: Client, db: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client.post("/accounts/login/", {"username": "x" * 4000, "password": "p"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")


def test_too_many_files_in_one_form_get_a_413_page(client: Client, db: Any, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"{i}.jpg", b"x", content_type="image/jpeg") for i in range(3)]
    response = client.post("/accounts/login/", {"username": "u", "photos": files})
    assert response.status_code == 413


# --- error bodies under /api/ -----------------------------------------------------------------


def test_unknown_api_paths_get_a_json_404(client: Client, token: str) -> None:
    api_error(client.get("/api/v1/no-such-thing", headers=bearer(token)), 404, "not_found")
    api_error(client.get("/api/v2/cases"), 404, "not_found")


def test_api_404s_are_json_in_debug_too(client: Client, db: Any, settings: Any) -> None:
    settings.DEBUG = True
    api_error(client.get("/api/v2/cases"), 404, "not_found")


def test_pages_keep_their_html_404(client: Client, db: Any) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_unknown_open311_paths_answer_in_the_open311_format(client: Client, db: Any) -> None:
    response = client.get("/open311/no-such-thing.json")
    assert response.status_code == 404
    assert response.json()[0]["code"] == 404
    response = client.get("/open311/no-such-thing.xml")
    assert response.status_code == 404
    assert "<code>404</code>" in response.content.decode()


def test_a_wrong_method_under_the_api_gets_a_json_405_with_allow(
    client: Client, token: str
) -> None:
    response = client.delete("/api/v1/categories", headers=bearer(token))
    error = api_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    assert "DELETE" in error["message"]


def test_a_server_error_under_the_api_is_json_and_pages_keep_html(
    world: World, token: str, monkeypatch: Any
) -> None:
    from wangge.cases import selectors

    def broken() -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "category_list", broken)
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/categories", headers=bearer(token))
    error = api_error(response, 500, "server_error")
    assert "boom" not in error["message"]

    monkeypatch.setattr("wangge.core.views.scope_of", broken)
    from wangge.core.tests.fixtures import login_as

    login_as(client, world.users["dispatcher"])
    response = client.get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


# --- CORS -------------------------------------------------------------------------------------

ORIGIN = "https://app.example.org"


def test_without_configuration_no_origin_is_allowed(client: Client, token: str) -> None:
    response = client.get("/api/v1/categories", headers={**bearer(token), "Origin": ORIGIN})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_a_configured_origin_may_call_the_api_without_credentials(
    client: Client, token: str, settings: Any
) -> None:
    settings.WANGGE_CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = client.get("/api/v1/categories", headers={**bearer(token), "Origin": ORIGIN})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response
    assert "Origin" in response["Vary"]

    other = client.get(
        "/api/v1/categories", headers={**bearer(token), "Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in other
    assert "Origin" in other["Vary"]


def test_a_preflight_from_a_configured_origin_is_answered(
    client: Client, db: Any, settings: Any
) -> None:
    settings.WANGGE_CORS_ALLOWED_ORIGINS = [ORIGIN]
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = client.options("/api/v1/cases", headers=headers)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in response

    refused = client.options("/api/v1/cases", headers={**headers, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused


def test_cors_never_reaches_the_pages(client: Client, db: Any, settings: Any) -> None:
    settings.WANGGE_CORS_ALLOWED_ORIGINS = [ORIGIN]
    response = client.get("/accounts/login/", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response
    preflight = client.options(
        "/accounts/login/", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in preflight


def test_a_wildcard_allows_any_origin_but_still_no_credentials(
    client: Client, token: str, settings: Any
) -> None:
    settings.WANGGE_CORS_ALLOWED_ORIGINS = ["*"]
    response = client.get(
        "/api/v1/categories", headers={**bearer(token), "Origin": "https://any.example"}
    )
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response
