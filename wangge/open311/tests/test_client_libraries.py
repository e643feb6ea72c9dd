"""Real Open311 client libraries from PyPI against a running server: civicbot files a request
(georeport cannot post), then georeport reads it back in JSON and in XML, and civicbot in JSON."""

from typing import Any

import pytest
from civicbot import Endpoint, HttpTransport, Open311Client
from civicbot.http import RateLimiter
from georeport import GeoReport

from wangge.cases.models import Case, Category, Source
from wangge.cases.tests.helpers import GRID
from wangge.core.tests.fixtures import World
from wangge.open311 import actions
from wangge.territory.tests.factories import center_of


@pytest.fixture
def server(live_server: Any, world: World) -> tuple[str, str]:
    Category.objects.filter(code="exposed_garbage").update(
        questions=[{"key": "floor", "label": "楼层", "type": "number", "required": True}]
    )
    _key, raw = actions.issue_key(name="civicbot", user=world.users["resident"])
    return f"{live_server.url}/open311/v2", raw


def test_a_client_library_files_a_request_and_reads_it_back(
    server: tuple[str, str], world: World
) -> None:
    root, raw_key = server
    civic = Open311Client(
        Endpoint(id="wangge", name="Wangge", base_url=root, write=True),
        HttpTransport(rate_limiter=RateLimiter(min_interval=0)),
        jurisdiction_id="110101",
    )
    lon, lat = center_of(world.unit(GRID))
    prepared = civic.create_request(
        "exposed_garbage",
        dry_run=False,
        confirm="SEND",
        api_key=raw_key,
        validate_remote=True,  # reads services and the definition first
        lat=lat,
        lng=lon,
        description="垃圾桶满溢，两天没人清运",
        attributes={"floor": 3},
    )
    (created,) = prepared.response
    request_id = created["service_request_id"]
    case = Case.objects.get(pk=int(request_id))
    assert case.source == Source.RESIDENT and case.answers == {"floor": 3}

    fetched = civic.get_request(request_id)
    assert fetched is not None
    assert fetched["status"] == "open" and fetched["service_code"] == "exposed_garbage"
    assert civic.get_token(case.tracking_code)[0]["service_request_id"] == request_id

    for fmt in ("json", "xml"):
        reader = GeoReport(root, jurisdiction="110101", output_format=fmt)
        codes = [s["service_code"] for s in reader.get_service_list()]
        assert "exposed_garbage" in codes
        definition = reader.get_service_definition("exposed_garbage")
        attributes = definition["attributes"]
        attribute = attributes["attribute"] if fmt == "xml" else attributes[0]
        assert attribute["code"] == "floor"
        one = reader.get_service_request(request_id)
        assert str(one["service_request_id"]) == request_id
        assert one["description"] == "垃圾桶满溢，两天没人清运"
        assert str(one["lat"]).startswith(str(round(lat, 4))[:6])
        listed = reader.get_service_requests(status="open", service_code="exposed_garbage")
        # xmltodict gives a dict for a single <request>, a list for several.
        items = listed if isinstance(listed, list) else [listed]
        assert request_id in [str(item["service_request_id"]) for item in items]
