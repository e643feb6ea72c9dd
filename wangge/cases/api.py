"""Case endpoints of the staff API: intake, every transition, list with filters and cursor
pagination, detail with timeline, categories. Views only parse and call actions/selectors."""

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, QueryDict
from ninja import Router, Schema
from pydantic import Field

from wangge.accounts.models import User
from wangge.cases import actions, selectors
from wangge.cases.models import ApprovalKind, Case, Category
from wangge.cases.sla import sla_status
from wangge.core.errors import DomainError
from wangge.territory.models import Department

router = Router(tags=["cases"])


class ErrorItem(Schema):
    field: str | None
    code: str
    message: str


class ErrorOut(Schema):
    errors: list[ErrorItem]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class CategoryOut(Schema):
    code: str
    name: str
    parent: str | None = Field(None, description="the class (大类) code")
    icon: str
    priority: str
    response_limit_hours: int
    resolution_limit: int
    resolution_unit: str
    questions: list[dict[str, Any]]


@router.get("/categories", response=list[CategoryOut], summary="Active categories (大类 and 小类)")
def categories(request: HttpRequest) -> Any:
    return [
        {
            "code": c.code,
            "name": c.name,
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


class CaseIn(Schema):
    category: str = Field(description="sub-category code", max_length=40)
    title: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    address: str = Field("", max_length=200)
    source: Literal["resident", "grid_patrol", "building_head", "hotline", "inspection"] = (
        "grid_patrol"
    )
    priority: Literal["normal", "urgent", "emergency"] | None = None
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20)
    is_anonymous: bool = False
    answers: dict[str, Any] = Field(default_factory=dict)
    photos: list[str] = Field(
        default_factory=list, max_length=9, description="base64-encoded JPEG/PNG/WebP"
    )
    resolve_on_spot: bool = False
    result: str = Field("", max_length=2000)
    idempotency_key: str | None = Field(None, max_length=64)


class UnitRef(Schema):
    code: str
    name: str


class CaseOut(Schema):
    id: int
    tracking_code: str
    title: str
    status: str
    status_label: str
    sla_status: str
    category: str
    source: str
    priority: str
    grid: UnitRef
    handling_unit: UnitRef
    lead_department: str | None
    lon: float | None
    lat: float | None
    address: str
    created_at: datetime
    response_due_at: datetime
    resolution_due_at: datetime
    closed_at: datetime | None
    rating: str
    version: int
    calendar_warning: str


class EventOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor: str
    note: str
    created_at: datetime


class CaseDetailOut(CaseOut):
    description: str
    answers: dict[str, Any]
    result: str
    outcome: str
    co_departments: list[str]
    available_actions: list[str]
    timeline: list[EventOut]


class CasePageOut(Schema):
    items: list[CaseOut]
    next_cursor: str | None


def _out(case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "tracking_code": case.tracking_code,
        "title": case.title,
        "status": case.status,
        "status_label": case.get_status_display(),
        "sla_status": sla_status(case),
        "category": case.category.code,
        "source": case.source,
        "priority": case.priority,
        "grid": {"code": case.grid.code, "name": case.grid.name},
        "handling_unit": {"code": case.handling_unit.code, "name": case.handling_unit.name},
        "lead_department": case.lead_department.name if case.lead_department else None,
        "lon": case.lon,
        "lat": case.lat,
        "address": case.address,
        "created_at": case.created_at,
        "response_due_at": case.response_due_at,
        "resolution_due_at": case.resolution_due_at,
        "closed_at": case.closed_at,
        "rating": case.rating,
        "version": case.version,
        "calendar_warning": case.calendar_warning,
    }


def _detail(user: Any, case_id: int) -> dict[str, Any]:
    case = selectors.case_get(user=user, pk=case_id)
    data = _out(case)
    data.update(
        description=case.description,
        answers=case.answers,
        result=case.result,
        outcome=case.outcome,
        co_departments=[d.name for d in case.co_departments.all()],
        available_actions=actions.available_actions(user, case),
        timeline=[
            {
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "actor": e.actor_label,
                "note": e.note,
                "created_at": e.created_at,
            }
            for e in selectors.case_events(case=case)
        ],
    )
    return data


def _decode_photos(photos: list[str]) -> list[bytes]:
    decoded = []
    for i, item in enumerate(photos):
        try:
            decoded.append(base64.b64decode(item.split(",", 1)[-1], validate=True))
        except (binascii.Error, ValueError):
            raise DomainError(
                f"第 {i + 1} 张照片不是有效的 base64 (photo is not base64)", field=f"photos.{i}"
            ) from None
    return decoded


@router.post("/cases", response={201: CaseDetailOut, **ERRORS}, summary="Report a case")
def create_case(request: HttpRequest, payload: CaseIn) -> Any:
    category = Category.objects.filter(code=payload.category).select_related("parent").first()
    if category is None:
        raise DomainError("分类不存在 (unknown category)", field="category")
    case = actions.create_case(
        actor=request.user,
        category=category,
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
        idempotency_key=payload.idempotency_key,
    )
    return 201, _detail(request.user, case.pk)


@router.get(
    "/cases", response={200: CasePageOut, **ERRORS}, summary="Cases in your scope, newest first"
)
def list_cases(
    request: HttpRequest,
    status: str = "",
    sla: str = "",
    category: str = "",
    unit: str = "",
    department: str = "",
    source: str = "",
    date_from: str = "",
    date_to: str = "",
    q: str = "",
    queue: str = "",
    cursor: str = "",
    limit: int = Field(50, ge=1, le=200),
) -> Any:
    params = QueryDict(mutable=True)
    for key, value in {
        "status": status,
        "sla": sla,
        "category": category,
        "unit": unit,
        "department": department,
        "source": source,
        "date_from": date_from,
        "date_to": date_to,
        "q": q,
        "queue": queue,
    }.items():
        if value:
            params[key] = value
    filters = selectors.CaseFilters.from_params(params)
    page = selectors.case_page(user=request.user, filters=filters, cursor=cursor, limit=limit)
    return {"items": [_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/cases/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary="A case with its timeline"
)
def get_case(request: HttpRequest, case_id: int) -> Any:
    return _detail(request.user, case_id)


class TransitionIn(Schema):
    version: int | None = Field(None, description="the version you saw; a newer one gives 409")
    note: str = Field("", max_length=2000)


class DispatchIn(TransitionIn):
    department_id: int | None = None
    worker_id: int | None = None
    co_department_ids: list[int] = Field(default_factory=list, max_length=10)


class HandleIn(TransitionIn):
    result: str = Field(max_length=2000)
    outcome: Literal["solved", "explained", "unsolvable"] = "solved"
    photos: list[str] = Field(default_factory=list, max_length=9)


class VerifyIn(TransitionIn):
    passed: bool


class RequestIn(TransitionIn):
    kind: Literal["suspension", "extension"]
    extra: int | None = Field(None, ge=1, le=60, description="working days, for an extension")


class RateIn(TransitionIn):
    rating: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    solved: bool = True


class MergeIn(TransitionIn):
    master_id: int


def _department(user: Any, pk: int | None) -> Department | None:
    if pk is None:
        return None
    department = Department.objects.select_related("unit").filter(pk=pk).first()
    if department is None:
        raise DomainError("部门不存在 (unknown department)", field="department_id")
    return department


def _simple(action: str) -> Any:
    fn = actions.ACTIONS[action]

    def endpoint(request: HttpRequest, case_id: int, payload: TransitionIn) -> Any:
        selectors.case_get(user=request.user, pk=case_id)
        fn(case_id=case_id, actor=request.user, expected_version=payload.version, note=payload.note)
        return _detail(request.user, case_id)

    endpoint.__name__ = f"case_{action}"
    return endpoint


for _action in [
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
]:
    router.post(
        f"/cases/{{case_id}}/{_action}",
        response={200: CaseDetailOut, **ERRORS},
        summary=f"Transition: {_action}",
        operation_id=f"case_{_action}",
    )(_simple(_action))


@router.post(
    "/cases/{case_id}/dispatch",
    response={200: CaseDetailOut, **ERRORS},
    summary="Transition: dispatch",
)
def dispatch(request: HttpRequest, case_id: int, payload: DispatchIn) -> Any:
    selectors.case_get(user=request.user, pk=case_id)
    worker = None
    if payload.worker_id is not None:
        worker = User.objects.filter(pk=payload.worker_id, is_active=True).first()
        if worker is None:
            raise DomainError("人员不存在 (unknown worker)", field="worker_id")
    co = [d for d in (_department(request.user, pk) for pk in payload.co_department_ids) if d]
    actions.dispatch(
        case_id=case_id,
        actor=request.user,
        department=_department(request.user, payload.department_id),
        worker=worker,
        co_departments=co,
        expected_version=payload.version,
        note=payload.note,
    )
    return _detail(request.user, case_id)


@router.post(
    "/cases/{case_id}/handle", response={200: CaseDetailOut, **ERRORS}, summary="Transition: handle"
)
def handle(request: HttpRequest, case_id: int, payload: HandleIn) -> Any:
    selectors.case_get(user=request.user, pk=case_id)
    actions.handle(
        case_id=case_id,
        actor=request.user,
        result=payload.result,
        outcome=payload.outcome,
        photos=_decode_photos(payload.photos),
        expected_version=payload.version,
    )
    return _detail(request.user, case_id)


@router.post(
    "/cases/{case_id}/verify", response={200: CaseDetailOut, **ERRORS}, summary="Transition: verify"
)
def verify(request: HttpRequest, case_id: int, payload: VerifyIn) -> Any:
    selectors.case_get(user=request.user, pk=case_id)
    actions.verify(
        case_id=case_id,
        actor=request.user,
        passed=payload.passed,
        note=payload.note,
        expected_version=payload.version,
    )
    return _detail(request.user, case_id)


@router.post(
    "/cases/{case_id}/request",
    response={200: CaseDetailOut, **ERRORS},
    summary="Request suspension or extension",
)
def request_approval(request: HttpRequest, case_id: int, payload: RequestIn) -> Any:
    selectors.case_get(user=request.user, pk=case_id)
    actions.request_approval(
        case_id=case_id,
        actor=request.user,
        kind=ApprovalKind(payload.kind),
        note=payload.note,
        extra=payload.extra,
        expected_version=payload.version,
    )
    return _detail(request.user, case_id)


@router.post(
    "/cases/{case_id}/rate",
    response={200: CaseDetailOut, **ERRORS},
    summary="Record the reporter's rating (callback)",
)
def rate(request: HttpRequest, case_id: int, payload: RateIn) -> Any:
    selectors.case_get(user=request.user, pk=case_id)
    actions.rate(
        case_id=case_id,
        actor=request.user,
        rating=payload.rating,
        solved=payload.solved,
        note=payload.note,
        expected_version=payload.version,
    )
    return _detail(request.user, case_id)


@router.post(
    "/cases/{case_id}/merge",
    response={200: CaseDetailOut, **ERRORS},
    summary="Merge this duplicate into a master case",
)
def merge(request: HttpRequest, case_id: int, payload: MergeIn) -> Any:
    selectors.case_get(user=request.user, pk=case_id)
    actions.merge(
        case_id=case_id,
        actor=request.user,
        master_id=payload.master_id,
        note=payload.note,
        expected_version=payload.version,
    )
    return _detail(request.user, case_id)
