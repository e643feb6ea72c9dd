"""Case endpoints of the staff API: intake, every transition, list with filters and cursor
pagination, detail with timeline, categories. Views only parse and call actions/selectors."""

import base64
import binascii
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field, field_validator

from wangge.accounts.models import User
from wangge.accounts.scope import scope_of
from wangge.apiauth import UNCHECKED, TokenAuth
from wangge.cases import actions, selectors
from wangge.cases.models import ApprovalKind, Case, CaseEvent
from wangge.cases.models import Status as CaseStatus
from wangge.cases.sla import sla_status
from wangge.core.bilingual import in_language
from wangge.core.errors import DomainError
from wangge.core.schemas import CASE_ERRORS, COMMON_ERRORS
from wangge.core.validators import mask_mobile
from wangge.territory.models import Department

router = Router(tags=["cases"])


ERRORS = CASE_ERRORS


# --- categories ---------------------------------------------------------------------------


class CategoryOut(Schema):
    code: str
    name: str
    name_en: str = Field(description="the English name; empty when none is set")
    parent: str | None = Field(None, description="the class (大类) code; empty for a class")
    icon: str
    priority: str
    response_limit_hours: int
    resolution_limit: int
    resolution_unit: str
    questions: list[dict[str, Any]] = Field(description="extra questions asked on intake")


@router.get(
    "/categories",
    response={200: list[CategoryOut], **COMMON_ERRORS},
    summary="Active categories (大类 and 小类)",
)
def categories(request: HttpRequest) -> Any:
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "parent": c.parent.code if c.parent else None,
            "icon": c.icon,
            "priority": c.priority,
            "response_limit_hours": c.response_limit_hours,
            "resolution_limit": c.resolution_limit,
            "resolution_unit": c.resolution_unit,
            "questions": c.questions,
        }
        for c in selectors.category_list()
    ]


# --- output shapes ------------------------------------------------------------------------


class UnitRef(Schema):
    code: str
    name: str


class DepartmentRef(Schema):
    id: int
    name: str


class CaseOut(Schema):
    id: int
    tracking_code: str
    title: str
    status: str
    status_label: str
    sla_status: str = Field(description="normal, due_soon or overdue")
    category: str
    source: str
    priority: str
    grid: UnitRef
    handling_unit: UnitRef
    lead_department: DepartmentRef | None
    lon: float | None
    lat: float | None
    address: str
    created_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    closed_at: datetime | None
    rating: str
    version: int = Field(description="send it back as `version` with a transition")
    calendar_warning: str


class EventOut(Schema):
    action: str
    label: str
    from_status: str
    to_status: str
    actor: str
    note: str
    is_public: bool
    created_at: datetime


class PhotoOut(Schema):
    id: int
    width: int
    height: int
    is_public: bool
    url: str
    thumbnail_url: str


class CaseDetailOut(CaseOut):
    description: str
    answers: dict[str, Any]
    result: str
    outcome: str
    reporter_name: str
    reporter_phone: str = Field(description="masked: 139****2222")
    is_anonymous: bool
    co_departments: list[DepartmentRef]
    available_actions: list[str] = Field(description="the transitions the caller may take now")
    photos: list[PhotoOut]
    timeline: list[EventOut]


class CaseCreatedOut(CaseOut):
    """What intake answers: the stored case and its first timeline entries. The actions you may
    take next are in GET /cases/{id}."""

    description: str
    answers: dict[str, Any]
    is_anonymous: bool
    photos: list[PhotoOut]
    timeline: list[EventOut]


class CasePageOut(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


def _out(case: Case) -> dict[str, Any]:
    """The list shape; needs category, grid, handling_unit and lead_department loaded."""
    department = case.lead_department
    return {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "title": case.title,
        "status": case.status,
        # Not get_status_display(): it hashes every status's label on each call.
        "status_label": str(CaseStatus(case.status).label),
        "sla_status": sla_status(case),
        "category": case.category.code,
        "source": case.source,
        "priority": case.priority,
        "grid": {"code": case.grid.code, "name": case.grid.name},
        "handling_unit": {"code": case.handling_unit.code, "name": case.handling_unit.name},
        "lead_department": {"id": department.pk, "name": department.name} if department else None,
        "lon": case.lon,
        "lat": case.lat,
        "address": case.address,
        "created_at": case.created_at,
        "response_due_at": case.response_due_at,
        "resolution_due_at": case.resolution_due_at,
        "closed_at": case.closed_at,
        "rating": case.rating,
        "version": case.version,
        "calendar_warning": in_language(case.calendar_warning),
    }


def _event_out(e: CaseEvent) -> dict[str, Any]:
    return {
        "action": e.action,
        "label": e.get_action_label(),
        "from_status": e.from_status,
        "to_status": e.to_status,
        "actor": _(e.actor_label),  # 群众 / 系统 in the reader's language; names as they are
        "note": e.note,
        "is_public": e.is_public,
        "created_at": e.created_at,
    }


def _created(case: Case) -> dict[str, Any]:
    """The intake answer; needs the new case's category, units, events and photos loaded."""
    data = _out(case)
    data.update(
        description=case.description,
        answers=case.answers,
        is_anonymous=case.is_anonymous,
        photos=[_photo_out(p) for p in _related(case, "photos")],
        timeline=[_event_out(e) for e in _related(case, "events")],
    )
    return data


def _related(case: Case, name: str) -> Any:
    """The case's `name` rows: those it carries (prefetched, or handed over by the intake
    action) without building a related manager and queryset for them, else a query."""
    loaded = getattr(case, "_prefetched_objects_cache", {}).get(name)
    return loaded if loaded is not None else getattr(case, name).all()


def _photo_out(p: Any) -> dict[str, Any]:
    return {
        "id": p.pk,
        "width": p.width,
        "height": p.height,
        "is_public": p.is_public,
        "url": reverse("cases:photo", args=[p.pk, "full"]),
        "thumbnail_url": reverse("cases:photo", args=[p.pk, "thumb"]),
    }


def _detail(user: Any, case_id: int, *, after_action: bool = False) -> dict[str, Any]:
    if after_action:
        case = selectors.case_get_after_action(user=user, pk=case_id)
    else:
        case = selectors.case_get(user=user, pk=case_id)
    # Contact details are personal information: only for those who see the case's territory.
    contact = scope_of(user).sees_cases_at(case.grid_code)
    data = _created(case)
    data.update(
        result=case.result,
        outcome=case.outcome,
        reporter_name=case.reporter_name if contact else "",
        reporter_phone=mask_mobile(case.reporter_phone) if contact else "",
        co_departments=[{"id": d.pk, "name": d.name} for d in case.co_departments.all()],
        available_actions=actions.available_actions(user, case),
    )
    return data


# --- input helpers ------------------------------------------------------------------------

# Magic numbers of the accepted formats: a cheap first check that names the bad photo's index
# (the photo module then checks the whole content).
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def _looks_like_image(data: bytes) -> bool:
    return data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _decode_photos(photos: list[str]) -> list[bytes]:
    decoded = []
    for i, item in enumerate(photos):
        try:
            data = base64.b64decode(item.split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(
                _("第 %(n)d 张照片不是有效的 base64 (photo %(n)d is not base64)") % {"n": i + 1},
                field=f"photos.{i}",
                code="bad_base64",
            ) from None
        if not _looks_like_image(data):
            raise DomainError(
                _(
                    "第 %(n)d 张照片不是 JPEG、PNG 或 WebP 图片 (photo %(n)d: only JPEG, PNG or WebP)"
                )
                % {"n": i + 1},
                field=f"photos.{i}",
                code="bad_type",
            )
        decoded.append(data)
    return decoded


@contextmanager
def _fields(renames: dict[str, str]) -> Iterator[None]:
    """Report an action's error under the name the API's input uses (department → department_id)."""
    try:
        yield
    except DomainError as exc:
        if exc.field in renames:
            exc.field = renames[exc.field]
        raise


# --- intake -------------------------------------------------------------------------------


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class CaseIn(Schema):
    category: str = Field(description="sub-category (小类) code", max_length=40)
    title: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    lon: float | None = Field(
        None, ge=-180, le=180, description="WGS84; a point outside every grid is refused"
    )
    lat: float | None = Field(None, ge=-90, le=90, description="WGS84")
    address: str = Field("", max_length=200)
    source: Literal["resident", "grid_patrol", "building_head", "hotline", "inspection"] = (
        "grid_patrol"
    )
    priority: Literal["normal", "urgent", "emergency"] | None = Field(
        None, description="the category's default when empty"
    )
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20)
    is_anonymous: bool = False
    answers: dict[str, Any] = Field(
        default_factory=dict, description="answers to the category's extra questions, by key"
    )
    photos: list[str] = Field(
        default_factory=list, max_length=9, description="base64-encoded JPEG/PNG/WebP"
    )
    resolve_on_spot: bool = Field(False, description="即报即办: the reporter fixed it already")
    result: str = Field("", max_length=2000, description="required with resolve_on_spot")
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=48,
        description="a retry with the same key (from the same user) returns the same case",
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """A NUL character cannot be stored (PostgreSQL refuses it in text and JSON): refused
        here by the field, not by the database as a 500."""
        if _has_nul(value):
            raise ValueError("NUL")
        return value


@router.post(
    "/cases",
    # The intake's one read checks the token again: a token this process knows is not read
    # on its own first (wangge.apiauth.TokenAuth).
    auth=TokenAuth(checked_later=True),
    response={201: CaseCreatedOut, **ERRORS},
    summary="Report a case",
    description="Errors about the point (missing, outside every grid) name the field `location`.",
)
def create_case(request: HttpRequest, payload: CaseIn) -> Any:
    user = request.user
    case = actions.create_case(
        actor=user,
        # The code: the action reads the category with everything else it checks, at once.
        category=payload.category,
        title=payload.title,
        description=payload.description,
        lon=payload.lon,
        lat=payload.lat,
        address=payload.address,
        source=payload.source,
        priority=payload.priority,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        is_anonymous=payload.is_anonymous,
        answers=payload.answers,
        photos=_decode_photos(payload.photos),
        resolve_on_spot=payload.resolve_on_spot,
        result=payload.result,
        # Keys are the client's: two users' keys never meet.
        idempotency_key=f"api:{user.pk}:{payload.idempotency_key}"
        if payload.idempotency_key
        else None,
        token_id=unchecked[0] if (unchecked := getattr(request, UNCHECKED, None)) else None,
    )
    if "events" not in getattr(case, "_prefetched_objects_cache", {}):
        # A replay of an idempotent request: the stored case, read like any other.
        case = selectors.case_get(user=user, pk=case.pk)
    return _created_response(request, _created(case))


def _created_response(request: HttpRequest, data: dict[str, Any]) -> HttpResponse:
    """201 with `data` rendered as it is, without ninja validating it against CaseCreatedOut
    again: `_created` builds exactly that shape from values of the declared types, and ninja's
    re-validation of the answer was about 6 % of an intake's CPU. The declared schema is what
    /api/v1/openapi.json publishes; tests hold the answer to it (test_api.py, the schemathesis
    run)."""
    from wangge.api import api  # this module is one of its routers: loaded by then

    return api.create_response(request, data, status=201)


# --- reads --------------------------------------------------------------------------------


class CaseListQuery(Schema):
    status: str = Field("", description="one status or several, comma-separated")
    sla: str = Field("", description="normal, due_soon or overdue")
    category: str = Field("", description="a category code (大类 or 小类)")
    unit: str = Field("", description="a street, community or grid code: cases inside it")
    department: str = Field("", description="the lead department's id")
    source: str = ""
    date_from: str = Field("", description="reported on or after, YYYY-MM-DD")
    date_to: str = Field("", description="reported on or before, YYYY-MM-DD")
    q: str = Field("", description="text in title, description, address, or a tracking code")
    queue: str = Field("", description="a to-do queue of the caller, e.g. reported, overdue")
    cursor: str = Field("", description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


@router.get(
    "/cases", response={200: CasePageOut, **ERRORS}, summary="Cases in your scope, newest first"
)
def list_cases(request: HttpRequest, query: Query[CaseListQuery]) -> Any:
    params = QueryDict(mutable=True)
    for key, value in query.dict(exclude={"cursor", "limit"}).items():
        if value:
            params[key] = value
    filters = selectors.CaseFilters.from_params(params)
    page = selectors.case_page(
        user=request.user, filters=filters, cursor=query.cursor, limit=query.limit
    )
    return {"items": [_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/cases/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="A case with its timeline"
)
def get_case(request: HttpRequest, case_id: int) -> Any:
    return _detail(request.user, case_id)


# --- transitions --------------------------------------------------------------------------


class TransitionIn(Schema):
    version: int | None = Field(
        None, description="the version you saw; if the case changed since, the answer is 409"
    )
    note: str = Field("", max_length=2000)


NO_BODY = TransitionIn(version=None, note="")


class DispatchIn(TransitionIn):
    department_id: int | None = Field(None, description="the lead department, or…")
    worker_id: int | None = Field(None, description="…the lead grid worker")
    co_department_ids: list[int] = Field(default_factory=list, max_length=10)


class HandleIn(TransitionIn):
    result: str = Field(max_length=2000)
    outcome: Literal["solved", "explained", "unsolvable"] = "solved"
    photos: list[str] = Field(
        default_factory=list, max_length=9, description="base64-encoded JPEG/PNG/WebP"
    )
    public_photos: bool = True


class ExtensionIn(TransitionIn):
    extra: int = Field(ge=1, le=60, description="working days")


class RateIn(TransitionIn):
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    solved: bool = True


class MergeIn(TransitionIn):
    master_id: int


def _department(pk: int | None, *, field: str) -> Department | None:
    if pk is None:
        return None
    department = Department.objects.select_related("unit").filter(pk=pk).first()
    if department is None:
        raise DomainError(_("部门不存在 (unknown department)"), field=field, code="unknown")
    return department


def _act(request: HttpRequest, case_id: int, perform: Callable[[], Any]) -> dict[str, Any]:
    # A case outside the caller's scope is 404 before anything else, so nothing leaks.
    selectors.case_get(user=request.user, pk=case_id)
    perform()
    return _detail(request.user, case_id, after_action=True)


TRANSITION_RESPONSES = {200: CaseDetailOut, **ERRORS}

# Transitions that need nothing but a version and a note.
SIMPLE = [
    "accept",
    "reject",
    "sign",
    "return",
    "escalate",
    "approve_suspension",
    "deny_request",
    "resume",
    "approve_extension",
    "reopen",
]


def _simple(action: str) -> Callable[..., Any]:
    fn = actions.ACTIONS[action]

    def endpoint(request: HttpRequest, case_id: int, payload: TransitionIn | None = None) -> Any:
        body = payload or NO_BODY
        return _act(
            request,
            case_id,
            lambda: fn(
                case_id=case_id, actor=request.user, expected_version=body.version, note=body.note
            ),
        )

    endpoint.__name__ = f"case_{action}"
    return endpoint


for _action in SIMPLE:
    router.post(
        f"/cases/{{case_id}}/{_action}",
        response=TRANSITION_RESPONSES,
        summary=f"Transition: {_action}",
        operation_id=f"case_{_action}",
    )(_simple(_action))


@router.post("/cases/{case_id}/dispatch", response=TRANSITION_RESPONSES)
def case_dispatch(request: HttpRequest, case_id: int, payload: DispatchIn) -> Any:
    """Transition: dispatch to one lead (a department or a grid worker) and co-handlers."""

    def perform() -> None:
        worker = None
        if payload.worker_id is not None:
            worker = User.objects.filter(pk=payload.worker_id, is_active=True).first()
            if worker is None:
                raise DomainError(
                    _("人员不存在 (unknown worker)"), field="worker_id", code="unknown"
                )
        co = [
            d
            for d in (
                _department(pk, field="co_department_ids") for pk in payload.co_department_ids
            )
            if d
        ]
        with _fields(
            {"department": "department_id", "worker": "worker_id", "lead": "department_id"}
        ):
            actions.dispatch(
                case_id=case_id,
                actor=request.user,
                department=_department(payload.department_id, field="department_id"),
                worker=worker,
                co_departments=co,
                expected_version=payload.version,
                note=payload.note,
            )

    return _act(request, case_id, perform)


@router.post("/cases/{case_id}/handle", response=TRANSITION_RESPONSES)
def case_handle(request: HttpRequest, case_id: int, payload: HandleIn) -> Any:
    """Transition: report the result (处置反馈), with photos."""
    return _act(
        request,
        case_id,
        lambda: actions.handle(
            case_id=case_id,
            actor=request.user,
            result=payload.result,
            outcome=payload.outcome,
            photos=_decode_photos(payload.photos),
            public_photos=payload.public_photos,
            expected_version=payload.version,
        ),
    )


def _verify(passed: bool) -> Callable[..., Any]:
    def endpoint(request: HttpRequest, case_id: int, payload: TransitionIn | None = None) -> Any:
        body = payload or NO_BODY
        return _act(
            request,
            case_id,
            lambda: actions.verify(
                case_id=case_id,
                actor=request.user,
                passed=passed,
                note=body.note,
                expected_version=body.version,
            ),
        )

    endpoint.__name__ = "case_verify_pass" if passed else "case_verify_fail"
    return endpoint


router.post(
    "/cases/{case_id}/verify_pass",
    response=TRANSITION_RESPONSES,
    summary="Transition: verify_pass (核查通过, closes the case)",
    operation_id="case_verify_pass",
)(_verify(True))
router.post(
    "/cases/{case_id}/verify_fail",
    response=TRANSITION_RESPONSES,
    summary="Transition: verify_fail (核查不通过, back to the handler; note required)",
    operation_id="case_verify_fail",
)(_verify(False))


@router.post("/cases/{case_id}/request_suspension", response=TRANSITION_RESPONSES)
def case_request_suspension(
    request: HttpRequest, case_id: int, payload: TransitionIn | None = None
) -> Any:
    """Transition: ask the desk to suspend the case (the clock stops once approved)."""
    body = payload or NO_BODY
    return _act(
        request,
        case_id,
        lambda: actions.request_approval(
            case_id=case_id,
            actor=request.user,
            kind=ApprovalKind.SUSPENSION,
            note=body.note,
            expected_version=body.version,
        ),
    )


@router.post("/cases/{case_id}/request_extension", response=TRANSITION_RESPONSES)
def case_request_extension(request: HttpRequest, case_id: int, payload: ExtensionIn) -> Any:
    """Transition: ask for `extra` more working days."""
    return _act(
        request,
        case_id,
        lambda: actions.request_approval(
            case_id=case_id,
            actor=request.user,
            kind=ApprovalKind.EXTENSION,
            note=payload.note,
            extra=payload.extra,
            expected_version=payload.version,
        ),
    )


@router.post("/cases/{case_id}/rate", response=TRANSITION_RESPONSES)
def case_rate(request: HttpRequest, case_id: int, payload: RateIn) -> Any:
    """Transition: record the reporter's rating (回访); 不满意 or not solved reopens once."""
    return _act(
        request,
        case_id,
        lambda: actions.rate(
            case_id=case_id,
            actor=request.user,
            rating=payload.rating,
            solved=payload.solved,
            note=payload.note,
            expected_version=payload.version,
        ),
    )


@router.post("/cases/{case_id}/merge", response=TRANSITION_RESPONSES)
def case_merge(request: HttpRequest, case_id: int, payload: MergeIn) -> Any:
    """Transition: merge this duplicate into a master case."""

    def perform() -> None:
        with _fields({"master": "master_id"}):
            actions.merge(
                case_id=case_id,
                actor=request.user,
                master_id=payload.master_id,
                note=payload.note,
                expected_version=payload.version,
            )

    return _act(request, case_id, perform)
