"""Every write to a case. Each transition is one atomic function that locks the row, checks the
state and the actor, writes the timeline entry and the outbox in the same transaction.

Views, the JSON API, Open311, commands and tasks all call these; nothing else changes a case.
"""

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from wangge.accounts.models import Membership, Role
from wangge.accounts.scope import forget_scope, scope_of
from wangge.cases import intake, sla
from wangge.cases.models import (
    ApprovalKind,
    ApprovalStatus,
    Case,
    CaseApproval,
    CaseEvent,
    Category,
    Outcome,
    Priority,
    Rating,
    SlaStatus,
    Source,
    Status,
)
from wangge.cases.questions import clean_answers
from wangge.cases.workflow import DESK, LEAD, REPORTER, TRANSITIONS, Transition
from wangge.core.errors import Conflict, DomainError, NotAuthenticated, PermissionDenied
from wangge.core.validators import MOBILE_RE
from wangge.dashboard import actions as stats
from wangge.notifications import actions as notify
from wangge.territory.models import Department, Level, OrgUnit, ancestor_codes

TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
MAX_REOPENS = 1


class IllegalTransition(Conflict):
    code = "illegal_transition"


class StaleCase(Conflict):
    code = "stale"


# --- helpers -----------------------------------------------------------------------------


def new_tracking_code() -> str:
    # 32 letters: each random byte modulo 32 is uniform (one token_bytes call, not eight
    # secrets.choice calls, on the intake's hot path).
    return "".join([TRACKING_ALPHABET[b & 31] for b in secrets.token_bytes(8)])


# Timeline labels are stored untranslated and translated where they are shown (the case page,
# the API), so that a resident's English browser does not write "Resident" into a Chinese
# district's history.
PUBLIC_LABEL = gettext_noop("群众")


def _actor_label(actor: Any) -> str:
    if actor is None:
        return PUBLIC_LABEL
    return str(actor)


def _event(
    case: Case,
    *,
    action: str,
    from_status: str,
    actor: Any,
    note: str = "",
    data: dict[str, Any] | None = None,
    is_public: bool = True,
    at: datetime | None = None,
    actor_label: str | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        action=action,
        from_status=from_status,
        to_status=case.status,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label if actor_label is not None else _actor_label(actor),
        note=note,
        data=data or {},
        is_public=is_public,
        created_at=at or timezone.now(),
    )


def is_lead(actor: Any, case: Case) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if case.lead_worker_id is not None and case.lead_worker_id == actor.pk:
        return True
    if case.lead_department_id is not None:
        return case.lead_department_id in scope_of(actor).department_ids
    return False


VERIFY_ACTIONS = frozenset({"verify_pass", "verify_fail"})


def _verifies_own_work(actor: Any, case: Case, transition: Transition) -> bool:
    """The grid worker who handled a case does not verify it: someone else checks the result
    (one who reports and fixes at once uses 即报即办)."""
    pk = getattr(actor, "pk", None)
    return transition.action in VERIFY_ACTIONS and pk is not None and case.lead_worker_id == pk


def may(actor: Any, case: Case, transition: Transition, *, as_reporter: bool = False) -> bool:
    """Whether `actor` may take `transition` on `case` (ignoring its current status)."""
    if as_reporter and REPORTER in transition.actors:
        return True
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    if _verifies_own_work(actor, case, transition):
        return False
    scope = scope_of(actor)
    if scope.is_superuser:
        return True
    if LEAD in transition.actors and is_lead(actor, case):
        return True
    code = case.handling_unit.code if transition.over == "handling_unit" else case.grid_code
    # Roles held at the unit or above it: staff below the handling unit do not act there.
    roles = scope.roles_at(code)
    writable = scope.can_act_on_code(code)
    return writable and bool(roles & (transition.actors - {LEAD, REPORTER}))


def available_actions(actor: Any, case: Case) -> list[str]:
    return [
        action
        for action, t in TRANSITIONS.items()
        if case.status in t.sources and may(actor, case, t) and _extra_condition(action, case)
    ]


def _pending_kinds(case: Case) -> set[str]:
    return {a.kind for a in case.approvals.all() if a.status == ApprovalStatus.PENDING}


def _extra_condition(action: str, case: Case) -> bool:
    # Only the approval steps look at pending requests: the others cost no query.
    if action in APPROVAL_STEPS:
        return _approval_condition(action, _pending_kinds(case))
    if action == "rate":
        return not case.rating
    if action == "reopen":
        return case.reopen_count < MAX_REOPENS
    if action == "escalate":
        return case.handling_unit.level != Level.DISTRICT
    return True


APPROVAL_STEPS = frozenset(
    {
        "approve_suspension",
        "approve_extension",
        "deny_request",
        "request_suspension",
        "request_extension",
    }
)


def _approval_condition(action: str, pending: set[str]) -> bool:
    if action == "approve_suspension":
        return ApprovalKind.SUSPENSION in pending
    if action == "approve_extension":
        return ApprovalKind.EXTENSION in pending
    if action == "deny_request":
        return bool(pending)
    if action == "request_suspension":
        return ApprovalKind.SUSPENSION not in pending
    return ApprovalKind.EXTENSION not in pending  # request_extension


def _desk_recipients(unit: OrgUnit) -> list[int]:
    codes = [*ancestor_codes(unit.code), unit.code]
    return list(
        Membership.objects.filter(role__in=DESK, unit__code__in=codes)
        .values_list("user_id", flat=True)
        .distinct()
    )


def _lead_recipients(case: Case) -> list[int]:
    if case.lead_worker_id:
        return [case.lead_worker_id]
    if case.lead_department_id:
        return list(
            Membership.objects.filter(
                role=Role.DEPARTMENT_HANDLER, department_id=case.lead_department_id
            ).values_list("user_id", flat=True)
        )
    return []


def _notify(
    case: Case,
    *,
    kind: str,
    recipients: list[int],
    title: Any,
    event: CaseEvent,
    params: dict[str, Any] | None = None,
    audience: str = "",
) -> None:
    """Tell `recipients` about `case`. The title (a lazy message, with `params`) is stored in
    the site's language, not in the language of whoever's action sent it, with its untranslated
    parts: each reader reads it in their own language (Notification.display_title), whatever
    language the sender used. `audience` tells apart two messages of one kind about one event
    (their outbox keys would be the same)."""
    if not recipients:
        return
    with translation.override(settings.LANGUAGE_CODE):
        text = str(title) % {k: str(v) for k, v in params.items()} if params else str(title)
    # The untranslated parts too, so that each reader reads it in their language
    # (Notification.display_title): with no language active a message is its msgid.
    with translation.override(None):
        parts = {
            "msgid": str(title),
            "params": {k: str(v) for k, v in (params or {}).items()},
            "translate": sorted(k for k, v in (params or {}).items() if isinstance(v, Promise)),
        }
    dedupe_key = f"case:{case.pk}:event:{event.pk}:{kind}"
    if audience:
        dedupe_key += f":{audience}"
    notify.enqueue(
        kind=kind,
        dedupe_key=dedupe_key,
        payload={
            "recipients": recipients,
            "title": text,
            "title_parts": parts,
            "body": case.title,
            "url": f"/cases/{case.pk}/",
            "case_id": case.pk,
        },
    )


def _transition(
    action: str,
    *,
    case_id: int,
    actor: Any,
    expected_version: int | None,
    note: str = "",
    as_reporter: bool = False,
    change: Callable[[Case], list[str]] | None = None,
    event_data: dict[str, Any] | None = None,
    is_public: bool = True,
    missing_note: DomainError | None = None,
) -> tuple[Case, CaseEvent]:
    """The one path of a state change. Must run inside transaction.atomic. `missing_note`: the
    error for an action whose required note has another name (处置结果 for handle)."""
    transition = TRANSITIONS[action]
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("handling_unit", "grid")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise DomainError(_("案件不存在 (case not found)"), field="case", code="not_found")
    if expected_version is not None and case.version != expected_version:
        raise StaleCase(
            _("案件已被他人更新，请刷新后重试 (the case changed, reload)"), field="version"
        )
    if case.status not in transition.sources:
        raise IllegalTransition(
            _("当前状态“%(status)s”不能执行“%(action)s” (not allowed in this state)")
            % {"status": case.get_status_display(), "action": transition.label},
            field="status",
        )
    if not as_reporter and _verifies_own_work(actor, case, transition):
        raise PermissionDenied(
            _(
                "不能核查自己处置的案件，请由社区或指挥中心核查 "
                "(the handler cannot verify their own work)"
            )
        )
    if not may(actor, case, transition, as_reporter=as_reporter):
        raise PermissionDenied(
            _("您无权对此案件执行“%(action)s” (not allowed for you)") % {"action": transition.label}
        )
    if not _extra_condition(action, case):
        raise IllegalTransition(
            _("此案件现在不能执行“%(action)s” (not possible now)") % {"action": transition.label},
            field="action",
        )
    note = (note or "").strip()
    if transition.needs_note and not note:
        raise missing_note or DomainError(
            _("请填写说明或理由 (a note is required)"), field="note", code="required"
        )
    from_status = case.status
    fields = change(case) if change else []
    if transition.target is not None:
        case.status = transition.target
        fields.append("status")
    case.version += 1
    case.save(update_fields=[*dict.fromkeys(fields), "version", "updated_at"])
    event = _event(
        case,
        action=action,
        from_status=from_status,
        actor=None if as_reporter else actor,
        note=note,
        data=event_data,
        is_public=is_public,
    )
    stats.record_transition(case=case, from_status=from_status, action=action, event=event)
    return case, event


# --- intake --------------------------------------------------------------------------------

# A title made from a report's text (随手拍, Open311, hotline rows without one): its first line.
TITLE_LENGTH = 40


def title_from(text: str) -> str:
    """The first line of `text`, shortened to TITLE_LENGTH characters with "…"."""
    first = text.strip().splitlines()[0].strip() if text and text.strip() else ""
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1] + "…"


def _check_text(value: str, *, field: str, label: Any, max_length: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(
            _("请填写%(label)s (%(label)s is required)") % {"label": label},
            field=field,
            code="required",
        )
    if len(value) > max_length:
        raise DomainError(
            _("%(label)s不能超过 %(n)d 个字 (%(label)s is too long)")
            % {"label": label, "n": max_length},
            field=field,
            code="too_long",
        )
    return value


def location_required() -> DomainError:
    """The error for a report without a point (the staff and the residents' forms name it with
    their other missing fields)."""
    return DomainError(
        _("请在地图上选择位置 (location is required)"), field="location", code="required"
    )


def _check_point(lon: float | None, lat: float | None) -> None:
    if lon is None or lat is None:
        raise location_required()
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise DomainError(_("位置坐标无效 (invalid coordinates)"), field="location", code="invalid")


def _outside() -> DomainError:
    return DomainError(
        _("该位置不在本区任何网格内，请重新选择 (the location is outside every grid)"),
        field="location",
        code="outside",
    )


# Choices' `values` builds a list on every access.
_SOURCES = frozenset(Source.values)
_PRIORITIES = frozenset(Priority.values)


def _point_error(lon: float | None, lat: float | None) -> DomainError | None:
    try:
        _check_point(lon, lat)
    except DomainError as exc:
        return exc
    return None


def create_case(
    *,
    actor: Any,
    category: Category | str,
    title: str,
    description: str = "",
    lon: float | None = None,
    lat: float | None = None,
    grid: OrgUnit | None = None,
    address: str = "",
    source: str = Source.RESIDENT,
    priority: str | None = None,
    reporter_name: str = "",
    reporter_phone: str = "",
    is_anonymous: bool = False,
    answers: dict[str, Any] | None = None,
    photos: Sequence[Any] = (),
    resolve_on_spot: bool = False,
    result: str = "",
    idempotency_key: str | None = None,
    external_ref: str = "",
    created_at: datetime | None = None,
    token_id: int | None = None,
) -> Case:
    """Take in a case. With an idempotency key, a retry returns the case the first call made.

    `token_id`: the API token the caller was let in with, not yet checked in this request
    (wangge.apiauth.TokenAuth took it from its cache): checked in the same read, and refused with
    NotAuthenticated before anything else once revoked or its user deactivated.

    `category` is a Category or its code (the API passes the code: it is then read in the one
    statement that reads everything intake checks, wangge.cases.intake.read_context).
    """
    from wangge.cases.photos import check_photo_count, clean_photos, delete_stored, store_files

    point_error = _point_error(lon, lat) if grid is None else None
    given_grid = grid

    def read(*, cached: bool) -> Case | tuple[intake.Context, int | None]:
        """What intake checks (or this process's copy of it, which the write verifies), or the
        case an earlier call with the idempotency key made."""
        context, grid_id = intake.read_context(
            category=category,
            priority=priority or None,
            lon=lon,
            lat=lat,
            locate=given_grid is None and point_error is None,
            idempotency_key=idempotency_key or None,
            token_id=token_id,
            superuser=bool(getattr(actor, "is_superuser", False)),
            cached=cached,
        )
        if not context.token_valid:
            raise NotAuthenticated(
                _("令牌已失效 (the token is no longer valid)"), field="Authorization"
            )
        if context.token_superuser is not None and actor.is_superuser != context.token_superuser:
            # The cached user is up to a minute old: its rights are as stored now.
            actor.is_superuser = context.token_superuser
            forget_scope(actor)
        if context.existing_id is not None:
            return Case.objects.get(pk=context.existing_id)
        return context, grid_id

    def check(context: intake.Context, grid_id: int | None) -> _Checked:
        """The report checked against `context`: a DomainError naming the field, or its values."""
        if context.category is None:
            raise DomainError(_("分类不存在 (unknown category)"), field="category", code="unknown")
        found = context.category
        if not found.is_active or found.parent_id is None:
            raise DomainError(
                _("请选择一个具体的小类 (choose an active sub-category)"), field="category"
            )
        checked = _Checked(
            context=context,
            category=found,
            # Lazy labels: translated only for an error message.
            title=_check_text(
                title, field="title", label=gettext_lazy("标题"), max_length=100, required=True
            ),
            description=_check_text(
                description,
                field="description",
                label=gettext_lazy("描述"),
                max_length=2000,
                required=False,
            ),
            address=_check_text(
                address, field="address", label=gettext_lazy("地址"), max_length=200, required=False
            ),
            priority=priority or found.priority,
            reporter_name=reporter_name,
            reporter_phone=(reporter_phone or "").strip(),
        )
        if source not in _SOURCES:
            raise DomainError(_("来源无效 (unknown source)"), field="source")
        if checked.priority not in _PRIORITIES:
            raise DomainError(_("紧急程度无效 (unknown priority)"), field="priority")
        phone = checked.reporter_phone
        if phone and not MOBILE_RE.match(phone) and not phone.replace("-", "").isdigit():
            raise DomainError(
                _("联系电话格式不正确 (invalid phone number)"), field="reporter_phone"
            )
        if is_anonymous:
            checked.reporter_name, checked.reporter_phone = "", ""
        checked.answers = clean_answers(category=found, answers=answers or {})
        unit = given_grid
        if unit is None:
            if point_error is not None:
                raise point_error
            if grid_id is None or context.grid is None:
                raise _outside()
            unit = context.grid
        elif unit.level not in (Level.GRID, Level.MICROGRID):
            raise DomainError(_("所属单元必须是网格 (grid must be a grid)"), field="grid")
        checked.grid = unit
        if resolve_on_spot:
            if source not in (Source.GRID_PATROL, Source.BUILDING_HEAD) or actor is None:
                raise DomainError(
                    _("只有网格员或楼栋长可以即报即办 (only field staff resolve on the spot)"),
                    field="resolve_on_spot",
                )
            if not scope_of(actor).can_act_on_code(unit.code):
                raise PermissionDenied(_("该位置不在您的网格内 (outside your grid)"))
            checked.result = _check_text(
                result, field="result", label=_("处置结果"), max_length=2000, required=True
            )
        return checked

    cleaned: list[Any] | None = None
    photo_error: DomainError | None = None
    # First on what this process has seen (no read; the write checks it is all still so), then,
    # if the checks or the write found it out of date, on what is stored now. A retry with an
    # idempotency key and photos reads first: it is most likely a replay, answered by the
    # stored case without re-encoding its photos.
    for cached in (not (idempotency_key and photos), False):
        found = read(cached=cached)
        if isinstance(found, Case):
            return found
        context, grid_id = found
        # Refused on a kept copy: what is stored now may refuse it otherwise, or hold the case
        # a retry with the key made. So the refusal is decided again on a fresh read (a
        # photo's refusal is kept for that, not worked out again).
        try:
            checked = check(context, grid_id)
        except DomainError:
            if context.guard is None:
                raise
            continue
        if photo_error is not None:
            raise photo_error
        if cleaned is None:
            try:
                check_photo_count(len(photos))
                # Every photo is checked (and re-encoded) before anything is written: a bad
                # one stores none.
                cleaned = clean_photos(photos)
            except DomainError as exc:
                if context.guard is None:
                    raise
                photo_error = exc
                continue
        case, events = _new_case(
            checked,
            actor=actor,
            lon=lon,
            lat=lat,
            source=source,
            is_anonymous=is_anonymous,
            resolve_on_spot=resolve_on_spot,
            idempotency_key=idempotency_key,
            external_ref=external_ref,
            created_at=created_at,
        )
        stored = store_files(cleaned, case=case, actor=actor, is_public=True)
        try:
            written = intake.write_case(
                case=case, events=events, photos=stored, guard=context.guard
            )
        except IntegrityError:
            delete_stored(stored)
            if idempotency_key:
                existing = Case.objects.filter(idempotency_key=idempotency_key).first()
                if existing is not None:
                    return existing
            raise
        except BaseException:
            # Nothing refers to the files: do not leave them behind.
            delete_stored(stored)
            raise
        if written:
            # The new case carries its timeline and photos, as prefetch_related would have
            # loaded them: whoever shows it next needs no query.
            case._prefetched_objects_cache = {  # type: ignore[attr-defined]
                "events": _known(case.events.all(), events),
                "photos": _known(case.photos.all(), stored),
            }
            return case
        delete_stored(stored)
    raise AssertionError("a context read from the database has no guard: it is written")


@dataclass
class _Checked:
    """A report's values as create_case checked them, and the context they were checked on."""

    context: intake.Context
    category: Category
    title: str
    description: str
    address: str
    priority: str
    reporter_name: str
    reporter_phone: str
    answers: dict[str, Any] = field(default_factory=dict)
    grid: OrgUnit | None = None
    result: str = ""


def _new_case(
    checked: _Checked,
    *,
    actor: Any,
    lon: float | None,
    lat: float | None,
    source: str,
    is_anonymous: bool,
    resolve_on_spot: bool,
    idempotency_key: str | None,
    external_ref: str,
    created_at: datetime | None,
) -> tuple[Case, list[CaseEvent]]:
    """The new case and its first timeline entries, not yet saved."""
    context, category, grid = checked.context, checked.category, checked.grid
    assert grid is not None
    now = created_at or timezone.now()
    limits = sla.limits_for(category=category, priority=checked.priority, policy=context.policy)
    due = sla.compute_due(
        started_at=now, limits=limits, calendar_revision=context.calendar_revision
    )
    community = grid.parent if grid.parent and grid.parent.level == Level.COMMUNITY else grid
    user = actor if getattr(actor, "pk", None) else None
    case = Case(
        tracking_code=new_tracking_code(),
        title=checked.title,
        description=checked.description,
        category=category,
        answers=checked.answers,
        lon=lon,
        lat=lat,
        address=checked.address,
        grid=grid,
        grid_code=grid.code,
        handling_unit=community,
        source=source,
        priority=checked.priority,
        reporter=user,
        reporter_name=checked.reporter_name,
        reporter_phone=checked.reporter_phone,
        is_anonymous=is_anonymous,
        external_ref=external_ref,
        clock_started_at=now,
        response_limit_hours=limits.response_hours,
        resolution_limit=limits.resolution,
        resolution_unit=limits.unit,
        response_due_at=due.response_due_at,
        resolution_due_at=due.resolution_due_at,
        due_soon_at=due.due_soon_at,
        calendar_warning=due.warning[:200],
        idempotency_key=idempotency_key or None,
        created_by=user,
        created_at=now,
    )
    label = _actor_label(actor)
    events = [
        CaseEvent(
            case=case,
            action="report",
            from_status="",
            to_status=Status.REPORTED,
            actor=user,
            actor_label=label,
            created_at=now,
        )
    ]
    if resolve_on_spot:
        case.status = Status.CLOSED
        case.result = checked.result
        case.outcome = Outcome.SOLVED
        case.lead_worker = actor
        case.signed_at = case.handled_at = case.closed_at = now
        events.append(
            CaseEvent(
                case=case,
                action="resolve_on_spot",
                from_status=Status.REPORTED,
                to_status=Status.CLOSED,
                actor=user,
                actor_label=label,
                note=checked.result,
                created_at=now,
            )
        )
    return case, events


def _known(qs: Any, rows: list[Any]) -> Any:
    qs._result_cache = rows
    qs._prefetch_done = True
    return qs


# --- transitions ---------------------------------------------------------------------------


@transaction.atomic
def accept(
    *, case_id: int, actor: Any, expected_version: int | None = None, note: str = ""
) -> Case:
    def change(case: Case) -> list[str]:
        case.accepted_at = timezone.now()
        return ["accepted_at"]

    return _transition(
        "accept",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )[0]


@transaction.atomic
def reject(*, case_id: int, actor: Any, note: str, expected_version: int | None = None) -> Case:
    def change(case: Case) -> list[str]:
        case.closed_at = timezone.now()
        return ["closed_at"]

    return _transition(
        "reject",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )[0]


@transaction.atomic
def dispatch(
    *,
    case_id: int,
    actor: Any,
    department: Department | None = None,
    worker: Any = None,
    co_departments: Sequence[Department] = (),
    expected_version: int | None = None,
    note: str = "",
) -> Case:
    if (department is None) == (worker is None):
        raise DomainError(
            _("请选择一个主办部门或一名网格员 (choose one lead: a department or a grid worker)"),
            field="lead",
        )
    co = [d for d in co_departments if department is None or d.pk != department.pk]

    def change(case: Case) -> list[str]:
        if department is not None:
            if not department.is_active:
                raise DomainError(_("该部门已停用 (department inactive)"), field="department")
            if not case.grid_code.startswith(department.unit.code):
                raise DomainError(
                    _("该部门不负责此网格所在区域 (department does not serve this area)"),
                    field="department",
                )
        if (
            worker is not None
            and not Membership.objects.filter(
                user=worker,
                role=Role.GRID_WORKER,
                unit__code__in=[*ancestor_codes(case.grid_code), case.grid_code],
            ).exists()
        ):
            raise DomainError(
                _("该人员不是此网格的网格员 (not a grid worker of this grid)"), field="worker"
            )
        case.lead_department = department
        case.lead_worker = worker
        case.dispatched_at = timezone.now()
        case.signed_at = None
        return ["lead_department", "lead_worker", "dispatched_at", "signed_at"]

    case, event = _transition(
        "dispatch",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
        event_data={
            "department": department.name if department else None,
            "worker": str(worker) if worker else None,
            "co_departments": [d.name for d in co],
        },
    )
    case.co_departments.set(co)
    _notify(
        case,
        kind="dispatched",
        recipients=_lead_recipients(case),
        title=gettext_lazy("新派单：%(t)s"),
        params={"t": case.title},
        event=event,
    )
    return case


@transaction.atomic
def sign(*, case_id: int, actor: Any, expected_version: int | None = None, note: str = "") -> Case:
    def change(case: Case) -> list[str]:
        case.signed_at = timezone.now()
        return ["signed_at"]

    return _transition(
        "sign",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )[0]


@transaction.atomic
def return_case(
    *, case_id: int, actor: Any, note: str, expected_version: int | None = None
) -> Case:
    def change(case: Case) -> list[str]:
        case.return_count += 1
        case.lead_department = None
        case.lead_worker = None
        return ["return_count", "lead_department", "lead_worker"]

    case, event = _transition(
        "return",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
        is_public=False,
    )
    _back_to_the_desk(case, event, kind="returned", title=gettext_lazy("退单：%(t)s"))
    return case


def _back_to_the_desk(case: Case, event: CaseEvent, *, kind: str, title: Any) -> None:
    """After a return or an escalation: no handlers left, the desk of the handling unit is told.
    `title`: a lazy message with the case's title as %(t)s."""
    case.co_departments.clear()
    _notify(
        case,
        kind=kind,
        recipients=_desk_recipients(case.handling_unit),
        title=title,
        event=event,
        params={"t": case.title},
    )


@transaction.atomic
def handle(
    *,
    case_id: int,
    actor: Any,
    result: str,
    outcome: str = Outcome.SOLVED,
    photos: Sequence[Any] = (),
    public_photos: bool = True,
    expected_version: int | None = None,
) -> Case:
    if outcome not in Outcome.values:
        raise DomainError(_("办理结果无效 (unknown outcome)"), field="outcome")
    from wangge.cases.photos import check_photo_count, store_photos

    def change(case: Case) -> list[str]:
        check_photo_count(len(photos), existing=case.photos.count())
        case.result = result.strip()
        case.outcome = outcome
        case.handled_at = timezone.now()
        return ["result", "outcome", "handled_at"]

    case, event = _transition(
        "handle",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=result,
        change=change,
        event_data={"outcome": outcome},
        missing_note=DomainError(
            _("请填写处置结果 (the result is required)"), field="result", code="required"
        ),
    )
    store_photos(case=case, event=event, files=photos, actor=actor, is_public=public_photos)
    # The desk that verifies hears of it at once (and finds it under 待核查).
    _notify(
        case,
        kind="to_verify",
        recipients=[r for r in _verify_recipients(case) if r != getattr(actor, "pk", None)],
        title=gettext_lazy("待核查：%(t)s"),
        params={"t": case.title},
        event=event,
    )
    return case


def _verify_recipients(case: Case) -> list[int]:
    """The desk of the case's handling unit (its staff verify its cases); where it has none,
    the desks above it."""
    own = list(
        Membership.objects.filter(role__in=DESK, unit_id=case.handling_unit_id)
        .values_list("user_id", flat=True)
        .distinct()
    )
    return own or _desk_recipients(case.handling_unit)


@transaction.atomic
def verify(
    *, case_id: int, actor: Any, passed: bool, note: str = "", expected_version: int | None = None
) -> Case:
    def change(case: Case) -> list[str]:
        if passed:
            case.closed_at = timezone.now()
            return ["closed_at"]
        # The result was not accepted: the case shows none until it is handled again (the
        # timeline keeps the refused one, with the reason).
        case.handled_at = None
        case.result = ""
        case.outcome = ""
        return ["handled_at", "result", "outcome"]

    action = "verify_pass" if passed else "verify_fail"
    case, event = _transition(
        action,
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )
    if not passed:
        # Back to whoever handled it, with the reason in the timeline.
        _notify(
            case,
            kind="verify_failed",
            recipients=_lead_recipients(case),
            title=gettext_lazy("核查未通过，请继续处置：%(t)s"),
            params={"t": case.title},
            event=event,
        )
    return case


@transaction.atomic
def escalate(*, case_id: int, actor: Any, note: str, expected_version: int | None = None) -> Case:
    previous_leads: list[int] = []

    def change(case: Case) -> list[str]:
        parent = case.handling_unit.parent
        if parent is None:
            raise IllegalTransition(
                _("已是最高层级，不能再上报 (already at the top)"), field="action"
            )
        previous_leads.extend(_lead_recipients(case))
        case.handling_unit = parent
        case.lead_department = None
        case.lead_worker = None
        return ["handling_unit", "lead_department", "lead_worker"]

    case, event = _transition(
        "escalate",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
        is_public=False,
    )
    event.data = {"to_unit": case.handling_unit.name, "to_level": case.handling_unit.level}
    CaseEvent.objects.filter(pk=event.pk).update(data=event.data)
    _back_to_the_desk(case, event, kind="escalated", title=gettext_lazy("上报（吹哨）：%(t)s"))
    # Those who were handling it learn that it left them (not by a 404 on their next step).
    _notify(
        case,
        kind="escalated",
        recipients=[r for r in previous_leads if r != actor.pk],
        title=gettext_lazy("已上报至上级，不再由您办理：%(t)s"),
        params={"t": case.title},
        event=event,
        audience="previous-leads",
    )
    return case


@transaction.atomic
def request_approval(
    *,
    case_id: int,
    actor: Any,
    kind: str,
    note: str,
    extra: int | None = None,
    expected_version: int | None = None,
) -> Case:
    if kind == ApprovalKind.EXTENSION and (not extra or extra < 1 or extra > 60):
        raise DomainError(
            _("请填写延期天数（1–60 个工作日）(extension: 1–60 working days)"), field="extra"
        )
    action = "request_suspension" if kind == ApprovalKind.SUSPENSION else "request_extension"

    def change(case: Case) -> list[str]:
        CaseApproval.objects.create(
            case=case, kind=kind, reason=note.strip(), extra=extra, requested_by=actor
        )
        return []

    case, event = _transition(
        action,
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
        event_data={"extra": extra},
        is_public=False,
    )
    # The desk that decides hears of it at once (and finds it under 待审批): the clock keeps
    # running until someone approves.
    _notify(
        case,
        kind="approval",
        recipients=[r for r in _desk_recipients(case.handling_unit) if r != actor.pk],
        title=gettext_lazy("挂起申请待审批：%(t)s")
        if kind == ApprovalKind.SUSPENSION
        else gettext_lazy("延期申请待审批：%(t)s"),
        params={"t": case.title},
        event=event,
    )
    return case


def _tell_requester(case: Case, approval: CaseApproval, event: CaseEvent) -> None:
    """The person who asked hears the decision (theirs was the only other way to find out:
    opening the case)."""
    if approval.status == ApprovalStatus.APPROVED:
        title = (
            gettext_lazy("挂起申请已批准：%(t)s")
            if approval.kind == ApprovalKind.SUSPENSION
            else gettext_lazy("延期申请已批准：%(t)s")
        )
    else:
        title = gettext_lazy("申请未获批准：%(t)s")
    _notify(
        case,
        kind="decided",
        recipients=[approval.requested_by_id],
        title=title,
        params={"t": case.title},
        event=event,
    )


def _decide(case: Case, kind: str | None, actor: Any, status: str) -> CaseApproval:
    pending = case.approvals.filter(status=ApprovalStatus.PENDING)
    if kind:
        pending = pending.filter(kind=kind)
    approval = pending.select_for_update().first()
    if approval is None:
        raise IllegalTransition(_("没有待审批的申请 (nothing to approve)"), field="action")
    approval.status = status
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "decided_by", "decided_at"])
    return approval


@transaction.atomic
def approve_suspension(
    *, case_id: int, actor: Any, note: str = "", expected_version: int | None = None
) -> Case:
    decided: list[CaseApproval] = []

    def change(case: Case) -> list[str]:
        decided.append(_decide(case, ApprovalKind.SUSPENSION, actor, ApprovalStatus.APPROVED))
        case.paused_at = timezone.now()
        return ["paused_at"]

    case, event = _transition(
        "approve_suspension",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )
    _tell_requester(case, decided[0], event)
    return case


@transaction.atomic
def deny_request(
    *, case_id: int, actor: Any, note: str, expected_version: int | None = None
) -> Case:
    decided: list[CaseApproval] = []

    def change(case: Case) -> list[str]:
        decided.append(_decide(case, None, actor, ApprovalStatus.DENIED))
        return []

    case, event = _transition(
        "deny_request",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
        is_public=False,
    )
    _tell_requester(case, decided[0], event)
    return case


@transaction.atomic
def resume(
    *, case_id: int, actor: Any, note: str = "", expected_version: int | None = None
) -> Case:
    def change(case: Case) -> list[str]:
        now = timezone.now()
        case.pauses = [*case.pauses, [(case.paused_at or now).isoformat(), now.isoformat()]]
        case.paused_at = None
        # The clock stopped while suspended: the deadlines are recomputed without that time,
        # and a warning already sent is sent again if the case becomes due soon or late again.
        fields = sla.recompute(case)
        if case.due_soon_at > now:
            case.warned_due_soon = False
        if case.resolution_due_at >= now:
            case.warned_overdue = False
        return ["pauses", "paused_at", "warned_due_soon", "warned_overdue", *fields]

    return _transition(
        "resume",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )[0]


@transaction.atomic
def approve_extension(
    *, case_id: int, actor: Any, note: str = "", expected_version: int | None = None
) -> Case:
    decided: list[CaseApproval] = []

    def change(case: Case) -> list[str]:
        approval = _decide(case, ApprovalKind.EXTENSION, actor, ApprovalStatus.APPROVED)
        decided.append(approval)
        case.extension_days += approval.extra or 1
        case.warned_due_soon = case.warned_overdue = False
        return ["extension_days", "warned_due_soon", "warned_overdue", *sla.recompute(case)]

    case, event = _transition(
        "approve_extension",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
    )
    _tell_requester(case, decided[0], event)
    return case


@transaction.atomic
def rate(
    *,
    case_id: int,
    actor: Any,
    rating: str,
    note: str = "",
    solved: bool = True,
    as_reporter: bool = False,
    expected_version: int | None = None,
) -> Case:
    """Record the reporter's rating; 不满意 or "not solved" reopens the case once."""
    if rating not in Rating.values:
        raise DomainError(_("请选择 满意、基本满意 或 不满意 (choose a rating)"), field="rating")

    def change(case: Case) -> list[str]:
        case.rating = rating
        case.rating_note = (note or "").strip()[:500]
        case.rated_at = timezone.now()
        return ["rating", "rating_note", "rated_at"]

    case, event = _transition(
        "rate",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        as_reporter=as_reporter,
        change=change,
        event_data={"rating": rating, "solved": solved},
    )
    _notify(
        case,
        kind="rated",
        recipients=_lead_recipients(case),
        title=gettext_lazy("群众评价：%(r)s"),
        params={"r": Rating(case.rating).label},
        event=event,
    )
    if (rating == Rating.UNSATISFIED or not solved) and case.reopen_count < MAX_REOPENS:
        reason = note.strip() or (_("群众反映问题未解决") if not solved else _("群众不满意"))
        case = reopen(case_id=case.pk, actor=actor, note=reason, as_reporter=as_reporter)
    return case


@transaction.atomic
def reopen(
    *,
    case_id: int,
    actor: Any,
    note: str,
    as_reporter: bool = False,
    expected_version: int | None = None,
) -> Case:
    def change(case: Case) -> list[str]:
        case.reopen_count += 1
        case.closed_at = None
        case.handled_at = None
        case.rating = ""
        case.rated_at = None
        case.outcome = ""
        # A reopened case gets a fresh limit from now.
        case.clock_started_at = timezone.now()
        case.pauses = []
        case.extension_days = 0
        case.warned_due_soon = case.warned_overdue = False
        return [
            "reopen_count",
            "closed_at",
            "handled_at",
            "rating",
            "rated_at",
            "outcome",
            "clock_started_at",
            "pauses",
            "extension_days",
            "warned_due_soon",
            "warned_overdue",
            *sla.recompute(case),
        ]

    case, event = _transition(
        "reopen",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        as_reporter=as_reporter,
        change=change,
    )
    _notify(
        case,
        kind="reopened",
        recipients=_lead_recipients(case),
        title=gettext_lazy("重办：%(t)s"),
        params={"t": case.title},
        event=event,
    )
    return case


@transaction.atomic
def merge(
    *, case_id: int, actor: Any, master_id: int, note: str = "", expected_version: int | None = None
) -> Case:
    if case_id == master_id:
        raise DomainError(_("不能把案件合并到自身 (cannot merge into itself)"), field="master")
    master = Case.objects.select_for_update().filter(pk=master_id).first()
    if master is None or not scope_of(actor).sees_cases_at(master.grid_code):
        raise DomainError(
            _("主案件不存在 (master case not found)"), field="master", code="not_found"
        )
    if master.status in (Status.MERGED, Status.REJECTED):
        raise DomainError(
            _("主案件已合并或不予受理，请选择其他案件 (choose an active master)"), field="master"
        )
    if master.status == Status.CLOSED:
        # Its reporters would follow a case that is over: the new report would close unhandled.
        raise DomainError(
            _(
                "主案件已办结：问题再次出现时请作为新案件受理 "
                "(the master case is closed: take a recurring problem as a new case)"
            ),
            field="master",
        )

    def change(case: Case) -> list[str]:
        case.master = master
        case.closed_at = timezone.now()
        return ["master", "closed_at"]

    case, _event_row = _transition(
        "merge",
        case_id=case_id,
        actor=actor,
        expected_version=expected_version,
        note=note,
        change=change,
        event_data={"master": master.tracking_code},
    )
    master.version += 1
    master.save(update_fields=["version", "updated_at"])
    _event(
        master,
        action="merged_into",
        from_status=master.status,
        actor=actor,
        note=note,
        data={"duplicate": case.tracking_code},
    )
    return case


ACTIONS: dict[str, Callable[..., Case]] = {
    "accept": accept,
    "reject": reject,
    "dispatch": dispatch,
    "sign": sign,
    "return": return_case,
    "handle": handle,
    "escalate": escalate,
    "approve_suspension": approve_suspension,
    "deny_request": deny_request,
    "resume": resume,
    "approve_extension": approve_extension,
    "rate": rate,
    "reopen": reopen,
    "merge": merge,
}


# --- deadline warnings ---------------------------------------------------------------------

SYSTEM_LABEL = gettext_noop("系统")
# Statuses in which the lead is the one who must act; in the others the desk must.
LEAD_STATUSES = frozenset({Status.DISPATCHED, Status.IN_PROGRESS})


def _running_q() -> Q:
    # Suspended cases keep the SLA status they had when paused: nothing to warn about.
    return Q(paused_at__isnull=True) & ~Q(status=Status.SUSPENDED)


def _warn(case_id: int, *, kind: str, now: datetime) -> bool:
    """Warn about one case once: claim the flag with a guarded UPDATE that re-checks the SLA
    condition (so a case extended or closed meanwhile is left alone), then write the timeline
    entry and the outbox row in the same transaction."""
    flags = {"warned_overdue": True, "warned_due_soon": True}
    if kind == SlaStatus.DUE_SOON:
        flags = {"warned_due_soon": True}
    unwarned = Q(warned_overdue=False) if kind == SlaStatus.OVERDUE else Q(warned_due_soon=False)
    with transaction.atomic():
        claimed = (
            Case.objects.filter(pk=case_id)
            .filter(unwarned, _running_q(), sla.sla_q(kind, now))
            .update(**flags)
        )
        if not claimed:
            return False
        case = Case.objects.select_related("handling_unit").get(pk=case_id)
        overdue = kind == SlaStatus.OVERDUE
        event = _event(
            case,
            action=kind,
            from_status=case.status,
            actor=None,
            actor_label=SYSTEM_LABEL,
            is_public=False,
            at=now,
            data={"resolution_due_at": case.resolution_due_at.isoformat()},
        )
        lead = _lead_recipients(case) if case.status in LEAD_STATUSES else []
        _notify(
            case,
            kind=kind,
            recipients=lead or _desk_recipients(case.handling_unit),
            title=gettext_lazy("已超时：%(t)s") if overdue else gettext_lazy("即将超时：%(t)s"),
            params={"t": case.title},
            event=event,
        )
    return True


def scan_deadlines(*, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Warn once about every open, running case that has become due soon or overdue.

    Who is told: the lead (department handlers or grid worker) while the case is dispatched or in
    progress, otherwise the desk staff of its handling unit (to accept, dispatch or verify it).
    Run every minute (`manage.py scan_deadlines`, or the `scan_deadlines_task` task); running it
    twice, or in two processes at once, sends each warning once.
    """
    now = now or timezone.now()
    counts = {SlaStatus.DUE_SOON.value: 0, SlaStatus.OVERDUE.value: 0}
    # Overdue first: a case found late without a due-soon warning gets only the overdue one.
    for kind, unwarned in (
        (SlaStatus.OVERDUE, Q(warned_overdue=False)),
        (SlaStatus.DUE_SOON, Q(warned_due_soon=False)),
    ):
        ids = list(
            Case.objects.filter(unwarned, _running_q(), sla.sla_q(kind, now))
            .order_by("resolution_due_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        for case_id in ids:
            counts[kind.value] += _warn(case_id, kind=kind, now=now)
    return counts
