"""Staff pages for cases: to-do, list, detail with actions, the patrol report form, photos.
Views parse input and delegate to actions and selectors."""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from wangge.accounts.models import Membership, Role, User
from wangge.accounts.scope import scope_of
from wangge.cases import actions, selectors
from wangge.cases.forms import ActForm, PatrolReportForm
from wangge.cases.models import ApprovalKind, CasePhoto, Source, Status
from wangge.cases.sla import sla_status
from wangge.cases.workflow import TRANSITIONS
from wangge.core.errors import Conflict, DomainError
from wangge.territory.models import Department, ancestor_codes


@login_required
@require_GET
def todo(request: HttpRequest) -> HttpResponse:
    counts = selectors.todo_counts(user=request.user)
    queues = [
        {"key": key, "label": label, "count": counts.get(key, 0)} for key, label in selectors.QUEUES
    ]
    return render(request, "cases/todo.html", {"queues": queues})


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    error = None
    try:
        filters = selectors.CaseFilters.from_params(request.GET)
        page = selectors.case_page(
            user=request.user, filters=filters, cursor=request.GET.get("cursor", "")
        )
    except DomainError as exc:
        error = exc
        filters = selectors.CaseFilters()
        page = selectors.case_page(user=request.user, filters=filters)
    rows = [{"case": c, "sla": sla_status(c)} for c in page.items]
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "rows": rows,
        "next_cursor": page.next_cursor,
        "filters": filters,
        "query": params.urlencode(),
        "error": error,
        "statuses": Status.choices,
        "categories": selectors.category_list().filter(parent__isnull=True),
        "sources": Source.choices,
    }
    if request.headers.get("HX-Request") and request.GET.get("cursor"):
        return render(request, "cases/_rows.html", context)
    return render(request, "cases/list.html", context)


def _detail_context(
    request: HttpRequest, pk: int, form_error: DomainError | None = None
) -> dict[str, Any]:
    case = selectors.case_get(user=request.user, pk=pk)
    available = actions.available_actions(request.user, case)
    departments: list[Department] = []
    workers: list[User] = []
    if "dispatch" in available:
        departments = list(
            Department.objects.filter(
                unit__code__in=[*ancestor_codes(case.grid_code), case.grid_code], is_active=True
            )
            .select_related("unit")
            .order_by("unit__code", "name")
        )
        workers = list(
            User.objects.filter(
                memberships__role=Role.GRID_WORKER,
                memberships__unit__code__in=[*ancestor_codes(case.grid_code), case.grid_code],
            ).distinct()
        )
    return {
        "case": case,
        "sla": sla_status(case),
        "events": selectors.case_events(case=case),
        "photos": list(case.photos.all()),
        "available": [(a, TRANSITIONS[a].label) for a in available],
        "departments": departments,
        "workers": workers,
        "pending": [a for a in case.approvals.all() if a.status == "pending"],
        "form_error": form_error,
        "now": timezone.now(),
        "can_see_contact": scope_of(request.user).sees_code(case.grid_code),
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
        worker = User.objects.filter(pk=data["worker"]).first() if data.get("worker") else None
        co = list(Department.objects.filter(pk__in=data.get("co_departments") or []))
        actions.dispatch(
            **common, department=department, worker=worker, co_departments=co, note=note
        )
    elif action == "handle":
        actions.handle(
            **common,
            result=data.get("result") or note,
            outcome=data.get("outcome") or "solved",
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


@login_required
@require_POST
def case_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    selectors.case_get(user=request.user, pk=pk)
    if action not in TRANSITIONS:
        raise Http404("unknown action")
    form = ActForm(request.POST, request.FILES)
    if not form.is_valid():
        field, errs = next(iter(form.errors.items()))
        error = DomainError(f"{field}: {errs[0]}", field=field)
        return render(request, "cases/detail.html", _detail_context(request, pk, error), status=422)
    try:
        _perform(request, pk, action, form)
    except Conflict as exc:
        context = _detail_context(request, pk, exc)
        context["conflict"] = True
        return render(request, "cases/detail.html", context, status=409)
    except DomainError as exc:
        status = 403 if exc.http_status == 403 else 422
        return render(
            request, "cases/detail.html", _detail_context(request, pk, exc), status=status
        )
    messages.success(request, _("已%(action)s") % {"action": TRANSITIONS[action].label})
    return redirect("cases:detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def patrol_report(request: HttpRequest) -> HttpResponse:
    scope = scope_of(request.user)
    source = (
        Source.BUILDING_HEAD
        if Role.BUILDING_HEAD in scope.roles and Role.GRID_WORKER not in scope.roles
        else Source.GRID_PATROL
    )
    error: DomainError | None = None
    if request.method == "POST":
        form = PatrolReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = actions.create_case(
                    actor=request.user,
                    category=data["category"],
                    title=data["title"],
                    description=data["description"],
                    lon=data.get("lon"),
                    lat=data.get("lat"),
                    address=data["address"],
                    source=source,
                    reporter_name=str(request.user),
                    reporter_phone=getattr(request.user, "mobile", "") or "",
                    photos=data["photos"],
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
        form = PatrolReportForm(initial={"idempotency_key": uuid.uuid4().hex})
    my_grids = Membership.objects.filter(
        user_id=int(request.user.pk or 0), role__in=[Role.GRID_WORKER, Role.BUILDING_HEAD], unit__isnull=False
    ).select_related("unit")
    return render(
        request,
        "cases/report.html",
        {"form": form, "error": error, "grids": [m.unit for m in my_grids]},
        status=422 if error or (request.method == "POST" and not form.is_valid()) else 200,
    )


@login_required
@require_GET
def photo(request: HttpRequest, pk: int, size: str) -> FileResponse:
    row = CasePhoto.objects.filter(pk=pk).select_related("case").first()
    if row is None or size not in ("full", "thumb"):
        raise Http404("photo not found")
    selectors.case_get(user=request.user, pk=row.case_id)
    file = row.image if size == "full" else row.thumbnail
    response = FileResponse(file.open("rb"), content_type="image/jpeg" if size == "thumb" else None)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
