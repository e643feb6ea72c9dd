"""Reads behind the Open311 endpoints: services (our sub-categories), the public view of cases
and their timelines, API keys.

What the public sees: every case except those refused (不予受理) and those in the categories of
WANGGE_OPEN311_PRIVATE_CATEGORIES (personal matters such as disputes); a key also sees the
cases it filed. Never a reporter's name or phone, never a staff member's name, never a
non-public timeline entry or photo.
"""

from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from wangge.cases import selectors as case_selectors
from wangge.cases.models import OPEN_STATUSES, Case, CaseEvent, CasePhoto, Category, Status
from wangge.core.errors import DomainError
from wangge.open311.actions import hash_key
from wangge.open311.models import Open311ApiKey
from wangge.territory.models import Building, Level, OrgUnit

MAX_RECORDS = 1000


class NotFound(DomainError):
    """A resource or jurisdiction that does not exist: 404 in the Open311 error format."""

    code = "not_found"
    http_status = 404


def jurisdictions() -> list[str]:
    """The jurisdiction_id values this endpoint answers to: the setting, else the district codes."""
    configured = list(getattr(settings, "WANGGE_OPEN311_JURISDICTIONS", []) or [])
    if configured:
        return configured
    return list(OrgUnit.objects.filter(level=Level.DISTRICT).values_list("code", flat=True))


def check_jurisdiction(value: str) -> None:
    """An empty jurisdiction_id is fine (one jurisdiction per endpoint); a wrong one is a 404."""
    value = (value or "").strip()
    if value and value not in jurisdictions():
        raise NotFound(
            _("jurisdiction_id %(value)s 不存在，可用的是 %(known)s (jurisdiction_id not found)")
            % {"value": value, "known": ", ".join(jurisdictions())},
            field="jurisdiction_id",
        )


def key_for(raw: str) -> Open311ApiKey | None:
    """The active key whose secret is `raw`, with its user."""
    if not raw:
        return None
    key = (
        Open311ApiKey.objects.select_related("user")
        .filter(key_hash=hash_key(raw), is_active=True)
        .first()
    )
    if key is None or not key.user.is_active:
        return None
    return key


# --- services ------------------------------------------------------------------------------


def services() -> list[Category]:
    """Active sub-categories, in the order the report form shows them."""
    return list(
        Category.objects.filter(is_active=True, parent__isnull=False, parent__is_active=True)
        .select_related("parent")
        .order_by("parent__sort_order", "parent__code", "sort_order", "code")
    )


def service_get(code: str) -> Category:
    category = (
        Category.objects.filter(code=code, is_active=True, parent__isnull=False)
        .select_related("parent")
        .first()
    )
    if category is None:
        raise NotFound(
            _("service_code %(code)s 不存在或已停用 (service_code not found)") % {"code": code},
            field="service_code",
        )
    return category


def building_get(address_id: str) -> Building:
    building = (
        Building.objects.filter(pk=int(address_id)).select_related("grid").first()
        if address_id.isdigit() and len(address_id) <= 18
        else None
    )
    if building is None:
        raise DomainError(
            _("address_id %(id)s 不是已登记的楼栋编号 (address_id not found)") % {"id": address_id},
            field="address_id",
        )
    return building


# --- requests ------------------------------------------------------------------------------


def visible_q(key: Open311ApiKey | None) -> Q:
    public = ~Q(status=Status.REJECTED)
    private = case_selectors.private_category_ids()
    if private:
        public &= ~Q(category_id__in=private)
    if key is not None:
        public |= Q(reporter_id=key.user_id)
    return public


def _for_output(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related(
        "category__parent", "lead_department", "handling_unit"
    ).prefetch_related(
        Prefetch(
            "events",
            queryset=CaseEvent.objects.filter(is_public=True)
            .only("pk", "case_id", "action", "to_status", "note", "created_at")
            .order_by("created_at", "id"),
            to_attr="public_events",
        ),
        Prefetch(
            "photos",
            queryset=CasePhoto.objects.filter(is_public=True).only("pk", "case_id").order_by("pk"),
            to_attr="public_photos",
        ),
    )


def request_list(
    *,
    key: Open311ApiKey | None,
    ids: list[int],
    service_codes: list[str],
    start: datetime | None,
    end: datetime | None,
    statuses: set[str],
) -> list[Case]:
    """Newest first, at most MAX_RECORDS. Ids, when given, override every other filter."""
    qs = Case.objects.filter(visible_q(key))
    if ids:
        qs = qs.filter(pk__in=ids)
    else:
        if service_codes:
            qs = qs.filter(category__code__in=service_codes)
        if start is not None:
            qs = qs.filter(created_at__gte=start)
        if end is not None:
            qs = qs.filter(created_at__lte=end)
        if statuses == {"open"}:
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif statuses == {"closed"}:
            qs = qs.exclude(status__in=OPEN_STATUSES)
    return list(_for_output(qs).order_by("-created_at", "-id")[:MAX_RECORDS])


def request_get(*, key: Open311ApiKey | None, pk: int) -> Case:
    case = _for_output(Case.objects.filter(visible_q(key), pk=pk)).first()
    if case is None:
        raise NotFound(
            _("service_request_id %(id)s 不存在 (service_request_id not found)") % {"id": pk},
            field="service_request_id",
        )
    return case


def request_id_for_token(token: str) -> int:
    """A case's 查询码 is the token a resident can hand to an app to follow the case."""
    pk = (
        Case.objects.filter(tracking_code=token.strip().upper())
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        raise NotFound(
            _("token %(token)s 不存在 (token not found)") % {"token": token}, field="token"
        )
    return pk


def updates(*, key: Open311ApiKey | None, start: datetime, end: datetime) -> list[CaseEvent]:
    """Public timeline entries after the report, oldest first (so a client can move start_date
    on), at most MAX_RECORDS."""
    return list(
        CaseEvent.objects.filter(
            is_public=True,
            created_at__gte=start,
            created_at__lte=end,
            case__in=Case.objects.filter(visible_q(key)).values("pk"),
        )
        .exclude(action="report")
        .select_related("case")
        .only(
            "pk",
            "action",
            "to_status",
            "note",
            "created_at",
            "case__id",
            "case__outcome",
            "case__status",
        )
        .prefetch_related(
            Prefetch(
                "photos",
                queryset=CasePhoto.objects.filter(is_public=True).only("pk", "event_id"),
                to_attr="public_photos",
            )
        )
        .order_by("created_at", "id")[:MAX_RECORDS]
    )


def public_photo(*, pk: int) -> CasePhoto:
    """A public photo of a publicly visible case (the media_url of a request)."""
    photo = (
        CasePhoto.objects.filter(
            pk=pk, is_public=True, case__in=Case.objects.filter(visible_q(None)).values("pk")
        )
        .only("pk", "image", "case_id")
        .first()
    )
    if photo is None:
        raise Http404("photo not found")
    return photo
