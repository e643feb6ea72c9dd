"""The Open311 GeoReport v2 endpoints, checked against the spec (wiki.open311.org/GeoReport_v2)
in JSON and in XML: field names, value types, status values, the error format and codes, the
jurisdiction, the 90-day range, rate limits, and what must never be published."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from wangge.cases import actions as case_actions
from wangge.cases.models import Case, CaseEvent, Category, Source, Status
from wangge.cases.tests.helpers import GRID, case_in, category, do, report
from wangge.cases.tests.test_photos import image_bytes, upload
from wangge.core.tests.fixtures import World
from wangge.open311 import actions, selectors
from wangge.open311.tests.conftest import BASE, body, error_text, errors
from wangge.territory import actions as territory_actions
from wangge.territory.tests.factories import center_of

FORMATS = ["json", "xml"]
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def truthy(value: Any) -> bool:
    """A spec boolean: JSON true/false, XML "true"/"false"."""
    assert value in (True, False, "true", "false"), value
    return value in (True, "true")


def number(value: Any, fmt: str) -> float | None:
    if fmt == "json":
        assert value is None or isinstance(value, int | float)
        return value
    return float(value) if value != "" else None


def empty(value: Any) -> bool:
    return value is None or value == ""


def get(client: Any, path: str, fmt: str, **params: Any) -> Any:
    return client.get(f"{BASE}{path}.{fmt}", params)


def post(client: Any, fmt: str, data: dict[str, Any]) -> Any:
    # Form-encoded, as the spec requires for POST Service Request.
    return client.post(f"{BASE}requests.{fmt}", data)


def requests_of(client: Any, fmt: str, **params: Any) -> list[dict[str, Any]]:
    response = get(client, "requests", fmt, **params)
    assert response.status_code == 200, response.content
    return body(response, fmt, "service_requests")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [str(i["service_request_id"]) for i in items]


def new_request(world: World, raw_key: str, **extra: Any) -> dict[str, Any]:
    lon, lat = center_of(world.unit(GRID))
    data = {
        "api_key": raw_key,
        "jurisdiction_id": "110101",
        "service_code": "exposed_garbage",
        "lat": f"{lat:.6f}",
        "long": f"{lon:.6f}",
        "description": "小区东门垃圾桶满溢\n已经两天没有清运",
        "first_name": "女士",
        "last_name": "王",
        "phone": "13911112222",
        "email": "wang@example.com",
        "device_id": "device-1",
        "account_id": "acct-42",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def floor_questions(db: Any) -> Category:
    """Extra questions on a category (configured in the admin in real life)."""
    Category.objects.filter(code="exposed_garbage").update(
        questions=[
            {"key": "floor", "label": "楼层", "type": "number", "required": True},
            {"key": "bins", "label": "垃圾桶类型", "type": "choice", "choices": ["厨余", "其他"]},
            {"key": "smell", "label": "是否有异味", "type": "boolean"},
            {"key": "since", "label": "开始日期", "type": "date"},
            {"key": "note", "label": "补充说明", "type": "text"},
        ]
    )
    return Category.objects.get(code="exposed_garbage")


# --- discovery and services ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_lists_this_endpoint_and_its_formats(client, world: World, fmt: str) -> None:
    response = client.get(f"{BASE}discovery.{fmt}")
    assert response.status_code == 200
    data = body(response, fmt, "discovery")
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(data)
    (endpoint,) = data["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert endpoint["type"] in ("production", "test")


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_the_active_sub_categories(client, world: World, fmt: str) -> None:
    Category.objects.filter(code="graffiti").update(is_active=False)
    response = get(client, "services", fmt)
    assert response.status_code == 200
    services = body(response, fmt, "services")
    expected = set(
        Category.objects.filter(is_active=True, parent__isnull=False).values_list("code", flat=True)
    )
    assert {s["service_code"] for s in services} == expected
    assert "graffiti" not in expected and "environment" not in expected
    for service in services:
        assert set(service) == {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        }
        assert service["type"] in ("realtime", "batch", "blackbox")
        truthy(service["metadata"])
    garbage = next(s for s in services if s["service_code"] == "exposed_garbage")
    assert garbage["service_name"] == "暴露垃圾"
    assert garbage["group"] == "市容环境"
    assert "垃圾清运" in garbage["keywords"].split(", ")
    assert truthy(garbage["metadata"]) is False


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_service_definition_carries_the_questions_as_typed_attributes(
    client, world: World, floor_questions: Category, fmt: str
) -> None:
    services = body(get(client, "services", fmt), fmt, "services")
    assert truthy(next(s for s in services if s["service_code"] == "exposed_garbage")["metadata"])
    response = get(client, "services/exposed_garbage", fmt)
    assert response.status_code == 200
    definition = body(response, fmt, "service_definition")
    assert definition["service_code"] == "exposed_garbage"
    attributes = definition["attributes"]
    for attribute in attributes:
        assert set(attribute) == {
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
            "values",
        }
        assert attribute["datatype"] in DATATYPES
        assert truthy(attribute["variable"])
        truthy(attribute["required"])
    by_code = {a["code"]: a for a in attributes}
    assert [str(a["order"]) for a in attributes] == ["1", "2", "3", "4", "5"]
    assert by_code["floor"]["datatype"] == "number"
    assert truthy(by_code["floor"]["required"])
    assert by_code["floor"]["description"] == "楼层"
    assert by_code["bins"]["datatype"] == "singlevaluelist"
    assert by_code["bins"]["values"] == [
        {"key": "厨余", "name": "厨余"},
        {"key": "其他", "name": "其他"},
    ]
    assert by_code["smell"]["datatype"] == "singlevaluelist"
    assert [v["key"] for v in by_code["smell"]["values"]] == ["true", "false"]
    assert by_code["since"]["datatype"] == "datetime"
    assert by_code["note"]["datatype"] == "string"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unknown_or_inactive_service_is_a_404_in_the_error_format(
    client, world: World, fmt: str
) -> None:
    response = get(client, "services/no_such_thing", fmt)
    assert response.status_code == 404
    assert "service_code" in error_text(response, fmt)
    # A class (大类) is not a service.
    assert get(client, "services/environment", fmt).status_code == 404


# --- POST requests -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_posting_a_request_files_a_case_as_the_keys_user_and_source(
    client, world: World, api_key, floor_questions: Category, fmt: str
) -> None:
    key, raw = api_key
    data = new_request(
        world,
        raw,
        **{
            "attribute[floor]": "3",
            "attribute[bins]": "厨余",
            "attribute[smell]": "true",
            "attribute[since]": "2026-11-20T08:00:00+08:00",
        },
    )
    response = post(client, fmt, data)
    assert response.status_code == 200, response.content
    (created,) = body(response, fmt, "service_requests")
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["account_id"] == "acct-42"
    case = Case.objects.get(pk=int(created["service_request_id"]))
    assert case.tracking_code in created["service_notice"]
    assert case.source == Source.RESIDENT
    assert case.reporter == key.user and case.created_by == key.user
    assert case.category.code == "exposed_garbage"
    assert case.title == "小区东门垃圾桶满溢"
    assert case.description == data["description"]
    assert case.grid.code == GRID
    assert case.reporter_name == "王女士"
    assert case.reporter_phone == "13911112222"
    assert case.answers == {"floor": 3, "bins": "厨余", "smell": True, "since": "2026-11-20"}
    # The email and device id are not kept (collect the minimum).
    assert "example.com" not in str(Case.objects.filter(pk=case.pk).values().get())


def test_the_source_follows_the_key(client, world: World) -> None:
    _key, raw = actions.issue_key(
        name="12345 对接", user=world.users["resident"], source=Source.HOTLINE
    )
    response = post(client, "json", new_request(world, raw))
    assert response.status_code == 200
    assert Case.objects.get().source == Source.HOTLINE


@pytest.mark.parametrize("fmt", FORMATS)
def test_posting_needs_a_valid_active_api_key(client, world: World, api_key, fmt: str) -> None:
    key, raw = api_key
    data = new_request(world, raw)
    del data["api_key"]
    response = post(client, fmt, data)
    assert response.status_code == 403
    assert "api_key" in error_text(response, fmt)
    response = post(client, fmt, {**data, "api_key": "o311_wrong"})
    assert response.status_code == 403
    assert "api_key" in error_text(response, fmt)
    actions.update_key(
        key=key,
        name=key.name,
        user=key.user,
        source=key.source,
        rate_limit_per_minute=10,
        is_active=False,
    )
    assert post(client, fmt, {**data, "api_key": raw}).status_code == 403
    assert not Case.objects.exists()


def test_the_api_key_may_come_in_the_query_string(client, world: World, api_key) -> None:
    _key, raw = api_key
    data = new_request(world, raw)
    del data["api_key"]
    response = client.post(f"{BASE}requests.json?api_key={raw}", data)
    assert response.status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("change", "status", "parameter"),
    [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "no_such_service"}, 404, "service_code"),
        ({"long": None}, 400, "long"),
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "91"}, 400, "lat"),
        ({"lat": None, "long": None}, 400, "lat"),
        ({"lat": "10.0", "long": "10.0"}, 400, "lat"),  # outside every grid
        ({"description": "长" * 2001}, 400, "description"),
        ({"phone": "call me maybe"}, 400, "phone"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"lat": None, "long": None, "address_string": "火星"}, 400, "address_string"),
        ({"lat": None, "long": None, "address_id": "999999"}, 400, "address_id"),
        ({"jurisdiction_id": "sfgov.org"}, 404, "jurisdiction_id"),
    ],
)
def test_bad_input_is_refused_naming_the_parameter_and_nothing_is_filed(
    client, world: World, api_key, fmt: str, change: dict[str, Any], status: int, parameter: str
) -> None:
    _key, raw = api_key
    data = new_request(world, raw)
    for name, value in change.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    response = post(client, fmt, data)
    assert response.status_code == status, response.content
    assert any(e["description"].startswith(f"{parameter}: ") for e in errors(response, fmt))
    assert not Case.objects.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_attribute_errors_name_the_attribute(
    client, world: World, api_key, floor_questions: Category, fmt: str
) -> None:
    _key, raw = api_key
    response = post(
        client, fmt, new_request(world, raw, **{"attribute[bins]": "塑料", "attribute[x]": "1"})
    )
    assert response.status_code == 400
    described = [e["description"] for e in errors(response, fmt)]
    assert any(d.startswith("attribute[floor]: ") for d in described)  # required, missing
    assert any(d.startswith("attribute[bins]: ") for d in described)  # not one of the values
    assert any(d.startswith("attribute[x]: ") for d in described)  # unknown
    response = post(client, fmt, new_request(world, raw, **{"attribute[floor]": "三楼"}))
    assert response.status_code == 400
    assert error_text(response, fmt).startswith("attribute[floor]: ")
    assert not Case.objects.exists()


def test_a_request_can_be_placed_by_building_address_or_address_id(
    client, world: World, api_key
) -> None:
    _key, raw = api_key
    building = world.buildings["110101002002002"]
    by_text = new_request(
        world, raw, lat=None, long=None, address_string=f"北京市测试区{building.address}门口"
    )
    response = post(client, "json", by_text)
    assert response.status_code == 200, response.content
    case = Case.objects.get(
        pk=int(body(response, "json", "service_requests")[0]["service_request_id"])
    )
    assert case.grid == building.grid
    assert (case.lon, case.lat) == (building.lon, building.lat)
    by_id = new_request(world, raw, lat=None, long=None, address_id=str(building.pk))
    response = post(client, "json", by_id)
    assert response.status_code == 200
    case = Case.objects.get(
        pk=int(body(response, "json", "service_requests")[0]["service_request_id"])
    )
    assert case.grid == building.grid and case.address == building.address


def test_a_request_placed_by_a_community_name_goes_to_one_of_its_grids(
    client, world: World, api_key
) -> None:
    _key, raw = api_key
    community = world.unit("110101002001")
    data = new_request(world, raw, lat=None, long=None, address_string=f"{community.name}东门")
    response = post(client, "json", data)
    assert response.status_code == 200, response.content
    case = Case.objects.get()
    assert case.grid.code.startswith(community.code)
    assert case.lat is None and case.address == data["address_string"]


def test_the_address_finder_is_built_once_and_rebuilt_when_places_change(
    client, world: World, api_key
) -> None:
    """Building the finder reads every building and unit name: once per process, not per
    request, until a building or a unit name changes."""
    _key, raw = api_key
    building = world.buildings["110101002002002"]

    def place(address: str) -> Any:
        data = new_request(world, raw, lat=None, long=None, address_string=address)
        with CaptureQueriesContext(connection) as queries:
            response = post(client, "json", data)
        reads = [q["sql"] for q in queries if 'FROM "territory_building"' in q["sql"]]
        return response, reads

    first, _reads = place(f"{building.address}门口")
    assert first.status_code == 200, first.content
    again, reads = place(f"{building.address}楼下")
    assert again.status_code == 200 and reads == []

    # A new building and a renamed community are found by the very next request.
    new = territory_actions.create_building(
        name="新建楼",
        address="育群胡同新1号楼",
        lon=building.lon,
        lat=building.lat,
    )
    response, reads = place("育群胡同新1号楼西侧")
    assert response.status_code == 200, response.content
    assert reads != []
    assert Case.objects.order_by("-pk").first().grid == new.grid
    community = world.unit("110101002001")
    territory_actions.update_unit(unit=community, name="改名后社区")
    response, _reads = place("改名后社区东门")
    assert response.status_code == 200, response.content
    assert Case.objects.order_by("-pk").first().grid.code.startswith(community.code)
    assert place("火星")[0].status_code == 400


# --- GET requests --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_carry_every_spec_field_and_never_the_reporter(
    client, world: World, fmt: str
) -> None:
    open_case = case_in(world, Status.IN_PROGRESS, address="东华门大街 8号")
    closed = case_in(world, Status.CLOSED)
    items = requests_of(client, fmt)
    assert set(ids(items)) == {str(open_case.pk), str(closed.pk)}
    for item in items:
        assert set(item) == REQUEST_FIELDS
        assert item["status"] in ("open", "closed")
        for name in ("requested_datetime", "updated_datetime", "expected_datetime"):
            assert W3C.match(item[name]), item[name]
        assert item["requested_datetime"].endswith("+08:00")
    by_id = {i["service_request_id"]: i for i in items}
    item = by_id[str(open_case.pk)]
    assert item["status"] == "open"
    assert item["status_notes"] == "处置中"
    assert item["service_code"] == "exposed_garbage" and item["service_name"] == "暴露垃圾"
    assert item["agency_responsible"] == world.department.name
    assert item["address"] == "东华门大街 8号"
    lon, lat = center_of(world.unit(GRID))
    assert number(item["lat"], fmt) == pytest.approx(lat)
    assert number(item["long"], fmt) == pytest.approx(lon)
    assert item["service_notice"] == "24 小时内响应，2 个工作日内办结"
    assert empty(item["media_url"]) and empty(item["zipcode"]) and empty(item["address_id"])
    expected = timezone.localtime(open_case.resolution_due_at).isoformat(timespec="seconds")
    assert item["expected_datetime"] == expected
    done = by_id[str(closed.pk)]
    assert done["status"] == "closed"
    assert done["status_notes"].startswith("已办结") and "已清运完毕" in done["status_notes"]
    closed_at = timezone.localtime(closed.closed_at).isoformat(timespec="seconds")
    assert done["updated_datetime"] == closed_at
    content = get(client, "requests", fmt).content.decode()
    for secret in ("王女士", "13911112222", "1391111", closed.tracking_code):
        assert secret not in content


@pytest.mark.parametrize("fmt", FORMATS)
def test_filters_status_service_code_and_ids(client, world: World, fmt: str) -> None:
    garbage = report(world)
    flyers = report(world, category=category("illegal_flyers"))
    closed = case_in(world, Status.CLOSED)
    assert set(ids(requests_of(client, fmt, status="open"))) == {str(garbage.pk), str(flyers.pk)}
    assert ids(requests_of(client, fmt, status="closed")) == [str(closed.pk)]
    assert len(requests_of(client, fmt, status="open,closed")) == 3
    assert ids(requests_of(client, fmt, service_code="illegal_flyers")) == [str(flyers.pk)]
    assert len(requests_of(client, fmt, service_code="illegal_flyers,exposed_garbage")) == 3
    # service_request_id overrides every other argument.
    listed = requests_of(client, fmt, service_request_id=f"{flyers.pk},{closed.pk}", status="open")
    assert set(ids(listed)) == {str(flyers.pk), str(closed.pk)}
    response = get(client, "requests", fmt, status="pending")
    assert response.status_code == 400 and error_text(response, fmt).startswith("status: ")
    response = get(client, "requests", fmt, service_request_id="1,abc")
    assert response.status_code == 400
    assert error_text(response, fmt).startswith("service_request_id: ")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_date_range_defaults_to_90_days_and_may_not_exceed_it(
    client, world: World, fmt: str
) -> None:
    now = timezone.now()
    old = report(world, created_at=now - timedelta(days=100))
    recent = report(world, created_at=now - timedelta(days=10))
    assert ids(requests_of(client, fmt)) == [str(recent.pk)]
    start = (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=40)).isoformat(timespec="seconds")
    assert ids(requests_of(client, fmt, start_date=start, end_date=end)) == [str(old.pk)]
    # Only a start: 90 days from it.
    assert ids(requests_of(client, fmt, start_date=start)) == [str(old.pk)]
    too_far = (now - timedelta(days=20)).isoformat(timespec="seconds")
    response = get(client, "requests", fmt, start_date=start, end_date=too_far)
    assert response.status_code == 400
    assert "90" in error_text(response, fmt) and error_text(response, fmt).startswith("end_date")
    response = get(client, "requests", fmt, start_date=end, end_date=start)
    assert response.status_code == 400
    response = get(client, "requests", fmt, start_date="last tuesday")
    assert response.status_code == 400 and error_text(response, fmt).startswith("start_date: ")


def test_a_list_returns_at_most_the_record_limit_newest_first(
    client, world: World, monkeypatch
) -> None:
    monkeypatch.setattr(selectors, "MAX_RECORDS", 2)
    cases = [report(world, created_at=timezone.now() - timedelta(hours=h)) for h in (3, 2, 1)]
    assert ids(requests_of(client, "json")) == [str(cases[2].pk), str(cases[1].pk)]


def test_listing_requests_takes_a_fixed_number_of_queries(
    client, world: World, django_assert_max_num_queries
) -> None:
    for _ in range(2):
        case_in(world, Status.CLOSED)
    with django_assert_max_num_queries(6) as first:
        requests_of(client, "json", extensions="true")
    for _ in range(4):
        case_in(world, Status.CLOSED)
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert len(requests_of(client, "json", extensions="true")) == 6


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_request_by_id(client, world: World, fmt: str) -> None:
    case = case_in(world, Status.ACCEPTED)
    response = get(client, f"requests/{case.pk}", fmt)
    assert response.status_code == 200
    (item,) = body(response, fmt, "service_requests")
    assert set(item) == REQUEST_FIELDS
    assert item["service_request_id"] == str(case.pk) and item["status"] == "open"
    response = get(client, f"requests/{case.pk + 1000}", fmt)
    assert response.status_code == 404
    assert error_text(response, fmt).startswith("service_request_id: ")


@pytest.mark.parametrize("fmt", FORMATS)
def test_refused_cases_and_private_categories_are_not_published_except_to_their_key(
    client, world: World, api_key, fmt: str
) -> None:
    key, raw = api_key
    refused = case_in(world, Status.REJECTED, actor=key.user)
    dispute = report(world, category=category("dispute_family"), actor=key.user)
    other_dispute = report(world, category=category("dispute_neighbour"))
    public = report(world)
    assert ids(requests_of(client, fmt)) == [str(public.pk)]
    for case in (refused, dispute, other_dispute):
        assert get(client, f"requests/{case.pk}", fmt).status_code == 404
    # The key that filed them follows them.
    mine = requests_of(client, fmt, api_key=raw)
    assert set(ids(mine)) == {str(public.pk), str(refused.pk), str(dispute.pk)}
    (item,) = body(get(client, f"requests/{refused.pk}", fmt, api_key=raw), fmt, "service_requests")
    assert item["status"] == "closed" and item["status_notes"] == "不予受理：不属于受理范围"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_merged_case_is_closed_and_points_at_its_master(client, world: World, fmt: str) -> None:
    merged = case_in(world, Status.MERGED)
    (item,) = requests_of(client, fmt, service_request_id=str(merged.pk))
    assert item["status"] == "closed"
    assert str(merged.master_id) in item["status_notes"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_notes_extension_is_the_public_timeline_without_staff_names(
    client, world: World, fmt: str
) -> None:
    users = world.users
    for name, user in users.items():
        user.display_name = f"职员{name}"
        user.save(update_fields=["display_name"])
    case = case_in(world, Status.IN_PROGRESS)
    case_actions.return_case(
        case_id=case.pk, actor=users["department_handler"], note="内部：不归我们管"
    )
    (plain,) = requests_of(client, fmt, service_request_id=str(case.pk))
    assert "notes" not in plain
    (item,) = requests_of(client, fmt, service_request_id=str(case.pk), extensions="true")
    notes = item["notes"]
    public = CaseEvent.objects.filter(case=case, is_public=True).count()
    assert len(notes) == public < CaseEvent.objects.filter(case=case).count()
    assert notes[0]["type"] == "opened" and notes[0]["summary"] == "上报"
    for note in notes:
        assert {"datetime", "summary", "type", "description"} == set(note)
        assert note["type"] in ("opened", "activity", "closed")
        assert W3C.match(note["datetime"])
    content = get(client, f"requests/{case.pk}", fmt, extensions="true").content.decode()
    assert "职员" not in content and "不归我们管" not in content


def test_media_url_points_at_public_photos_only(client, world: World) -> None:
    lon, lat = center_of(world.unit(GRID))
    case = case_actions.create_case(
        actor=None,
        category=category(),
        title="垃圾",
        lon=lon,
        lat=lat,
        photos=[upload(image_bytes())],
    )
    (item,) = requests_of(client, "json")
    photo = case.photos.get()
    assert item["media_url"] == f"http://testserver/open311/v2/media/{photo.pk}"
    response = client.get(item["media_url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    # A photo that is not public is neither listed nor served.
    type(photo).objects.filter(pk=photo.pk).update(is_public=False)
    (item,) = requests_of(client, "json")
    assert item["media_url"] is None
    assert client.get(f"{BASE}media/{photo.pk}").status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_token_is_a_tracking_code(client, world: World, fmt: str) -> None:
    case = report(world)
    response = get(client, f"tokens/{case.tracking_code.lower()}", fmt)
    assert response.status_code == 200
    (item,) = body(response, fmt, "service_requests")
    assert item["service_request_id"] == str(case.pk)
    assert item["token"] == case.tracking_code.lower()
    response = get(client, "tokens/ZZZZZZZZ", fmt)
    assert response.status_code == 404 and error_text(response, fmt).startswith("token: ")


# --- servicerequestupdates (mySociety's extension) -----------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_request_updates_list_public_changes_with_mysociety_statuses(
    client, world: World, fmt: str
) -> None:
    case = case_in(world, Status.CLOSED)
    response = get(client, "servicerequestupdates", fmt)
    assert response.status_code == 200
    updates = body(response, fmt, "service_requests_updates")
    events = CaseEvent.objects.filter(case=case, is_public=True).exclude(action="report")
    assert [u["update_id"] for u in updates] == [
        str(e.pk) for e in events.order_by("created_at", "id")
    ]
    for update in updates:
        assert {
            "update_id",
            "service_request_id",
            "status",
            "updated_datetime",
            "description",
            "media_url",
        } == set(update)
        assert update["service_request_id"] == str(case.pk)
        assert W3C.match(update["updated_datetime"])
    statuses = [u["status"] for u in updates]
    assert statuses[0] == "investigating"  # accepted
    assert statuses[-1] == "fixed"  # closed as solved
    start = (timezone.now() - timedelta(days=200)).isoformat(timespec="seconds")
    response = get(
        client,
        "servicerequestupdates",
        fmt,
        start_date=start,
        end_date=timezone.now().isoformat(timespec="seconds"),
    )
    assert response.status_code == 400


def test_updates_leave_out_internal_steps(client, world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    do(world, case, "return")
    updates = body(get(client, "servicerequestupdates", "json"), "json", "service_requests_updates")
    internal = CaseEvent.objects.get(case=case, action="return")
    assert str(internal.pk) not in [u["update_id"] for u in updates]
    assert "不属于本部门职责" not in str(updates)


# --- jurisdiction, formats, methods, limits ------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction_id_is_optional_and_checked(client, world: World, settings, fmt: str) -> None:
    assert get(client, "services", fmt, jurisdiction_id="110101").status_code == 200
    response = get(client, "requests", fmt, jurisdiction_id="sfgov.org")
    assert response.status_code == 404
    assert error_text(response, fmt).startswith("jurisdiction_id: ")
    settings.WANGGE_OPEN311_JURISDICTIONS = ["dongcheng.gov.cn"]
    assert get(client, "services", fmt, jurisdiction_id="dongcheng.gov.cn").status_code == 200
    assert get(client, "services", fmt, jurisdiction_id="110101").status_code == 404


def test_unknown_paths_formats_and_methods_answer_in_the_error_format(client, world: World) -> None:
    response = client.get(f"{BASE}requests.csv")
    assert response.status_code == 404
    assert "xml" in error_text(response, "xml")
    response = client.get(f"{BASE}nothing.json")
    assert response.status_code == 404 and errors(response, "json")
    response = client.delete(f"{BASE}requests.json")
    assert response.status_code == 405 and response["Allow"] == "GET, POST"
    assert errors(response, "json")
    assert client.post(f"{BASE}services.xml").status_code == 405


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_key_over_its_rate_limit_gets_429_with_retry_after(
    client, world: World, monkeypatch, fmt: str
) -> None:
    monkeypatch.setattr("wangge.core.ratelimit.time.time", lambda: 1_800_000_000.0)
    _key, raw = actions.issue_key(name="慢", user=world.users["resident"], rate_limit_per_minute=2)
    for _ in range(2):
        assert post(client, fmt, new_request(world, raw)).status_code == 200
    response = post(client, fmt, new_request(world, raw))
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    errors(response, fmt)
    assert Case.objects.count() == 2


def test_anonymous_reads_are_limited_per_address(
    client, world: World, monkeypatch, settings
) -> None:
    monkeypatch.setattr("wangge.core.ratelimit.time.time", lambda: 1_800_000_000.0)
    settings.WANGGE_OPEN311_ANONYMOUS_PER_MINUTE = 3
    for _ in range(3):
        assert client.get(f"{BASE}services.json").status_code == 200
    response = client.get(f"{BASE}requests.xml")
    assert response.status_code == 429 and response["Retry-After"]
    errors(response, "xml")
    # Another address has its own allowance.
    assert client.get(f"{BASE}services.json", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_a_key_reads_on_its_own_allowance_and_records_its_use(
    client, world: World, api_key, monkeypatch, settings
) -> None:
    key, raw = api_key
    settings.WANGGE_OPEN311_ANONYMOUS_PER_MINUTE = 1
    monkeypatch.setattr("wangge.core.ratelimit.time.time", lambda: 1_800_000_000.0)
    for _ in range(3):
        assert client.get(f"{BASE}services.json", {"api_key": raw}).status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    # A wrong key on a read is refused, not ignored.
    assert client.get(f"{BASE}services.json", {"api_key": "nope"}).status_code == 403


def test_hostile_values_are_refused_not_crashed_on(client, world: World, api_key) -> None:
    _key, raw = api_key
    response = post(client, "json", new_request(world, raw, description="垃圾\x00堆积"))
    assert response.status_code == 400
    assert error_text(response, "json").startswith("description: ")
    response = client.get(f"{BASE}requests.json", {"service_code": "a\x00b"})
    assert response.status_code == 400
    response = post(
        client, "json", new_request(world, raw, lat=None, long=None, address_id="9" * 40)
    )
    assert response.status_code == 400
    # 90 days past the end of the calendar, or before its start.
    assert client.get(f"{BASE}requests.json", {"start_date": "9999-12-31"}).status_code == 400
    assert client.get(f"{BASE}requests.json", {"end_date": "0001-01-01"}).status_code == 400
    assert client.get(f"{BASE}requests.json", {"end_date": "9999-12-31"}).status_code == 200
    assert not Case.objects.exists()


def test_xml_stays_well_formed_whatever_the_text_holds(client, world: World) -> None:
    report(world, description="第一行\x01\x0b第二行\ufffe")
    (item,) = requests_of(client, "xml")  # parses
    assert item["description"].endswith("第一行第二行")


def test_notes_and_notices_in_english_carry_english_punctuation(client, world: World) -> None:
    closed = case_in(world, Status.CLOSED)
    with translation.override(translation.get_language()):
        response = client.get(f"{BASE}requests.json", HTTP_ACCEPT_LANGUAGE="en")
    (item,) = [i for i in response.json() if i["service_request_id"] == str(closed.pk)]
    assert item["status_notes"].startswith("Closed (Solved): ")
    assert item["service_notice"] == "Response within 24 hours, resolved within 2 working days"
    assert not set("，（）：") & set(item["status_notes"] + item["service_notice"])


def test_each_address_lookup_gets_its_own_grid(world: World) -> None:
    """The finder's grids serve every request of the process: a caller changing the grid it
    was given (a related object cached on it, say) changes only its own copy."""
    from wangge.cases.matching import locate_text

    building = world.buildings["110101002002002"]
    first = locate_text(building.address)
    assert first is not None
    first.grid.name = "changed"
    second = locate_text(building.address)
    assert second is not None and second.grid is not first.grid
    assert second.grid.pk == building.grid_id and second.grid.name == building.grid.name


def test_a_compound_without_its_building_is_placed_where_most_of_its_buildings_are(
    world: World,
) -> None:
    """ "东华门大街 3号院" names no building but the compound of several: the grid most of them
    are in, at their middle; a building named in full is still that building."""
    from wangge.cases.matching import locate_text
    from wangge.territory import actions as territory_actions
    from wangge.territory.tests.factories import center_of

    mine, other = world.unit("110101001001001"), world.unit("110101001001002")
    (lon, lat), (o_lon, o_lat) = center_of(mine), center_of(other)
    for n, (x, y) in enumerate([(lon, lat), (lon + 0.0002, lat), (o_lon, o_lat)], start=1):
        territory_actions.create_building(
            name=f"{n}号楼", address=f"和平东街 3号院 {n}号楼", lon=x, lat=y
        )
    place = locate_text("和平东街3号院门口")
    assert place is not None and place.how == "compound"
    assert place.grid.code == mine.code
    assert (place.lon, place.lat) == pytest.approx((lon + 0.0001, lat))
    building = locate_text("和平东街3号院3号楼")
    assert building is not None and building.how == "building"
    assert building.grid.code == other.code
    assert locate_text("和平东街5号院") is None


def test_a_house_number_is_no_compound(world: World) -> None:
    """ "王府井大街 12号" is a building on a street, not a compound: the street alone names no
    place (it runs through many grids)."""
    from wangge.cases.matching import _compound

    assert _compound("王府井大街 12号") == ""
    assert _compound("王府井大街 12号院 3号楼") == "王府井大街12号院"
    assert _compound("和平里 东区 B座") == "和平里东区"
    assert _compound("1号楼") == ""
