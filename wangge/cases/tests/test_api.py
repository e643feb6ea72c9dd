"""The staff JSON API: token auth, intake, every transition, list/detail, error bodies."""

import base64
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from PIL import Image

from wangge import apiauth
from wangge.accounts.actions import issue_token, revoke_token
from wangge.accounts.models import ApiToken, User
from wangge.cases.models import Case, CaseEvent, CasePhoto, Source, Status
from wangge.cases.tests.helpers import GRID, case_in, category, do, report
from wangge.cases.workflow import TRANSITIONS
from wangge.core.tests.fixtures import World
from wangge.territory import actions as territory_actions
from wangge.territory.models import DepartmentKind
from wangge.territory.tests.factories import center_of

OTHER_STREET_GRID = "110101002002002"


@dataclass
class Api:
    client: Client
    token: str

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, body: Any = None) -> Any:
        data = "" if body is None else json.dumps(body)
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self._headers()
        )


@pytest.fixture
def api_as(client: Client, world: World) -> Any:
    def make(name: str) -> Api:
        _token, raw = issue_token(user=world.users[name], name="test")
        return Api(client, raw)

    return make


def jpeg_b64(size: tuple[int, int] = (64, 48)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format="JPEG")
    return base64.b64encode(buffer.getvalue()).decode()


def intake(world: World, grid: str = GRID, **overrides: Any) -> dict[str, Any]:
    lon, lat = center_of(world.unit(grid))
    body: dict[str, Any] = {
        "category": "exposed_garbage",
        "title": "小区门口垃圾堆积",
        "description": "三天没人清运",
        "lon": lon,
        "lat": lat,
        "source": "grid_patrol",
        "reporter_name": "王女士",
        "reporter_phone": "13911112222",
    }
    body.update(overrides)
    return body


def only_error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"}
    assert body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"field", "code", "message"}
        assert item["message"]
    first: dict[str, Any] = body["errors"][0]
    return first


# --- authentication -------------------------------------------------------------------------


def test_it_refuses_a_request_without_a_token(client: Client, world: World) -> None:
    response = client.get("/api/v1/cases")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    error = only_error(response)
    assert error["field"] == "Authorization" and error["code"] == "unauthenticated"


def test_it_refuses_a_wrong_token(client: Client, world: World) -> None:
    response = client.get("/api/v1/cases", headers={"Authorization": "Bearer wg_not-a-token"})
    assert response.status_code == 401
    assert only_error(response)["field"] == "Authorization"


def test_it_refuses_a_revoked_token(client: Client, world: World) -> None:
    token, raw = issue_token(user=world.users["dispatcher"], name="phone")
    headers = {"Authorization": f"Bearer {raw}"}
    assert client.get("/api/v1/cases", headers=headers).status_code == 200
    revoke_token(token=token)
    response = client.get("/api/v1/cases", headers=headers)
    assert response.status_code == 401
    assert only_error(response)["field"] == "Authorization"


def test_it_refuses_the_token_of_a_deactivated_user(client: Client, world: World) -> None:
    user = world.users["dispatcher"]
    _token, raw = issue_token(user=user, name="phone")
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401


# Intake takes a token this process has read from its cache and checks it in the intake's own
# read (wangge.apiauth.TokenAuth(checked_later=True)): a revoked token must still get 401 on
# every path, and no case.


def _intake_with_a_cached_token(client: Client, world: World) -> tuple[Any, dict[str, str]]:
    token, raw = issue_token(user=world.users["dispatcher"], name="hotline")
    headers = {"Authorization": f"Bearer {raw}"}
    for _ in range(2):  # the first call writes last_used_at and is not cached; the second is
        response = client.post(
            "/api/v1/cases", json.dumps(intake(world)), "application/json", headers=headers
        )
        assert response.status_code == 201, response.content
    return token, headers


def test_intake_does_not_read_a_known_token_on_its_own(
    client: Client, world: World, django_assert_max_num_queries: Any
) -> None:
    _token, headers = _intake_with_a_cached_token(client, world)
    with django_assert_max_num_queries(16) as queries:
        response = client.post(
            "/api/v1/cases", json.dumps(intake(world)), "application/json", headers=headers
        )
    assert response.status_code == 201
    token_reads = [q["sql"] for q in queries.captured_queries if "key_hash" in q["sql"]]
    assert token_reads == []
    # The intake's own read asked whether this token is still valid: its id is a parameter.
    token_id = ApiToken.objects.get(name="hotline").pk
    read = [q for q in queries.captured_queries if "revoked_at" in q["sql"]]
    assert len(read) == 1 and str(token_id) in read[0]["sql"] + str(read[0].get("params", ""))


def test_each_call_with_a_cached_token_gets_its_own_token_and_user(
    rf: Any, world: World, django_assert_num_queries: Any
) -> None:
    """A request may change its user (its rights as stored now, say): the next request
    with the same cached token starts from the kept values again."""
    _token, raw = issue_token(user=world.users["dispatcher"], name="hotline")
    auth = apiauth.TokenAuth(checked_later=True)
    for _ in range(2):  # the first writes last_used_at and is not kept; the second is
        auth.authenticate(rf.post("/api/v1/cases"), raw)
    with django_assert_num_queries(0):
        first = auth.authenticate(rf.post("/api/v1/cases"), raw)
        first.is_superuser = True
        first.display_name = "changed"
        second = auth.authenticate(rf.post("/api/v1/cases"), raw)
    assert second is not first and second.pk == first.pk
    assert not second.is_superuser
    assert second.display_name == world.users["dispatcher"].display_name


@pytest.mark.parametrize(
    "body",
    [
        "valid",
        "schema_error",  # refused by the schema before the view runs
        "bad_photo",  # refused by the view before the intake reads anything
        "unknown_category",  # refused after the intake's read
        "not_json",
    ],
)
def test_a_cached_token_revoked_gets_401_on_every_path(
    client: Client, world: World, body: str
) -> None:
    token, headers = _intake_with_a_cached_token(client, world)
    before = Case.objects.count()
    revoke_token(token=token)
    payloads = {
        "valid": json.dumps(intake(world)),
        "schema_error": json.dumps(intake(world, title=None)),
        "bad_photo": json.dumps(intake(world, photos=["bm90IGEgcGhvdG8="])),
        "unknown_category": json.dumps(intake(world, category="no_such_category")),
        "not_json": "{not json",
    }
    response = client.post("/api/v1/cases", payloads[body], "application/json", headers=headers)
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Bearer"
    assert only_error(response)["field"] == "Authorization"
    assert Case.objects.count() == before
    # And the next call reads the token again: still refused.
    again = client.post(
        "/api/v1/cases", json.dumps(intake(world)), "application/json", headers=headers
    )
    assert again.status_code == 401


def test_a_cached_token_of_a_user_deactivated_since_gets_401(client: Client, world: World) -> None:
    _token, headers = _intake_with_a_cached_token(client, world)
    before = Case.objects.count()
    User.objects.filter(pk=world.users["dispatcher"].pk).update(is_active=False)
    response = client.post(
        "/api/v1/cases", json.dumps(intake(world)), "application/json", headers=headers
    )
    assert response.status_code == 401
    assert Case.objects.count() == before


def test_a_cached_token_revoked_over_its_limit_gets_401_not_429(
    client: Client, world: World, settings: Any
) -> None:
    token, headers = _intake_with_a_cached_token(client, world)
    revoke_token(token=token)
    settings.WANGGE_API_RATE_PER_TOKEN = 1  # already over it
    response = client.post(
        "/api/v1/cases", json.dumps(intake(world)), "application/json", headers=headers
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "overrides",
    [
        {"category": "exposed\u0000garbage"},
        {"idempotency_key": "a\u0000b"},
        {"title": "垃圾\u0000堆积"},
        {"answers": {"k": "a\u0000b"}},
    ],
)
def test_a_nul_character_is_refused_by_its_field_not_the_database(
    api_as: Any, world: World, overrides: dict[str, Any]
) -> None:
    before = Case.objects.count()
    response = api_as("dispatcher").post("/cases", intake(world, **overrides))
    assert response.status_code == 422, response.content
    assert only_error(response)["field"].split(".")[0] == next(iter(overrides))
    assert Case.objects.count() == before


def test_a_revoked_cached_token_never_has_its_last_use_refreshed(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wangge import apiauth

    token, headers = _intake_with_a_cached_token(client, world)
    revoke_token(token=token)
    token.refresh_from_db()
    stamped = token.last_used_at
    # A minute later: the cached last use is due for a refresh.
    later = timezone.now() + timedelta(seconds=apiauth.LAST_USED_RESOLUTION_SECONDS + 5)
    monkeypatch.setattr(apiauth.timezone, "now", lambda: later)
    response = client.post(
        "/api/v1/cases", json.dumps(intake(world)), "application/json", headers=headers
    )
    assert response.status_code == 401
    token.refresh_from_db()
    assert token.last_used_at == stamped


def test_a_cached_users_superuser_flag_is_as_stored_now(client: Client, world: World) -> None:
    """A demoted superuser's cached user must not keep its rights (resolving on the spot in
    any grid) for the minute the cache keeps it."""
    boss = world.users["superuser"]
    _token, raw = issue_token(user=boss, name="boss")
    headers = {"Authorization": f"Bearer {raw}"}
    far = intake(world, OTHER_STREET_GRID, source="grid_patrol")
    for _ in range(2):  # into the cache
        assert (
            client.post(
                "/api/v1/cases", json.dumps(far), "application/json", headers=headers
            ).status_code
            == 201
        )
    User.objects.filter(pk=boss.pk).update(is_superuser=False)
    on_spot = intake(world, OTHER_STREET_GRID, source="grid_patrol", resolve_on_spot=True)
    on_spot["result"] = "已清理"
    response = client.post(
        "/api/v1/cases", json.dumps(on_spot), "application/json", headers=headers
    )
    assert response.status_code == 403, response.content


def test_a_token_records_when_it_was_last_used(api_as: Any, world: World) -> None:
    api = api_as("dispatcher")
    api.get("/cases")
    token = world.users["dispatcher"].api_tokens.get()
    assert token.last_used_at is not None


def test_the_openapi_schema_loads_without_a_token_and_lists_every_transition(
    client: Client, world: World
) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/categories"]:
        assert path in paths
    assert "/api/v1/locate" in paths
    for action in TRANSITIONS:
        assert f"/api/v1/cases/{{case_id}}/{action}" in paths, action
    create = paths["/api/v1/cases"]["post"]
    assert {"201", "401", "422"} <= set(create["responses"])
    accept = paths["/api/v1/cases/{case_id}/accept"]["post"]
    assert {"200", "403", "404", "409", "422"} <= set(accept["responses"])


def test_a_body_that_is_not_json_is_a_400(api_as: Any, world: World) -> None:
    api = api_as("grid_worker")
    response = api.client.post(
        "/api/v1/cases", "{not json", content_type="application/json", headers=api._headers()
    )
    assert response.status_code == 400
    assert only_error(response)["code"] == "bad_request"


# --- intake ---------------------------------------------------------------------------------


def test_a_grid_worker_reports_a_case(api_as: Any, world: World) -> None:
    response = api_as("grid_worker").post("/cases", intake(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == Status.REPORTED
    assert body["grid"]["code"] == GRID
    assert body["handling_unit"]["code"] == GRID[:12]
    assert body["version"] == 1
    assert body["sla_status"] == "normal"
    assert [e["action"] for e in body["timeline"]] == ["report"]
    case = Case.objects.get(pk=body["id"])
    assert case.tracking_code == body["tracking_code"]
    assert case.created_by == world.users["grid_worker"]
    assert case.source == Source.GRID_PATROL


def test_the_response_is_utf8_json_not_ascii_escapes(api_as: Any, world: World) -> None:
    response = api_as("grid_worker").post("/cases", intake(world))
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "小区门口垃圾堆积".encode() in response.content


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"title": None}, "title", "missing"),
        ({"title": "   "}, "title", "required"),
        ({"title": "长" * 101}, "title", "string_too_long"),
        ({"category": "no_such_category"}, "category", "unknown"),
        ({"category": "environment"}, "category", "invalid"),  # a class, not a sub-class
        ({"lon": 100.0, "lat": 30.0}, "location", "outside"),
        ({"lon": None, "lat": None}, "location", "required"),
        ({"lon": 500}, "lon", "less_than_equal"),
        ({"source": "rumour"}, "source", "literal_error"),
        ({"reporter_phone": "abc"}, "reporter_phone", "invalid"),
        ({"category": "utilities"}, "answers.utility", "required"),
        ({"category": "utilities", "answers": {"utility": "网络"}}, "answers.utility", "invalid"),
        (
            {"category": "utilities", "answers": {"utility": "水", "households": "many"}},
            "answers.households",
            "invalid",
        ),
        (
            {"category": "utilities", "answers": {"utility": "水", "households": 0}},
            "answers.households",
            "invalid",
        ),
        (
            {"category": "utilities", "answers": {"utility": "水", "households": 1.5}},
            "answers.households",
            "invalid",
        ),
        ({"answers": {"floor": 3}}, "answers.floor", "invalid"),  # not a question of this one
        ({"photos": ["a" * 3]}, "photos.0", "bad_base64"),
        ({"photos": [base64.b64encode(b"%PDF-1.4 not a photo").decode()]}, "photos.0", "bad_type"),
    ],
)
def test_an_invalid_report_is_a_422_naming_the_field(
    api_as: Any, world: World, change: dict[str, Any], field: str, code: str
) -> None:
    body = intake(world)
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    response = api_as("grid_worker").post("/cases", body)
    assert response.status_code == 422, response.content
    error = only_error(response)
    assert (error["field"], error["code"]) == (field, code)
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [(None, "请填写标题"), ("zh-CN,zh;q=0.9", "请填写标题"), ("en", "Title is required.")],
    ids=["default", "chinese", "english"],
)
def test_an_error_message_speaks_the_request_language_only(
    client: Client, world: World, language: str | None, message: str
) -> None:
    """Machines read `field` and `code`; the message is for a person, in one language."""
    _token, raw = issue_token(user=world.users["grid_worker"], name="test")
    headers = {"Authorization": f"Bearer {raw}"}
    if language:
        headers["Accept-Language"] = language
    with translation.override(translation.get_language()):
        response = client.post(
            "/api/v1/cases",
            json.dumps(intake(world, title=" ")),
            content_type="application/json",
            headers=headers,
        )
    assert response.status_code == 422
    assert only_error(response) == {"field": "title", "code": "required", "message": message}


@pytest.mark.parametrize(
    ("change", "field", "chinese", "english"),
    [
        ({"lon": "east"}, "lon", "须为数字", "Must be a number."),
        ({"lon": 500}, "lon", "不能大于 180", "Must be at most 180."),
        ({"category": None}, "category", "请填写此项", "This field is required."),
        (
            {"priority": "nope"},
            "priority",
            "须为以下之一：normal、urgent、emergency",
            "Must be one of: normal, urgent, emergency.",
        ),
    ],
)
def test_schema_refusals_speak_the_request_language_too(
    client: Client,
    world: World,
    change: dict[str, Any],
    field: str,
    chinese: str,
    english: str,
) -> None:
    """pydantic writes its refusals in English; the API answers in the request's language."""
    _token, raw = issue_token(user=world.users["grid_worker"], name="test")
    body = {**intake(world), **change}
    body = {k: v for k, v in body.items() if v is not None}
    for language, message in ((None, chinese), ("en", english)):
        headers = {"Authorization": f"Bearer {raw}"}
        if language:
            headers["Accept-Language"] = language
        with translation.override(translation.get_language()):
            response = client.post(
                "/api/v1/cases", json.dumps(body), content_type="application/json", headers=headers
            )
        assert response.status_code == 422
        error = only_error(response)
        assert (error["field"], error["message"]) == (field, message)
    with translation.override(translation.get_language()):
        response = client.post(
            "/api/v1/cases",
            "{not json",
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
    assert response.status_code == 400
    assert only_error(response)["message"] == "请求内容不是有效的 JSON"
    assert not Case.objects.exists()


@pytest.mark.parametrize("replay", [False, True], ids=["new case", "idempotent replay"])
def test_the_intake_answer_is_exactly_what_its_published_schema_makes_of_it(
    api_as: Any, world: World, replay: bool
) -> None:
    """Intake's answer is rendered without ninja validating it again (a tenth of its CPU): it
    must be what that validation would have produced, byte for byte, keys and order included."""
    from wangge.api import api as ninja_api
    from wangge.cases.api import CaseCreatedOut

    body = intake(
        world,
        category="utilities",
        answers={"utility": "水", "households": "12"},
        photos=[jpeg_b64()],
        resolve_on_spot=True,
        result="已现场处置",
        idempotency_key="shape-1",
    )
    client = api_as("grid_worker")
    response = client.post("/cases", body)
    if replay:
        response = client.post("/cases", body)
    assert response.status_code == 201, response.content
    answer = response.json()
    validated = CaseCreatedOut.model_validate(answer).model_dump()
    rendered = ninja_api.renderer.render(None, validated, response_status=201)  # type: ignore[arg-type]
    assert rendered.encode() == response.content
    assert [e["action"] for e in answer["timeline"]] == ["report", "resolve_on_spot"]
    assert len(answer["photos"]) == 1


def test_answers_to_a_categorys_questions_are_kept(api_as: Any, world: World) -> None:
    body = intake(world, category="utilities", answers={"utility": "水", "households": "12"})
    response = api_as("grid_worker").post("/cases", body)
    assert response.status_code == 201, response.content
    assert response.json()["answers"] == {"utility": "水", "households": 12}
    assert response.json()["priority"] == "urgent"


@pytest.mark.parametrize("households", [10**400, -(10**400), 2**53 + 1])
def test_a_number_answer_too_large_for_a_float_is_refused_by_its_field(
    api_as: Any, world: World, households: int
) -> None:
    body = intake(world, category="utilities", answers={"utility": "水", "households": households})
    response = api_as("grid_worker").post("/cases", body)
    assert response.status_code == 422, response.content
    assert [e["field"] for e in response.json()["errors"]] == ["answers.households"]
    assert not Case.objects.exists()


def test_a_report_takes_base64_photos(api_as: Any, world: World) -> None:
    photos = [jpeg_b64(), "data:image/jpeg;base64," + jpeg_b64((30, 30))]
    response = api_as("grid_worker").post("/cases", intake(world, photos=photos))
    assert response.status_code == 201, response.content
    body = response.json()
    assert [(p["width"], p["height"]) for p in body["photos"]] == [(64, 48), (30, 30)]
    assert CasePhoto.objects.filter(case_id=body["id"]).count() == 2


def test_a_bad_photo_among_good_ones_names_its_index_and_stores_nothing(
    api_as: Any, world: World
) -> None:
    response = api_as("grid_worker").post(
        "/cases", intake(world, photos=[jpeg_b64(), "not base64!"])
    )
    assert response.status_code == 422
    assert only_error(response)["field"] == "photos.1"
    assert not Case.objects.exists() and not CasePhoto.objects.exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_same_case(
    api_as: Any, world: World
) -> None:
    api = api_as("grid_worker")
    first = api.post("/cases", intake(world, idempotency_key="phone-42-0001"))
    again = api.post("/cases", intake(world, idempotency_key="phone-42-0001"))
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Case.objects.count() == 1
    # Another user's key of the same text is another key.
    other = api_as("building_head").post("/cases", intake(world, idempotency_key="phone-42-0001"))
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]
    assert Case.objects.count() == 2


def test_a_grid_worker_resolves_on_the_spot_through_the_api(api_as: Any, world: World) -> None:
    body = intake(world, resolve_on_spot=True, result="已现场清理")
    response = api_as("grid_worker").post("/cases", body)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == Status.CLOSED
    assert [e["action"] for e in response.json()["timeline"]] == ["report", "resolve_on_spot"]


# --- transitions ----------------------------------------------------------------------------


def test_every_transition_has_an_endpoint_that_works(api_as: Any, world: World) -> None:
    desk, handler = api_as("dispatcher"), api_as("department_handler")
    case = report(world)
    seen: set[str] = set()
    version = case.version

    def step(api: Api, action: str, body: dict[str, Any] | None = None, *, on: int = 0) -> Any:
        nonlocal version
        target = on or case.pk
        payload = {"version": version, **(body or {})} if not on else body
        response = api.post(f"/cases/{target}/{action}", payload)
        assert response.status_code == 200, (action, response.content)
        data = response.json()
        assert data["timeline"][-1]["action"] in (action, "reopen"), action
        if not on:
            assert data["version"] > version
            version = data["version"]
        seen.add(action)
        return data

    step(desk, "accept")
    step(desk, "dispatch", {"department_id": world.department.pk})
    step(handler, "return", {"note": "不属于本部门职责"})
    step(desk, "dispatch", {"department_id": world.department.pk})
    assert step(handler, "sign")["status"] == Status.IN_PROGRESS
    step(handler, "request_extension", {"note": "需采购配件", "extra": 3})
    before = Case.objects.get(pk=case.pk).resolution_due_at
    step(desk, "approve_extension")
    assert Case.objects.get(pk=case.pk).resolution_due_at > before
    step(handler, "request_suspension", {"note": "等待业主回国"})
    step(desk, "deny_request", {"note": "理由不充分"})
    step(handler, "request_suspension", {"note": "等待业主回国"})
    assert step(desk, "approve_suspension")["status"] == Status.SUSPENDED
    step(desk, "resume")
    data = step(handler, "handle", {"result": "已清运", "photos": [jpeg_b64()]})
    assert data["status"] == Status.HANDLED and len(data["photos"]) == 1
    step(desk, "verify_fail", {"note": "现场仍有垃圾"})
    step(handler, "handle", {"result": "已彻底清运", "outcome": "solved"})
    assert step(desk, "verify_pass")["status"] == Status.CLOSED
    data = step(desk, "rate", {"rating": "satisfied"})
    assert data["rating"] == "satisfied" and data["status"] == Status.CLOSED
    assert step(desk, "reopen", {"note": "群众反映仍未解决"})["status"] == Status.IN_PROGRESS

    assert (
        step(desk, "escalate", {"note": "需要街道协调"}, on=report(world).pk)["handling_unit"][
            "code"
        ]
        == GRID[:9]
    )
    assert step(desk, "reject", {"note": "不属于受理范围"}, on=report(world).pk)["status"] == (
        Status.REJECTED
    )
    master = report(world, title="同一处垃圾")
    merged = step(desk, "merge", {"master_id": master.pk}, on=report(world).pk)
    assert merged["status"] == Status.MERGED

    assert seen == set(TRANSITIONS)


def test_a_transition_needs_no_body(api_as: Any, world: World) -> None:
    case = report(world)
    response = api_as("dispatcher").post(f"/cases/{case.pk}/accept")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.ACCEPTED


def test_the_detail_lists_only_the_actions_the_caller_may_take(api_as: Any, world: World) -> None:
    case = case_in(world, Status.DISPATCHED)
    desk = api_as("dispatcher").get(f"/cases/{case.pk}").json()
    handler = api_as("department_handler").get(f"/cases/{case.pk}").json()
    assert set(desk["available_actions"]) == {"merge"}
    assert set(handler["available_actions"]) == {"sign", "return"}


def test_a_role_that_may_not_act_gets_403_and_the_case_is_unchanged(
    api_as: Any, world: World
) -> None:
    case = report(world)
    for name in ("leader", "grid_worker"):
        response = api_as(name).post(f"/cases/{case.pk}/accept", {"version": 1})
        assert response.status_code == 403, (name, response.content)
        assert only_error(response)["code"] == "forbidden"
    case.refresh_from_db()
    assert case.status == Status.REPORTED and case.version == 1


def test_a_case_outside_the_scope_is_404_like_a_case_that_does_not_exist(
    api_as: Any, world: World
) -> None:
    case = report(world, grid=OTHER_STREET_GRID)
    api = api_as("community_staff")
    outside = api.get(f"/cases/{case.pk}")
    missing = api.get(f"/cases/{case.pk + 1000}")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    acting = api.post(f"/cases/{case.pk}/accept", {"version": 1})
    assert acting.status_code == 404
    assert acting.json() == missing.json()
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_a_stale_version_is_a_409_and_changes_nothing(api_as: Any, world: World) -> None:
    case = report(world)
    api = api_as("dispatcher")
    assert api.post(f"/cases/{case.pk}/accept", {"version": 1}).status_code == 200
    response = api.post(f"/cases/{case.pk}/reject", {"version": 1, "note": "重复"})
    assert response.status_code == 409
    error = only_error(response)
    assert (error["field"], error["code"]) == ("version", "stale")
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert case.events.count() == 2


def test_an_illegal_transition_is_a_409(api_as: Any, world: World) -> None:
    case = report(world)
    response = api_as("dispatcher").post(f"/cases/{case.pk}/verify_pass", {"version": 1})
    assert response.status_code == 409
    assert only_error(response)["code"] == "illegal_transition"


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("reject", {}, "note"),
        ("dispatch", {}, "department_id"),
        ("dispatch", {"department_id": 999999}, "department_id"),
        ("dispatch", {"worker_id": 999999}, "worker_id"),
    ],
)
def test_a_bad_transition_input_is_a_422_naming_the_field(
    api_as: Any, world: World, action: str, body: dict[str, Any], field: str
) -> None:
    case = case_in(world, Status.ACCEPTED)
    response = api_as("dispatcher").post(f"/cases/{case.pk}/{action}", body)
    assert response.status_code == 422, response.content
    assert only_error(response)["field"] == field


def test_a_department_that_does_not_serve_the_area_is_refused(api_as: Any, world: World) -> None:
    far = territory_actions.create_department(
        name="第2街道城管科",
        kind=DepartmentKind.CITY_MANAGEMENT,
        unit=world.unit("110101002"),
    )
    case = case_in(world, Status.ACCEPTED)
    response = api_as("dispatcher").post(f"/cases/{case.pk}/dispatch", {"department_id": far.pk})
    assert response.status_code == 422
    assert only_error(response)["field"] == "department_id"


def test_a_master_outside_the_scope_is_refused_by_field(api_as: Any, world: World) -> None:
    master = report(world, grid=OTHER_STREET_GRID)
    case = report(world)
    response = api_as("community_staff").post(f"/cases/{case.pk}/merge", {"master_id": master.pk})
    assert response.status_code == 422
    assert only_error(response)["field"] == "master_id"


# --- reads ----------------------------------------------------------------------------------


def test_the_detail_has_the_timeline_in_order(api_as: Any, world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    body = api_as("dispatcher").get(f"/cases/{case.pk}").json()
    assert [e["action"] for e in body["timeline"]] == ["report", "accept", "dispatch", "sign"]
    assert body["timeline"][1]["label"] == "受理"
    assert body["timeline"][1]["from_status"] == "reported"
    assert body["lead_department"] == {"id": world.department.pk, "name": world.department.name}


def test_contact_details_are_hidden_from_a_department_outside_the_territory(
    api_as: Any, world: World
) -> None:
    case = case_in(world, Status.DISPATCHED, grid="110101001002001")
    body = api_as("department_handler").get(f"/cases/{case.pk}").json()
    assert body["reporter_phone"] == "" and body["reporter_name"] == ""
    assert api_as("dispatcher").get(f"/cases/{case.pk}").json()["reporter_phone"] == ("139****2222")


def test_a_department_reads_the_contact_of_its_case_in_the_area_it_serves(
    api_as: Any, world: World
) -> None:
    """It calls the resident back (its service area is 110101001001)."""
    case = case_in(world, Status.DISPATCHED, grid="110101001001001")
    body = api_as("department_handler").get(f"/cases/{case.pk}").json()
    assert body["reporter_phone"] == "139****2222" and body["reporter_name"] == "王女士"


@pytest.fixture
def many_cases(world: World) -> list[Case]:
    """30 cases over 10 days, two streets, three categories, two sources; some overdue."""
    now = timezone.now()
    cases = []
    grids = [GRID, "110101001002001", OTHER_STREET_GRID]
    codes = ["exposed_garbage", "dirty_road", "graffiti"]
    for i in range(30):
        cases.append(
            report(
                world,
                grid=grids[i % 3],
                category=category(codes[i % 3]),
                title=f"第{i}号问题" + ("（井盖）" if i % 10 == 0 else ""),
                source=Source.HOTLINE if i % 2 else Source.GRID_PATROL,
                created_at=now - timedelta(days=i // 3, minutes=i),
            )
        )
    return cases


def walk(api: Api, **params: Any) -> list[int]:
    ids: list[int] = []
    cursor = ""
    for _page in range(100):
        response = api.get("/cases", limit=7, cursor=cursor, **params)
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["items"]) <= 7
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            return ids
    raise AssertionError("the cursor never ends")


def test_cursor_pagination_walks_every_case_once_newest_first(
    api_as: Any, world: World, many_cases: list[Case]
) -> None:
    ids = walk(api_as("dispatcher"))
    expected = [c.pk for c in sorted(many_cases, key=lambda c: (c.created_at, c.pk), reverse=True)]
    assert ids == expected
    assert len(ids) == len(set(ids)) == 30


def test_pagination_is_stable_while_new_cases_arrive(
    api_as: Any, world: World, many_cases: list[Case]
) -> None:
    api = api_as("dispatcher")
    first = api.get("/cases", limit=7).json()
    report(world, title="新来的")
    rest: list[int] = []
    cursor = first["next_cursor"]
    while cursor:
        body = api.get("/cases", limit=7, cursor=cursor).json()
        rest += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
    ids = [item["id"] for item in first["items"]] + rest
    assert sorted(ids) == sorted(c.pk for c in many_cases)


def test_the_list_is_limited_to_the_scope(
    api_as: Any, world: World, many_cases: list[Case]
) -> None:
    ids = walk(api_as("community_staff"))
    assert {Case.objects.get(pk=pk).grid_code[:12] for pk in ids} == {GRID[:12]}
    assert len(ids) == 10


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "graffiti"}, lambda c: c.category.code == "graffiti"),
        ({"category": "environment"}, lambda c: True),
        ({"unit": "110101002"}, lambda c: c.grid_code.startswith("110101002")),
        ({"unit": GRID}, lambda c: c.grid_code == GRID),
        ({"source": "hotline"}, lambda c: c.source == Source.HOTLINE),
        ({"q": "井盖"}, lambda c: "井盖" in c.title),
        ({"status": "reported"}, lambda c: True),
        ({"status": "accepted,closed"}, lambda c: False),
        ({"sla": "overdue"}, lambda c: c.resolution_due_at < timezone.now()),
        ({"sla": "normal"}, lambda c: c.due_soon_at > timezone.now()),
    ],
)
def test_the_list_filters(
    api_as: Any, world: World, many_cases: list[Case], params: dict[str, str], expected: Any
) -> None:
    ids = walk(api_as("dispatcher"), **params)
    want = [c.pk for c in many_cases if expected(c)]
    assert sorted(ids) == sorted(want)
    assert len(set(ids)) == len(ids)


def test_the_list_filters_by_date_range_and_tracking_code(
    api_as: Any, world: World, many_cases: list[Case]
) -> None:
    api = api_as("dispatcher")
    today = timezone.localdate()
    start = today - timedelta(days=2)
    ids = walk(api, date_from=start.isoformat(), date_to=today.isoformat())
    want = [c.pk for c in many_cases if start <= timezone.localdate(c.created_at) <= today]
    assert sorted(ids) == sorted(want) and ids
    code = many_cases[4].tracking_code
    assert walk(api, q=code.lower()) == [many_cases[4].pk]


def test_the_list_filters_by_department_and_status(api_as: Any, world: World) -> None:
    dispatched = case_in(world, Status.DISPATCHED)
    case_in(world, Status.ACCEPTED)
    api = api_as("dispatcher")
    assert walk(api, department=str(world.department.pk)) == [dispatched.pk]
    assert walk(api, status="dispatched") == [dispatched.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"sla": "late"}, "sla"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"department": "x"}, "department"),
        ({"cursor": "garbage!!"}, "cursor"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1000"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(
    api_as: Any, world: World, params: dict[str, str], field: str
) -> None:
    response = api_as("dispatcher").get("/cases", **params)
    assert response.status_code == 422, response.content
    assert only_error(response)["field"] == field


def test_the_list_costs_the_same_queries_for_any_page_size(
    api_as: Any,
    world: World,
    many_cases: list[Case],
    django_assert_max_num_queries: Any,
) -> None:
    api = api_as("dispatcher")
    for case in [c for c in many_cases if c.grid_code.startswith("110101001")][:10]:
        do(world, do(world, case, "accept"), "dispatch")
    api.get("/cases", limit=1)  # the token's last_used_at write happens once
    with django_assert_max_num_queries(3):
        small = api.get("/cases", limit=2)
    with django_assert_max_num_queries(3):
        large = api.get("/cases", limit=30)
    assert len(small.json()["items"]) == 2 and len(large.json()["items"]) == 30


def test_the_detail_costs_a_fixed_number_of_queries(
    api_as: Any, world: World, django_assert_max_num_queries: Any
) -> None:
    api = api_as("dispatcher")
    small = case_in(world, Status.IN_PROGRESS)
    big = case_in(world, Status.CLOSED)
    api.get(f"/cases/{small.pk}")
    with django_assert_max_num_queries(10) as few:
        api.get(f"/cases/{small.pk}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        api.get(f"/cases/{big.pk}")


def test_categories_lists_classes_and_sub_classes_with_questions(api_as: Any, world: World) -> None:
    response = api_as("grid_worker").get("/categories")
    assert response.status_code == 200
    by_code = {c["code"]: c for c in response.json()}
    assert by_code["livelihood"]["parent"] is None
    utilities = by_code["utilities"]
    assert utilities["parent"] == "livelihood"
    assert utilities["resolution_unit"] == "hours"
    assert (utilities["name"], utilities["name_en"]) == ("水电气热", "Water, power, gas, heating")
    assert [q["key"] for q in utilities["questions"]] == ["utility", "households"]


def test_locate_tells_the_grid_of_a_point(api_as: Any, world: World) -> None:
    api = api_as("grid_worker")
    lon, lat = center_of(world.unit(GRID))
    inside = api.get("/locate", lon=lon, lat=lat).json()
    assert inside["inside"] is True
    assert inside["grid"]["code"] == GRID
    assert inside["community"]["code"] == GRID[:12]
    assert inside["street"]["code"] == GRID[:9]
    outside = api.get("/locate", lon=100.0, lat=30.0).json()
    assert outside == {"inside": False, "grid": None, "community": None, "street": None}
    bad = api.get("/locate", lon=200, lat=30)
    assert bad.status_code == 422 and only_error(bad)["field"] == "lon"


def test_timeline_events_written_by_the_api_are_the_actions_own(api_as: Any, world: World) -> None:
    case = report(world)
    api_as("dispatcher").post(f"/cases/{case.pk}/accept", {"version": 1, "note": "已电话核实"})
    event = CaseEvent.objects.filter(case=case).last()
    assert event is not None
    assert (event.action, event.actor, event.note) == (
        "accept",
        world.users["dispatcher"],
        "已电话核实",
    )


def test_intake_costs_a_fixed_number_of_queries(
    api_as: Any, world: World, django_assert_max_num_queries: Any
) -> None:
    """Intake is the hot path (bench/case_intake.py): no query per field, photo or answer."""
    api = api_as("grid_worker")
    api.post("/cases", intake(world))  # the token's last_used_at write happens once
    with django_assert_max_num_queries(16) as plain:
        assert api.post("/cases", intake(world)).status_code == 201
    body = intake(world, category="utilities", answers={"utility": "水"}, photos=[jpeg_b64()])
    with django_assert_max_num_queries(len(plain.captured_queries) + 2):
        # + the photo row, + the urgent priority's policy
        assert api.post("/cases", body).status_code == 201
