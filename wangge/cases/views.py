"""Staff pages for cases: to-do, list, detail with actions, the patrol report form, photos.
Views parse input and delegate to actions and selectors."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from wangge.accounts.models import Membership, Role, User
from wangge.accounts.scope import scope_of
from wangge.cases import actions, selectors
from wangge.cases.forms import ActForm, PatrolReportForm
from wangge.cases.matching import address_problem, place_of_address
from wangge.cases.models import (
    OPEN_STATUSES,
    ApprovalKind,
    ApprovalStatus,
    Case,
    CaseEvent,
    Outcome,
    Rating,
    Source,
    Status,
)
from wangge.cases.photos import MAX_PER_CASE
from wangge.cases.questions import (
    answer_errors,
    answer_label,
    answers_from_form,
    form_answer_errors,
    form_questions,
    question_label,
)
from wangge.cases.sla import sla_status
from wangge.cases.workflow import TRANSITIONS
from wangge.core.decorators import form_target, login_required_telling
from wangge.core.errors import Conflict, DomainError
from wangge.territory.models import Department

# Chinese names of the inputs that errors point at (DomainError.field).
FIELD_LABELS: dict[str, Any] = {
    "note": gettext_lazy("说明"),
    "department": gettext_lazy("主办部门"),
    "worker": gettext_lazy("网格员"),
    "lead": gettext_lazy("主办"),
    "co_departments": gettext_lazy("协办部门"),
    "result": gettext_lazy("处置结果"),
    "outcome": gettext_lazy("办理结果"),
    "rating": gettext_lazy("评价"),
    "extra": gettext_lazy("延期天数"),
    "master": gettext_lazy("主案件查询码"),
    "photos": gettext_lazy("照片"),
    "version": gettext_lazy("版本"),
    "status": gettext_lazy("状态"),
    "action": gettext_lazy("操作"),
    "category": gettext_lazy("问题类别"),
    "title": gettext_lazy("一句话描述"),
    "location": gettext_lazy("位置"),
    "address": gettext_lazy("地址"),
    "description": gettext_lazy("补充说明"),
    "solved": gettext_lazy("问题已解决"),
    "resolve_on_spot": gettext_lazy("即报即办"),
}

FIELD_ROLES = frozenset({Role.GRID_WORKER, Role.BUILDING_HEAD})

# The detail page offers the step that moves a case forward first, then the others.
PRIMARY_ACTIONS = (
    "accept",
    "dispatch",
    "sign",
    "handle",
    "verify_pass",
    "rate",
    "resume",
    "approve_suspension",
    "approve_extension",
)
# Steps that need no input: one button, no form to open.
QUICK_ACTIONS = frozenset(
    {"accept", "sign", "verify_pass", "resume", "approve_suspension", "approve_extension"}
)


def _wants_fragment(request: HttpRequest) -> bool:
    """An htmx request for part of the page; a history restore needs the whole page."""
    return bool(
        request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    )


def _form_error(form: Any) -> DomainError:
    """The first error of a Django form as a DomainError naming the field."""
    field, errors = next(iter(form.errors.items()))
    return DomainError(str(errors[0]), field=field)


def _report_errors(form: Any) -> list[DomainError]:
    """Every problem of a refused patrol report at once, the location's too: one round trip
    per problem cost the reporter their chosen photos each time."""
    found = [DomainError(str(errors[0]), field=field) for field, errors in form.errors.items()]
    address = str(form.data.get("address") or "").strip()
    if not (form.data.get("lon") and form.data.get("lat")):
        if not address:
            found.append(actions.location_required())
        elif (problem := address_problem(address)) is not None:
            found.append(problem)
    return found


def _label(error: DomainError | None) -> str:
    return str(FIELD_LABELS.get(error.field or "", "")) if error is not None else ""


# --- 我的待办 -----------------------------------------------------------------------------


@login_required
@require_GET
def todo(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    queues = selectors.todo_queues(user=request.user)
    urgent = selectors.urgent_cases(user=request.user) if queues else []
    reports = [] if queues else selectors.my_reports(user=request.user)
    context = {
        "queues": queues,
        "overview": selectors.sla_overview(user=request.user),
        "urgent": [{"case": c, "sla": sla_status(c)} for c in urgent],
        "reports": [{"case": c, "sla": sla_status(c)} for c in reports],
        "can_report": scope.is_superuser or bool(scope.roles & FIELD_ROLES),
        "open_statuses": selectors.OPEN_PARAM,
        "roles": [Role(r).label for r in Role.values if r in scope.roles],
    }
    return render(request, "cases/todo.html", context)


# --- case list ------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    filters, error = _list_filters(request)
    cursor = "" if error else request.GET.get("cursor", "")
    try:
        page = selectors.case_page(user=request.user, filters=filters, cursor=cursor)
    except DomainError as exc:  # a cursor that is not one
        error, filters, cursor = exc, selectors.CaseFilters(), ""
        page = selectors.case_page(user=request.user, filters=filters)
    context: dict[str, Any] = {
        "rows": [{"case": c, "sla": sla_status(c)} for c in page.items],
        "next_cursor": page.next_cursor,
        "filters": filters,
        # Refused filters list every case: "more", the count and the export then carry the
        # filters applied (none), not the refused ones (whose "more" repeated the first page).
        "query": "" if error else _list_query(request),
        "error": error,
    }
    fragment = _wants_fragment(request)
    if fragment and cursor:
        response = render(request, "cases/_rows.html", context)
    else:
        if fragment:
            response = render(request, "cases/_results.html", context)
        else:
            queue_labels = dict(selectors.QUEUES)
            units = selectors.unit_options(user=request.user)
            context.update(
                {
                    **_status_choices(filters.status),
                    "categories": selectors.category_list().filter(parent__isnull=True),
                    "sources": Source.choices,
                    "units": units,
                    "unit_known": any(u.code == filters.unit for u in units),
                    "departments": selectors.department_options(user=request.user),
                    "queue_label": queue_labels.get(filters.queue, ""),
                }
            )
            response = render(request, "cases/list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _list_filters(request: HttpRequest) -> tuple[selectors.CaseFilters, DomainError | None]:
    """The list's filters from the address; filters that are not valid give the error to show
    and every case in scope instead."""
    try:
        return selectors.CaseFilters.from_params(request.GET), None
    except DomainError as exc:
        return selectors.CaseFilters(), exc


def _list_query(request: HttpRequest) -> str:
    """The list's filters as a query string, without the page's cursor."""
    params = request.GET.copy()
    params.pop("cursor", None)
    return params.urlencode()


def _status_choices(chosen: list[str]) -> dict[str, Any]:
    """The status picker's options and the one selected: every status, "all open ones" (the
    dashboard's and the to-do page's 在办 links ask for several at once), and any other set
    the address asks for, so that changing another filter keeps the statuses asked for."""
    options: list[tuple[str, Any]] = [
        (selectors.OPEN_PARAM, _("在办（全部在办状态）")),
        *Status.choices,
    ]
    value = ",".join(chosen)
    if len(chosen) > 1:
        if set(chosen) == set(OPEN_STATUSES):
            value = selectors.OPEN_PARAM
        else:
            options.append((value, _("所选的 %(n)d 种状态") % {"n": len(chosen)}))
    return {"statuses": options, "status_value": value}


@login_required
@require_GET
def case_list_total(request: HttpRequest) -> HttpResponse:
    """How many cases the list's filters select (counted up to selectors.TOTAL_CAP), with the
    export button: asked for by the list once its rows are shown, so that a count over
    millions of cases never holds the rows back."""
    filters, error = _list_filters(request)  # the list shows the error; count what it lists
    total = selectors.case_total(user=request.user, filters=filters)
    query = "" if error else _list_query(request)
    context = {"total": total.count, "total_capped": total.capped, "query": query}
    return render(request, "cases/_total.html", context)


# --- case detail and actions ----------------------------------------------------------------


def _answer_rows(case: Any) -> list[tuple[str, str]]:
    """The extra questions' answers with their labels, in the category's order."""
    questions = {q.get("key"): q for q in case.category.questions or []}
    rows = []
    for key, value in (case.answers or {}).items():
        question = questions.get(key)
        label = question_label(question) if question else key
        if isinstance(value, bool):
            value = _("是") if value else _("否")
        rows.append((str(label or key), answer_label(question, value)))
    return rows


def _detail_context(
    request: HttpRequest,
    pk: int,
    *,
    form_error: DomainError | None = None,
    failed_action: str = "",
) -> dict[str, Any]:
    case = selectors.case_get(user=request.user, pk=pk)
    available = actions.available_actions(request.user, case)
    departments: list[Department] = []
    workers: list[User] = []
    suggested: int | None = None
    if "dispatch" in available:
        departments, workers, suggested = selectors.dispatch_choices(case=case)
    events = list(selectors.case_events(case=case))
    ratings = dict(Rating.choices)
    for event in events:
        rating = str((event.data or {}).get("rating") or "")
        event.rating_label = str(ratings.get(rating, ""))  # type: ignore[attr-defined]
    photos = list(case.photos.all())
    now = timezone.now()
    return {
        "case": case,
        "sla": sla_status(case, now),
        "events": events,
        "answers": _answer_rows(case),
        "photos": photos,
        "photo_slots": MAX_PER_CASE - len(photos),
        "available": [
            {
                "action": a,
                "label": TRANSITIONS[a].label,
                "primary": a in PRIMARY_ACTIONS,
                "quick": a in QUICK_ACTIONS,
                "needs_note": TRANSITIONS[a].needs_note,
            }
            for a in sorted(
                available,
                key=lambda a: PRIMARY_ACTIONS.index(a) if a in PRIMARY_ACTIONS else 99,
            )
        ],
        "departments": departments,
        "workers": workers,
        "suggested_department": suggested,
        "pending": [a for a in case.approvals.all() if a.status == ApprovalStatus.PENDING],
        "form_error": form_error,
        "error_label": _label(form_error),
        "failed_action": failed_action,
        "posted": request.POST if failed_action else {},
        # Ticked co-handling departments, kept when the dispatch is refused.
        "posted_co": set(request.POST.getlist("co_departments")) if failed_action else set(),
        "conflict": isinstance(form_error, Conflict),
        "outcomes": Outcome.choices,
        "ratings": Rating.choices,
        "now": now,
        "response_pending": case.is_open and case.signed_at is None and not case.paused_at,
        "can_see_contact": scope_of(request.user).sees_cases_at(case.grid_code),
    }


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "cases/detail.html", _detail_context(request, pk))


def _perform(request: HttpRequest, pk: int, action: str, form: ActForm) -> None:
    data = form.cleaned_data
    common: dict[str, Any] = {
        "case_id": pk,
        "actor": request.user,
        "expected_version": data.get("version"),
    }
    note = data.get("note") or ""
    if action == "dispatch":
        department = (
            Department.objects.filter(pk=data["department"]).select_related("unit").first()
            if data.get("department")
            else None
        )
        if data.get("department") and department is None:
            raise DomainError(_("请选择列表中的部门 (unknown department)"), field="department")
        worker = User.objects.filter(pk=data["worker"]).first() if data.get("worker") else None
        co = list(Department.objects.filter(pk__in=data.get("co_departments") or []))
        actions.dispatch(
            **common, department=department, worker=worker, co_departments=co, note=note
        )
    elif action == "handle":
        actions.handle(
            **common,
            result=data.get("result") or note,
            outcome=data.get("outcome") or Outcome.SOLVED,
            photos=data.get("photos") or [],
        )
    elif action in ("verify_pass", "verify_fail"):
        actions.verify(**common, passed=action == "verify_pass", note=note)
    elif action in ("request_suspension", "request_extension"):
        kind = ApprovalKind.SUSPENSION if action == "request_suspension" else ApprovalKind.EXTENSION
        actions.request_approval(**common, kind=kind, note=note, extra=data.get("extra"))
    elif action == "rate":
        actions.rate(
            **common, rating=data.get("rating") or "", solved=bool(data.get("solved")), note=note
        )
    elif action == "merge":
        code = (data.get("master") or "").strip().upper()
        if not code:
            raise DomainError(
                _("请填写主案件的查询码 (enter the master case's tracking code)"), field="master"
            )
        master = selectors.case_list(user=request.user).filter(tracking_code=code).first()
        if master is None:
            raise DomainError(
                _("找不到查询码为 %(c)s 的案件 (no case with that tracking code)")
                % {"c": code or "—"},
                field="master",
            )
        actions.merge(**common, master_id=master.pk, note=note)
    elif action in actions.ACTIONS:
        actions.ACTIONS[action](**common, note=note)
    else:
        raise Http404("unknown action")


@form_target(back=lambda request, pk, **_kwargs: reverse("cases:detail", args=[pk]))
def case_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    try:
        selectors.case_get(user=request.user, pk=pk)
    except Http404:
        gone = _taken_away(request, pk)
        if gone is None:
            raise
        return gone
    if action not in TRANSITIONS:
        raise Http404("unknown action")
    form = ActForm(request.POST, request.FILES)
    error: DomainError | None = None
    status = 422
    if not form.is_valid():
        error = _form_error(form)
    else:
        try:
            _perform(request, pk, action, form)
        except DomainError as exc:
            error = exc
            status = exc.http_status if exc.http_status in (403, 409) else 422
    if error is not None:
        context = _detail_context(request, pk, form_error=error, failed_action=action)
        return render(request, "cases/detail.html", context, status=status)
    messages.success(request, _("已%(action)s") % {"action": TRANSITIONS[action].label})
    if not selectors.case_list(user=request.user).filter(pk=pk).exists():
        # The action took the case out of this user's hands (a department returning it, a
        # handler escalating it): back to their to-do list, not to a page they may not open.
        return redirect("cases:todo")
    return redirect("cases:detail", pk=pk)


def _taken_away(request: HttpRequest, pk: int) -> HttpResponse | None:
    """A case this user worked on that left their hands while their form was open (escalated,
    returned, reassigned): say so, as for any other change, and hand back what they typed
    instead of a not-found page that loses it. None: the case was never theirs (a 404)."""
    case = Case.objects.filter(pk=pk).only("pk", "tracking_code", "title").first()
    if case is None or not CaseEvent.objects.filter(case_id=pk, actor_id=request.user.pk).exists():
        return None
    typed = [
        (label, request.POST.get(name, "").strip())
        for name, label in (("result", _("处置结果")), ("note", _("说明")))
        if request.POST.get(name, "").strip()
    ]
    context = {"case": case, "typed": typed}
    return render(request, "cases/taken_away.html", context, status=409)


# --- patrol report --------------------------------------------------------------------------


@login_required_telling
@require_http_methods(["GET", "POST"])
def patrol_report(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    if not (scope.is_superuser or scope.roles & FIELD_ROLES):
        raise Http404("the patrol report is for grid workers and building heads")
    source = (
        Source.BUILDING_HEAD
        if Role.BUILDING_HEAD in scope.roles and Role.GRID_WORKER not in scope.roles
        else Source.GRID_PATROL
    )
    error: DomainError | None = None
    others: list[DomainError] = []
    if request.method == "POST":
        form = PatrolReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            lon, lat, grid = data.get("lon"), data.get("lat"), None
            try:
                if (lon is None or lat is None) and data["address"].strip():
                    # No point (no map without JavaScript): placed by the address.
                    place = place_of_address(data["address"])
                    lon, lat, grid = place.lon, place.lat, place.grid
                case = actions.create_case(
                    actor=request.user,
                    category=data["category"],
                    title=data["title"],
                    description=data["description"],
                    lon=lon,
                    lat=lat,
                    grid=grid,
                    address=data["address"],
                    source=source,
                    reporter_name=str(request.user),
                    reporter_phone=getattr(request.user, "mobile", "") or "",
                    photos=data["photos"],
                    answers=answers_from_form(data["category"], request.POST),
                    resolve_on_spot=data["resolve_on_spot"],
                    result=data["result"],
                    idempotency_key=data.get("idempotency_key") or None,
                )
            except DomainError as exc:
                error = exc
            else:
                messages.success(
                    request, _("已上报，查询码 %(code)s") % {"code": case.tracking_code}
                )
                return redirect("cases:detail", pk=case.pk)
        else:
            error, *others = _report_errors(form)
            chosen = form.cleaned_data.get("category")
            if chosen is not None:  # its answers' problems named at once too
                others += form_answer_errors(chosen, request.POST)
    else:
        form = PatrolReportForm(initial={"idempotency_key": uuid.uuid4().hex})
    my_grids = Membership.objects.filter(
        user_id=int(request.user.pk or 0),
        role__in=[Role.GRID_WORKER, Role.BUILDING_HEAD],
        unit__isnull=False,
    ).select_related("unit")
    groups, subs = selectors.category_groups()
    selected = str(form["category"].value() or "")
    return render(
        request,
        "cases/report.html",
        {
            "form": form,
            "error": error,
            "error_label": _label(error),
            "other_errors": [(_label(e), e.message) for e in others],
            "error_fields": {e.field for e in [error, *others] if e is not None},
            "grids": [m.unit for m in my_grids],
            "category_groups": groups,
            "selected_category": selected,
            "question_blocks": form_questions(
                subs,
                selected=selected,
                data=request.POST if request.method == "POST" else None,
                errors={
                    key: message
                    for problem in ([error, *others] if error else [])
                    for key, message in answer_errors(problem).items()
                },
            ),
            "max_photos": MAX_PER_CASE,
            # A browser never refills a file input: say so when the chosen photos were dropped.
            "photos_dropped": bool(error and request.FILES),
        },
        status=422 if error else 200,
    )


# --- photos ---------------------------------------------------------------------------------


@login_required
@require_GET
def photo(request: HttpRequest, pk: int, size: str) -> FileResponse:
    if size not in ("full", "thumb"):
        raise Http404("photo not found")
    row = selectors.photo_get(user=request.user, pk=pk)
    file = row.image if size == "full" else row.thumbnail
    response = FileResponse(file.open("rb"), content_type="image/jpeg" if size == "thumb" else None)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
