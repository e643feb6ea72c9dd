"""Writes for Open311: API keys (issued and edited in the admin) and filing a service request,
which is create_case with the key's user and source."""

import hashlib
import re
import secrets
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.cases import actions as case_actions
from wangge.cases.matching import locate_text
from wangge.cases.models import Case, Category, Source
from wangge.core.errors import DomainError
from wangge.core.validators import plain_phone
from wangge.open311.models import Open311ApiKey
from wangge.open311.params import NewRequest

KEY_PREFIX = "o311_"
# How often a key's last_used_at is refreshed: not a write on every request.
LAST_USED_RESOLUTION_SECONDS = 60


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _check_key_fields(*, name: str, rate_limit_per_minute: int, source: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("请填写密钥名称 (name is required)"), field="name", code="required")
    if rate_limit_per_minute < 1:
        raise DomainError(
            _("每分钟请求上限至少为 1 (rate limit must be at least 1)"),
            field="rate_limit_per_minute",
        )
    if source not in Source.values:
        raise DomainError(_("来源无效 (unknown source)"), field="source")
    return name


def issue_key(
    *,
    name: str,
    user: Any,
    source: str = Source.RESIDENT,
    rate_limit_per_minute: int = 60,
    is_active: bool = True,
) -> tuple[Open311ApiKey, str]:
    """A new key; the secret is returned once and only its hash is stored."""
    name = _check_key_fields(name=name, rate_limit_per_minute=rate_limit_per_minute, source=source)
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = Open311ApiKey.objects.create(
        name=name,
        key_hash=hash_key(raw),
        prefix=raw[: len(KEY_PREFIX) + 4],
        user=user,
        source=source,
        rate_limit_per_minute=rate_limit_per_minute,
        is_active=is_active,
    )
    return key, raw


def update_key(
    *,
    key: Open311ApiKey,
    name: str,
    user: Any,
    source: str,
    rate_limit_per_minute: int,
    is_active: bool,
) -> Open311ApiKey:
    key.name = _check_key_fields(
        name=name, rate_limit_per_minute=rate_limit_per_minute, source=source
    )
    key.user = user
    key.source = source
    key.rate_limit_per_minute = rate_limit_per_minute
    key.is_active = is_active
    key.save(update_fields=["name", "user", "source", "rate_limit_per_minute", "is_active"])
    return key


def note_key_used(*, key: Open311ApiKey) -> None:
    now = timezone.now()
    if (
        key.last_used_at is None
        or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        Open311ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now


# --- POST requests -------------------------------------------------------------------------

# create_case's inputs, named as the Open311 parameters the client sent.
_PARAMETER_OF = {
    "title": "description",
    "description": "description",
    "address": "address_string",
    "location": "lat",
    "grid": "lat",
    "reporter_phone": "phone",
    "reporter_name": "last_name",
    "category": "service_code",
}


def _parameter(field: str | None) -> str | None:
    if field and field.startswith("answers."):
        return f"attribute[{field.removeprefix('answers.')}]"
    return _PARAMETER_OF.get(field or "", field)


def _renamed(exc: DomainError) -> DomainError:
    errors = getattr(exc, "errors", None) or [exc]
    for error in errors:
        error.field = _parameter(error.field)
    exc.field = errors[0].field
    return exc


def _reporter_name(first: str, last: str) -> str:
    # Chinese names are family name first and unspaced; others "given family".
    if re.search(r"[\u4e00-\u9fff]", first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def _answers(category: Category, attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as our questions take them: a datetime attribute is a date question."""
    types = {q["key"]: q.get("type") for q in category.questions or []}
    answers: dict[str, Any] = {}
    for code, value in attributes.items():
        if types.get(code) == "date" and isinstance(value, str) and "T" in value:
            value = value.split("T", 1)[0]
        answers[code] = value
    return answers


def _phone(raw: str) -> str:
    phone = plain_phone(raw)
    if len(phone) > 20:
        raise DomainError(_("联系电话格式不正确 (invalid phone number)"), field="phone")
    return phone


def file_request(*, key: Open311ApiKey, request: NewRequest, category: Category) -> Case:
    """A case from an Open311 POST, filed as the key's user with the key's source. The place is
    lat/long, else the building named by address_id, else what address_string names (a building
    address, a community or grid name, coordinates)."""
    from wangge.open311.selectors import building_get

    lon, lat, grid = request.lon, request.lat, None
    address = request.address_string
    if lat is None and request.address_id:
        building = building_get(request.address_id)
        lon, lat, grid = building.lon, building.lat, building.grid
        address = address or building.address
    elif lat is None:
        place = locate_text(request.address_string)
        if place is None:
            raise DomainError(
                _(
                    "无法根据 address_string 确定位置：请提供 lat 和 long，或写明楼栋地址、社区名称 "
                    "(address_string could not be located; send lat and long)"
                ),
                field="address_string",
            )
        lon, lat, grid = place.lon, place.lat, place.grid
    description = request.description
    if request.media_url:
        # We do not fetch other servers' media; staff open the link themselves.
        description = f"{description}\n{_('图片')}：{request.media_url}".strip()
    title = case_actions.title_from(request.description)
    try:
        return case_actions.create_case(
            actor=key.user,
            category=category,
            title=title or category.name,
            description=description,
            lon=lon,
            lat=lat,
            grid=grid,
            address=address,
            source=key.source,
            reporter_name=_reporter_name(request.first_name, request.last_name)[:50],
            reporter_phone=_phone(request.phone),
            answers=_answers(category, request.attributes),
        )
    except DomainError as exc:
        raise _renamed(exc) from None
