"""GeoReport v2 shapes of our objects, and their JSON and XML forms.

JSON follows the spec's Spark convention: the XML root's children become an array (or the
root's fields an object). XML is schemaless, UTF-8, with the declaration; list elements are
named as the spec names them (services/service, service_requests/request, errors/error …).
"""

import json
import re
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.cases.matching import synonyms_for
from wangge.cases.models import OPEN_STATUSES, Case, CaseEvent, Category, LimitUnit, Outcome, Status
from wangge.cases.workflow import TIMELINE_LABELS

# The element name of one item of each list.
ITEM_NAMES = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "service_requests_updates": "request_update",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
}
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def w3c(value: datetime | None) -> str | None:
    """ISO 8601 with the offset, in the server's time zone: 2026-05-01T10:00:00+08:00."""
    if value is None:
        return None
    return timezone.localtime(value).isoformat(timespec="seconds")


# --- XML -----------------------------------------------------------------------------------


# Characters XML 1.0 cannot carry (a description pasted from elsewhere may hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, child in value.items():
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, list):
        item = ITEM_NAMES[element.tag]
        for child in value:
            _fill(ET.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8")


def respond(
    fmt: str, root: str, data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    body = json.dumps(data, ensure_ascii=False).encode() if fmt == "json" else to_xml(root, data)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def errors_response(
    fmt: str, status: int, errors: list[str], *, headers: dict[str, str] | None = None
) -> HttpResponse:
    data = [{"code": status, "description": description} for description in errors]
    return respond(fmt, "errors", data, status=status, headers=headers)


# --- services ------------------------------------------------------------------------------


def service_out(category: Category) -> dict[str, Any]:
    group = category.parent.name if category.parent else ""
    department = category.get_default_department_kind_display()
    description = f"{group} · {category.name}"
    if department:
        description += _("（默认办理：%(department)s）") % {"department": department}
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": description,
        "metadata": bool(category.questions),
        "type": "realtime",
        "keywords": ", ".join(synonyms_for(category.code)),
        "group": group,
    }


def _attribute(order: int, question: dict[str, Any]) -> dict[str, Any]:
    kind = question.get("type")
    values: list[dict[str, Any]] = []
    hint = ""
    if kind == "number":
        datatype = "number"
        hint = _("数字")
    elif kind == "date":
        datatype = "datetime"
        hint = _("日期，如 2026-05-01")
    elif kind == "boolean":
        datatype = "singlevaluelist"
        values = [{"key": "true", "name": _("是")}, {"key": "false", "name": _("否")}]
    elif kind == "choice":
        datatype = "singlevaluelist"
        values = [{"key": str(c), "name": str(c)} for c in question.get("choices") or []]
    else:
        datatype = "string"
        hint = _("不超过 500 字")
    return {
        "variable": True,
        "code": question["key"],
        "datatype": datatype,
        "required": bool(question.get("required")),
        "datatype_description": hint or None,
        "order": order,
        "description": question.get("label", ""),
        "values": values,
    }


def definition_out(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [_attribute(i, q) for i, q in enumerate(category.questions or [], start=1)],
    }


# --- requests ------------------------------------------------------------------------------


def open_or_closed(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def limits_text(case: Case) -> str:
    if case.resolution_unit == LimitUnit.HOURS:
        resolution = _("%(n)d 小时内办结") % {"n": case.resolution_limit}
    else:
        resolution = _("%(n)d 个工作日内办结") % {"n": case.resolution_limit}
    response = _("%(n)d 小时内响应") % {"n": case.response_limit_hours}
    return _("%(response)s，%(resolution)s") % {"response": response, "resolution": resolution}


def _last_note(case: Case, actions: set[str]) -> str:
    for event in reversed(getattr(case, "public_events", [])):
        if event.action in actions and event.note:
            return str(event.note)
    return ""


def status_notes(case: Case) -> str:
    label = str(case.get_status_display())
    if case.status == Status.MERGED:
        return _("%(label)s：与 %(id)s 号诉求重复，请查看该诉求") % {
            "label": label,
            "id": case.master_id,
        }
    if case.status == Status.CLOSED:
        if case.outcome:
            label = _("%(label)s（%(outcome)s）") % {
                "label": label,
                "outcome": case.get_outcome_display(),
            }
        return (
            _("%(label)s：%(reason)s") % {"label": label, "reason": case.result}
            if case.result
            else label
        )
    if case.status == Status.REJECTED:
        reason = _last_note(case, {"reject"})
        return _("%(label)s：%(reason)s") % {"label": label, "reason": reason} if reason else label
    return label


def _description(case: Case) -> str:
    description = case.description.strip()
    if not description:
        return case.title
    if description.startswith(case.title):
        return description
    return f"{case.title}\n{description}"


def request_out(case: Case, *, media_base: str, notes: bool = False) -> dict[str, Any]:
    """One request, as public: no reporter, no staff names. Needs the case loaded by
    selectors (public_events, public_photos, category, lead_department, handling_unit)."""
    photos = getattr(case, "public_photos", [])
    closed = case.status not in OPEN_STATUSES
    department = case.lead_department
    out: dict[str, Any] = {
        "service_request_id": str(case.pk),
        "status": open_or_closed(case.status),
        "status_notes": status_notes(case),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": _description(case),
        "agency_responsible": department.name if department else case.handling_unit.name,
        "service_notice": limits_text(case),
        "requested_datetime": w3c(case.created_at),
        "updated_datetime": w3c((case.closed_at if closed else None) or case.updated_at),
        "expected_datetime": w3c(case.resolution_due_at),
        "address": case.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": f"{media_base}{photos[0].pk}" if photos else None,
    }
    if notes:
        out["notes"] = [note_out(event) for event in getattr(case, "public_events", [])]
    return out


def note_out(event: CaseEvent) -> dict[str, Any]:
    """A timeline entry in the `notes` extension (as Chicago's Open311 publishes them)."""
    if event.action == "report":
        kind = "opened"
    elif event.to_status not in OPEN_STATUSES and event.action in (
        "verify_pass",
        "reject",
        "merge",
        "resolve_on_spot",
    ):
        kind = "closed"
    else:
        kind = "activity"
    return {
        "datetime": w3c(event.created_at),
        "summary": str(TIMELINE_LABELS.get(event.action, event.action)),
        "type": kind,
        "description": event.note or None,
    }


# mySociety's statuses for FixMyStreet's servicerequestupdates extension.
UPDATE_STATUSES = {
    Status.REPORTED: "open",
    Status.ACCEPTED: "investigating",
    Status.DISPATCHED: "action_scheduled",
    Status.IN_PROGRESS: "in_progress",
    Status.HANDLED: "in_progress",
    Status.SUSPENDED: "action_scheduled",
    Status.REJECTED: "not_councils_responsibility",
    Status.MERGED: "duplicate",
}


def update_status(event: CaseEvent) -> str:
    if event.to_status == Status.CLOSED:
        outcome = event.case.outcome
        if outcome == Outcome.SOLVED:
            return "fixed"
        return "no_further_action" if outcome == Outcome.UNSOLVABLE else "closed"
    return UPDATE_STATUSES.get(Status(event.to_status), "open")


def update_out(event: CaseEvent, *, media_base: str) -> dict[str, Any]:
    photos = getattr(event, "public_photos", [])
    return {
        "update_id": str(event.pk),
        "service_request_id": str(event.case.pk),
        "status": update_status(event),
        "updated_datetime": w3c(event.created_at),
        "description": event.note or str(TIMELINE_LABELS.get(event.action, event.action)),
        "media_url": f"{media_base}{photos[0].pk}" if photos else None,
    }
