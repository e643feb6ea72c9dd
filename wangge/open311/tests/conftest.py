"""Fixtures for the Open311 tests: fresh rate-limit counters, a key, and a reader of both formats
written from the GeoReport v2 spec (not from our renderer)."""

import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.core.cache import caches

from wangge.core.tests.fixtures import World
from wangge.open311 import actions
from wangge.open311.models import Open311ApiKey

# Per the spec: each list element and the name of its items.
SPEC_LISTS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    # extensions: Chicago's notes, mySociety's servicerequestupdates
    "notes": "note",
    "service_requests_updates": "request_update",
}
BASE = "/open311/v2/"


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    caches["default"].clear()


def from_xml(element: ET.Element) -> Any:
    """An element as plain data: a spec list becomes a list of its items (checking their tag),
    an element with children a dict, a leaf its text ("" when empty)."""
    if element.tag in SPEC_LISTS:
        item = SPEC_LISTS[element.tag]
        children = list(element)
        assert all(c.tag == item for c in children), (element.tag, [c.tag for c in children])
        return [from_xml(c) for c in children]
    children = list(element)
    if children:
        data = {}
        for child in children:
            assert child.tag not in data, f"repeated <{child.tag}> in <{element.tag}>"
            data[child.tag] = from_xml(child)
        return data
    return element.text or ""


def parse(response: Any, fmt: str) -> Any:
    """The body, with the content type and (XML) declaration checked."""
    content_type = response["Content-Type"]
    if fmt == "json":
        assert content_type == "application/json; charset=utf-8"
        return json.loads(response.content.decode("utf-8"))
    assert content_type == "text/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(response.content)  # noqa: S314 - our own server's answer
    return root.tag, from_xml(root)


def body(response: Any, fmt: str, root: str) -> Any:
    """The body as data; for XML also that the root element is `root`."""
    data = parse(response, fmt)
    if fmt == "xml":
        tag, data = data
        assert tag == root
    return data


def errors(response: Any, fmt: str) -> list[dict[str, Any]]:
    """The spec's error list; every code is the HTTP status (as a number in JSON)."""
    items = body(response, fmt, "errors")
    assert isinstance(items, list) and items
    for item in items:
        assert set(item) == {"code", "description"}
        assert str(item["code"]) == str(response.status_code)
        if fmt == "json":
            assert isinstance(item["code"], int)
        assert item["description"]
    return items


def error_text(response: Any, fmt: str) -> str:
    return " | ".join(e["description"] for e in errors(response, fmt))


@pytest.fixture
def api_key(world: World) -> tuple[Open311ApiKey, str]:
    user = world.users["resident"]
    user.display_name = "随手拍App"
    user.save(update_fields=["display_name"])
    return actions.issue_key(name="随手拍App", user=user, rate_limit_per_minute=1000)
