"""Parsing of Open311 query strings and form posts. A bad value raises DomainError naming the
parameter exactly as the client sent it (start_date, lat, attribute[floor] …)."""

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.errors import DomainError, ValidationFailed

MAX_RANGE = timedelta(days=90)
STATUSES = ("open", "closed")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")


def _one(params: Any, name: str) -> str:
    value = params.get(name)
    return str(value).strip() if value is not None else ""


def parse_datetime(name: str, raw: str) -> datetime | None:
    """A w3 datetime (2010-01-01T00:00:00Z, with an offset, or a bare date); naive values are
    read in the server's time zone."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+") if "T" in raw else raw)
    except ValueError:
        raise DomainError(
            _("%(name)s 须为 W3C 日期时间，如 2026-05-01T00:00:00+08:00 (invalid datetime)")
            % {"name": name},
            field=name,
        ) from None
    if value.tzinfo is None:
        if "T" not in raw:
            value = datetime.combine(value.date(), time.min)
        value = value.replace(tzinfo=timezone.get_current_timezone())
    return value


def parse_range(params: Any, *, now: datetime) -> tuple[datetime, datetime]:
    """start_date and end_date: at most 90 days apart; a missing end is 90 days after the
    start (or now), a missing start 90 days before the end."""
    start = parse_datetime("start_date", _one(params, "start_date"))
    end = parse_datetime("end_date", _one(params, "end_date"))
    if start is None and end is None:
        return now - MAX_RANGE, now
    try:
        if start is None:
            assert end is not None
            return end - MAX_RANGE, end
        if end is None:
            return start, start + MAX_RANGE
    except OverflowError:
        # 90 days before year 1 or after year 9999.
        name = "end_date" if start is None else "start_date"
        raise DomainError(
            _("%(name)s 须为 W3C 日期时间，如 2026-05-01T00:00:00+08:00 (invalid datetime)")
            % {"name": name},
            field=name,
        ) from None
    if end < start:
        raise DomainError(
            _("end_date 不能早于 start_date (end_date is before start_date)"), field="end_date"
        )
    if end - start > MAX_RANGE:
        raise DomainError(
            _(
                "start_date 与 end_date 相隔不能超过 90 天，请缩小范围 "
                "(start_date and end_date may not span more than 90 days)"
            ),
            field="end_date",
        )
    return start, end


@dataclass
class RequestFilters:
    ids: list[int] = field(default_factory=list)
    service_codes: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    statuses: set[str] = field(default_factory=set)


def _comma_list(params: Any, name: str) -> list[str]:
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name) or ""]
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


def parse_filters(params: Any, *, now: datetime) -> RequestFilters:
    filters = RequestFilters()
    for raw in _comma_list(params, "service_request_id"):
        if not raw.isdigit() or len(raw) > 18:
            raise DomainError(
                _("service_request_id 须为数字编号，多个用逗号分隔 (invalid service_request_id)"),
                field="service_request_id",
            )
        filters.ids.append(int(raw))
    if filters.ids:
        # "This overrides all other arguments."
        return filters
    filters.service_codes = _comma_list(params, "service_code")
    for status in _comma_list(params, "status"):
        if status not in STATUSES:
            raise DomainError(
                _("status 只能是 open 或 closed (status must be open or closed)"), field="status"
            )
        filters.statuses.add(status)
    filters.start, filters.end = parse_range(params, now=now)
    return filters


# --- POST requests -------------------------------------------------------------------------


@dataclass
class NewRequest:
    service_code: str
    lat: float | None = None
    lon: float | None = None
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    media_url: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    account_id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def _float(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):
        raise DomainError(
            _("%(name)s 须为 %(low)s 到 %(high)s 之间的数字（WGS84）(invalid %(name)s)")
            % {"name": name, "low": low, "high": high},
            field=name,
        )
    return value


def parse_new_request(data: Any) -> NewRequest:
    """The POST form; every problem reported at once."""
    errors: list[DomainError] = []
    service_code = _one(data, "service_code")
    if not service_code:
        errors.append(
            DomainError(_("请提供 service_code (service_code is required)"), field="service_code")
        )
    request = NewRequest(service_code=service_code)
    raw_lat, raw_long = _one(data, "lat"), _one(data, "long")
    if raw_lat or raw_long:
        if not (raw_lat and raw_long):
            missing = "long" if raw_lat else "lat"
            errors.append(
                DomainError(
                    _("lat 与 long 须同时提供 (send both lat and long)"),
                    field=missing,
                    code="required",
                )
            )
        else:
            for name, raw, low, high in (("lat", raw_lat, -90, 90), ("long", raw_long, -180, 180)):
                try:
                    value = _float(name, raw, low, high)
                except DomainError as exc:
                    errors.append(exc)
                else:
                    setattr(request, "lat" if name == "lat" else "lon", value)
    request.address_string = _one(data, "address_string")
    request.address_id = _one(data, "address_id")
    if not (raw_lat or raw_long or request.address_string or request.address_id):
        errors.append(
            DomainError(
                _(
                    "请提供位置：lat 和 long，或 address_string，或 address_id "
                    "(a location is required: lat & long, address_string or address_id)"
                ),
                field="lat",
                code="required",
            )
        )
    request.description = _one(data, "description")
    request.media_url = _one(data, "media_url")
    if request.media_url:
        try:
            URLValidator(schemes=["http", "https"])(request.media_url)
            if len(request.media_url) > 500:
                raise ValidationError("too long")
        except ValidationError:
            errors.append(
                DomainError(
                    _("media_url 须为 http(s) 链接，最长 500 字符 (invalid media_url)"),
                    field="media_url",
                )
            )
    request.first_name = _one(data, "first_name")
    request.last_name = _one(data, "last_name")
    request.phone = _one(data, "phone")
    request.account_id = _one(data, "account_id")[:64]
    keys = data.keys() if hasattr(data, "keys") else []
    for key in keys:
        m = _ATTRIBUTE.match(key)
        if not m:
            continue
        values = data.getlist(key) if hasattr(data, "getlist") else [data.get(key)]
        request.attributes[m.group(1)] = values if m.group(2) else values[-1]
    if errors:
        raise ValidationFailed(errors)
    return request
