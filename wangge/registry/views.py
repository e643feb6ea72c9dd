"""Registry pages: buildings and households, a resident's card (masked, with an audited reveal),
the building head's weekly check on the phone, the freshness report and the access audit.
Views only parse and delegate."""

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from wangge.accounts.scope import scope_of
from wangge.cases.questions import answer_errors, answers_from_form, form_questions
from wangge.cases.selectors import category_groups
from wangge.core.decorators import form_target
from wangge.core.errors import DomainError
from wangge.core.responses import private
from wangge.registry import actions, selectors
from wangge.registry.forms import (
    ChangeForm,
    HouseholdForm,
    MoveForm,
    NewResidentForm,
    ResidentForm,
    RevealForm,
    VisitCaseForm,
    VisitForm,
)
from wangge.registry.models import (
    Building,
    PartyMemberLink,
    PoliticalStatus,
    Relation,
    ResidenceType,
    SpecialGroup,
    Tenure,
    VisitPurpose,
)
from wangge.territory.models import Level


def require_access(request: HttpRequest) -> None:
    """Registry pages: only for users who hold a registry role somewhere."""
    if not selectors.has_registry_access(request.user):
        raise DjangoPermissionDenied


BUILDINGS_PER_PAGE = 100


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    require_access(request)
    # A district holds thousands of buildings: one page of them at a time.
    page = Paginator(selectors.building_summaries(user=request.user), BUILDINGS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return private(
        render(request, "registry/index.html", {"buildings": page.object_list, "page": page})
    )


@login_required
@require_GET
def building_detail(request: HttpRequest, pk: int) -> HttpResponse:
    building = selectors.building_get(user=request.user, pk=pk)
    households = selectors.households_of_building(building=building)
    context = {
        "building": building,
        "households": households,
        "resident_count": sum(len(h.residents.all()) for h in households),
        "can_write": selectors.can_write(request.user, building),
    }
    return private(render(request, "registry/building.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def household_new(request: HttpRequest, pk: int) -> HttpResponse:
    """新增住户 in a building: a flat newly occupied, or one never registered."""
    building = selectors.building_get(user=request.user, pk=pk)
    if not selectors.can_write(request.user, building):
        raise DjangoPermissionDenied
    form = HouseholdForm(
        request.POST or None,
        unit_count=building.unit_count,
        initial={"unit": 1, "tenure": Tenure.OWNER},
    )
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            household = actions.add_household(
                actor=request.user,
                building=building,
                unit_number=data["unit"],
                room=data["room"],
                tenure=data["tenure"],
                floor_area_m2=data["floor_area_m2"] or None,
                move_in_date=data["move_in_date"],
            )
        except DomainError as exc:
            error = exc
            _attach(form, exc)
        else:
            messages.success(request, _("已新增住户 %(room)s") % {"room": household.unit_room})
            return redirect("registry:household", pk=household.pk)
    context = {"building": building, "form": form}
    return private(
        render(request, "registry/household_new.html", context, status=_status(form, error))
    )


def _resident_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    resident = selectors.resident_get(user=request.user, pk=pk)
    return {
        "resident": resident,
        "household": resident.household,
        "can_reveal": selectors.can_reveal(request.user, resident.household.building),
        "can_write": selectors.can_write(request.user, resident.household.building),
        "changes": [
            (change, selectors.describe_changes(change))
            for change in selectors.resident_changes(resident=resident)
        ],
        "form": RevealForm(),
    }


@login_required
@require_GET
def resident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return private(render(request, "registry/resident.html", _resident_context(request, pk)))


@form_target()
def resident_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    context = _resident_context(request, pk)
    form = RevealForm(request.POST)
    context["form"] = form
    reason = form.data.get("reason", "")
    try:
        context["revealed"] = actions.reveal_resident(
            actor=request.user, resident=context["resident"], reason=reason
        )
    except DomainError as exc:
        context["error"] = exc
        status = exc.http_status
    else:
        status = 200
    return private(render(request, "registry/resident.html", context, status=status))


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    require_access(request)
    query = request.GET.get("q", "")[:50]
    group = request.GET.get("tag", "")
    group = group if group in SpecialGroup.values else ""
    searched = bool(query.strip() or group)
    results = (
        selectors.resident_search(user=request.user, query=query, group=group) if searched else []
    )
    context = {
        "query": query,
        "group": group,
        "groups": SpecialGroup.choices,
        "results": results,
        "searched": searched,
    }
    return private(render(request, "registry/search.html", context))


@login_required
@require_GET
def weekly_check(request: HttpRequest) -> HttpResponse:
    require_access(request)
    building = _check_building(request, request.GET.get("building", ""))
    households = selectors.due_households(user=request.user, building=building)
    context = {
        "households": households,
        "due_total": selectors.due_household_count(user=request.user, building=building),
        "building": building,
        "buildings": selectors.check_buildings(user=request.user),
        "interval_days": selectors.CHECK_INTERVAL.days,
    }
    return private(render(request, "registry/check.html", context))


def _check_building(request: HttpRequest, value: str) -> Building | None:
    """The building the weekly check is filtered to (`?building=`), None for all of them."""
    return selectors.building_get(user=request.user, pk=int(value)) if value.isdigit() else None


def _check_url(building: str) -> str:
    url = reverse("registry:check")
    return f"{url}?building={building}" if building.isdigit() else url


@form_target()
def check_unchanged(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get(user=request.user, pk=pk)
    try:
        household = actions.confirm_unchanged(actor=request.user, household_id=household.pk)
    except DomainError as exc:
        if request.headers.get("HX-Request"):
            return render(
                request, "registry/_check_row.html", {"h": household, "error": exc}, status=400
            )
        messages.error(request, exc.message)
    else:
        if request.headers.get("HX-Request"):
            # The row turns done and the page's count of households still due follows it.
            building = _check_building(request, request.POST.get("building", ""))
            total = selectors.due_household_count(user=request.user, building=building)
            oob_count = {"total": total, "shown": min(total, selectors.DUE_LIST_LIMIT)}
            context = {"h": household, "done": True, "oob_count": oob_count}
            return render(request, "registry/_check_row.html", context)
        messages.success(request, _("%(h)s 已核实：无变化") % {"h": household})
    return redirect(_check_url(request.POST.get("building", "")))


@login_required
@require_http_methods(["GET", "POST"])
def check_change(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get(user=request.user, pk=pk)
    form = ChangeForm(request.POST or None, initial={"tenure": ""})
    error: DomainError | None = None
    # Back to the weekly check as it was filtered (the form posts to this URL, query included).
    back_url = _check_url(request.GET.get("building", ""))
    if request.method == "POST" and form.is_valid():
        try:
            actions.record_change(
                actor=request.user,
                household_id=household.pk,
                note=form.cleaned_data["note"],
                tenure=form.cleaned_data["tenure"] or None,
                floor_area_m2=form.cleaned_data["floor_area_m2"],
            )
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("%(h)s 的变化已记录") % {"h": household})
            return redirect(back_url)
    context = {"household": household, "form": form, "error": error, "back_url": back_url}
    return private(render(request, "registry/change.html", context))


def _report_level(request: HttpRequest) -> tuple[str, bool]:
    """The level a registry report is by, and whether 按社区 is offered: only to those who see
    whole communities (a grid worker's "community" row held their grid's figures under the
    community's name)."""
    scope = scope_of(request.user)
    by_community = scope.is_superuser or any(len(c) <= 12 for c in scope.territory_codes)
    wanted = request.GET.get("level") == Level.COMMUNITY
    return (Level.COMMUNITY if wanted and by_community else Level.GRID), by_community


@login_required
@require_GET
def freshness(request: HttpRequest) -> HttpResponse:
    require_access(request)
    level, by_community = _report_level(request)
    rows = selectors.freshness_report(user=request.user, level=level)
    context = {
        "rows": rows,
        "level": level,
        "by_community": by_community,
        "total": sum(r.households for r in rows),
        "stale": sum(r.stale for r in rows),
        "interval_days": selectors.CHECK_INTERVAL.days,
    }
    return private(render(request, "registry/freshness.html", context))


@login_required
@require_GET
def audits(request: HttpRequest) -> HttpResponse:
    if not selectors.can_list_audits(request.user):
        raise DjangoPermissionDenied
    rows = selectors.audit_list(user=request.user).select_related("user")[:500]
    return private(render(request, "registry/audits.html", {"audits": rows}))


# --- forms' errors ----------------------------------------------------------------------------


def _attach(form: Any, exc: DomainError) -> None:
    """Show an action's errors next to the fields they name (or above the form)."""
    for error in getattr(exc, "errors", None) or [exc]:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)


def _status(form: Any, exc: DomainError | None) -> int:
    if exc is not None:
        return exc.http_status
    return 422 if form.is_bound and form.errors else 200


# --- a household: residents, party members in touch, visits, moves --------------------------


@login_required
@require_GET
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_detail(user=request.user, pk=pk)
    building = household.building
    context = {
        "household": household,
        "links": selectors.household_links(household=household),
        "visits": selectors.household_visits(household=household),
        "moves": selectors.household_moves(household=household),
        "can_write": selectors.can_write(request.user, building),
        "can_manage_links": selectors.can_manage_links(request.user, building),
    }
    return private(render(request, "registry/household.html", context))


# --- 民情走访 ----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def visit_create(request: HttpRequest, pk: int) -> HttpResponse:
    household = selectors.household_get(user=request.user, pk=pk)
    if not selectors.can_write(request.user, household.building):
        raise DjangoPermissionDenied
    form = VisitForm(request.POST or None, initial={"purpose": VisitPurpose.ROUTINE})
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            visit = actions.record_visit(
                actor=request.user,
                household_id=household.pk,
                purpose=form.cleaned_data["purpose"],
                findings=form.cleaned_data["findings"],
                needs=form.cleaned_data["needs"],
            )
        except DomainError as exc:
            error = exc
            _attach(form, exc)
        else:
            messages.success(request, _("走访已记录"))
            return redirect("registry:visit", pk=visit.pk)
    context = {"household": household, "form": form}
    return private(
        render(request, "registry/visit_form.html", context, status=_status(form, error))
    )


def _visit_page(
    request: HttpRequest,
    pk: int,
    form: VisitCaseForm | None = None,
    status: int = 200,
    answer_errors: dict[str, str] | None = None,
) -> HttpResponse:
    visit = selectors.visit_get(user=request.user, pk=pk)
    can_write = selectors.can_write(request.user, visit.household.building)
    if form is None:
        first_line = visit.findings.strip().splitlines()[0] if visit.findings.strip() else ""
        form = VisitCaseForm(initial={"title": first_line[:100]})
    groups, subs = category_groups()
    selected = str(form["category"].value() or "")
    context = {
        "visit": visit,
        "household": visit.household,
        "can_convert": can_write and visit.case_id is None,
        "form": form,
        "category_groups": groups,
        "selected_category": selected,
        "question_blocks": form_questions(
            subs,
            selected=selected,
            data=request.POST if request.method == "POST" else None,
            errors=answer_errors or {},
        ),
    }
    return private(render(request, "registry/visit.html", context, status=status))


@login_required
@require_GET
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _visit_page(request, pk)


@form_target()
def visit_case(request: HttpRequest, pk: int) -> HttpResponse:
    visit = selectors.visit_get(user=request.user, pk=pk)
    form = VisitCaseForm(request.POST)
    error: DomainError | None = None
    answered: dict[str, str] = {}
    if form.is_valid():
        category = form.cleaned_data["category"]
        try:
            case = actions.visit_to_case(
                actor=request.user,
                visit_id=visit.pk,
                category=category,
                title=form.cleaned_data["title"],
                answers=answers_from_form(category, request.POST),
            )
        except DomainError as exc:
            error = exc
            # The extra questions' errors are shown at the questions themselves.
            answered = answer_errors(exc)
            if not answered:
                _attach(form, exc)
        else:
            messages.success(
                request, _("已转为事件，查询码 %(code)s") % {"code": case.tracking_code}
            )
            return redirect("registry:visit", pk=visit.pk)
    return _visit_page(request, pk, form=form, status=_status(form, error), answer_errors=answered)


@login_required
@require_GET
def visit_list(request: HttpRequest) -> HttpResponse:
    require_access(request)
    mine = request.GET.get("mine") == "1"
    visits = selectors.recent_visits(user=request.user, mine=mine)
    return private(render(request, "registry/visits.html", {"visits": visits, "mine": mine}))


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        return timezone.localdate().replace(day=1)


@login_required
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    require_access(request)
    month = _month(request.GET.get("month", ""))
    level, by_community = _report_level(request)
    group = request.GET.get("tag", "")
    group = group if group in SpecialGroup.values else ""
    rows = selectors.coverage_report(user=request.user, month=month, level=level, group=group)
    code = request.GET.get("unit", "")
    unit = next((r.unit for r in rows if r.unit.code == code), None)
    households = (
        selectors.coverage_households(user=request.user, month=month, code=code, group=group)
        if unit is not None
        else []
    )
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    context = {
        "month": month,
        "previous": previous,
        "following": following if following <= timezone.localdate() else None,
        "level": level,
        "by_community": by_community,
        "group": group,
        "groups": SpecialGroup.choices,
        "rows": rows,
        "total": sum(r.households for r in rows),
        "visited": sum(r.visited for r in rows),
        "unit": unit,
        "households": households,
    }
    return private(render(request, "registry/coverage.html", context))


# --- 联户 --------------------------------------------------------------------------------------


@login_required
@require_GET
def link_index(request: HttpRequest) -> HttpResponse:
    require_access(request)
    query = request.GET.get("q", "").strip()[:50]
    members = selectors.party_member_list(user=request.user)
    if query:
        members = members.filter(name__contains=query)
    context = {
        "members": list(members[:300]),
        "query": query,
        "max_links": PartyMemberLink.MAX_PER_MEMBER,
        "target_links": PartyMemberLink.TARGET_PER_MEMBER,
        "can_manage": selectors.has_link_management(request.user),
    }
    return private(render(request, "registry/links.html", context))


def _member_page(
    request: HttpRequest, pk: int, error: DomainError | None = None, status: int = 200
) -> HttpResponse:
    member = selectors.party_member_get(user=request.user, pk=pk)
    buildings = selectors.link_buildings(user=request.user, member=member)
    building = None
    if request.GET.get("building", "").isdigit():
        building = buildings.filter(pk=int(request.GET["building"])).first()
    links = selectors.member_links(member=member)
    # A member in the user's scope may keep in touch with households outside it (elsewhere in
    # the community): counted, not named.
    visible = set(
        selectors.household_list(user=request.user)
        .filter(pk__in=[link.household_id for link in links])
        .values_list("pk", flat=True)
    )
    context = {
        "member": member,
        "links": links,
        "links_shown": [link for link in links if link.household_id in visible],
        "links_hidden": sum(1 for link in links if link.household_id not in visible),
        "can_manage": selectors.can_manage_links(request.user, member.household.building),
        "buildings": buildings,
        "building": building,
        "candidates": (
            selectors.link_candidates(member=member, building=building) if building else []
        ),
        "max_links": PartyMemberLink.MAX_PER_MEMBER,
        "target_links": PartyMemberLink.TARGET_PER_MEMBER,
        "error": error,
    }
    return private(render(request, "registry/link_member.html", context, status=status))


@login_required
@require_GET
def link_member(request: HttpRequest, pk: int) -> HttpResponse:
    return _member_page(request, pk)


def _member_url(pk: int, building: str) -> str:
    url = reverse("registry:link_member", args=[pk])
    return f"{url}?building={building}" if building.isdigit() else url


@form_target()
def link_add(request: HttpRequest, pk: int) -> HttpResponse:
    member = selectors.party_member_get(user=request.user, pk=pk)
    household = request.POST.get("household", "")
    try:
        link = actions.link_household(
            actor=request.user,
            member_id=member.pk,
            household_id=int(household) if household.isdigit() else 0,
        )
    except DomainError as exc:
        return _member_page(request, pk, error=exc, status=exc.http_status)
    messages.success(
        request,
        _("%(member)s 已联系 %(household)s") % {"member": member.name, "household": link.household},
    )
    return redirect(_member_url(member.pk, request.POST.get("building", "")))


@form_target()
def link_remove(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    member = selectors.party_member_get(user=request.user, pk=pk)
    link = next((x for x in selectors.member_links(member=member) if x.pk == link_pk), None)
    if link is None:
        raise Http404("link not found")
    try:
        actions.unlink_household(actor=request.user, link_id=link.pk)
    except DomainError as exc:
        return _member_page(request, pk, error=exc, status=exc.http_status)
    messages.success(request, _("已解除与 %(household)s 的联系") % {"household": link.household})
    return redirect(_member_url(member.pk, request.POST.get("building", "")))


# --- editing and moving residents -------------------------------------------------------------


def _writable_resident(request: HttpRequest, pk: int) -> Any:
    resident = selectors.resident_get(user=request.user, pk=pk)
    if not selectors.can_write(request.user, resident.household.building):
        raise DjangoPermissionDenied
    return resident


def _resident_input(data: dict[str, Any]) -> actions.ResidentInput:
    """A resident's fields from a ResidentForm's cleaned data."""
    return actions.ResidentInput(
        name=data["name"],
        sex=data["sex"],
        birth_date=data["birth_date"],
        id_number=data["id_number"],
        mobile=data["mobile"],
        ethnicity=data["ethnicity"],
        political_status=data["political_status"],
        residence_type=data["residence_type"],
        relation_to_head=data["relation_to_head"],
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_edit(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _writable_resident(request, pk)
    initial = {
        field: getattr(resident, field)
        for field in (
            "name",
            "sex",
            "birth_date",
            "ethnicity",
            "political_status",
            "residence_type",
            "relation_to_head",
        )
    }
    form = ResidentForm(request.POST or None, initial=initial)
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            change = actions.update_resident(
                actor=request.user,
                resident_id=resident.pk,
                data=_resident_input(data),
                clear_mobile=data["clear_mobile"],
                note=data["note"],
            )
        except DomainError as exc:
            error = exc
            _attach(form, exc)
        else:
            if change is None:
                messages.info(request, _("没有修改任何内容"))
            else:
                messages.success(request, _("%(name)s 的信息已更新") % {"name": data["name"]})
            return redirect("registry:resident", pk=resident.pk)
    context = {"resident": resident, "household": resident.household, "form": form}
    return private(
        render(request, "registry/resident_edit.html", context, status=_status(form, error))
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_new(request: HttpRequest, pk: int) -> HttpResponse:
    """登记新居民 in a household (a birth, someone moving in from outside the district)."""
    household = selectors.household_get(user=request.user, pk=pk)
    if not selectors.can_write(request.user, household.building):
        raise DjangoPermissionDenied
    has_head = household.residents.filter(relation_to_head=Relation.HEAD).exists()
    initial = {
        "ethnicity": "汉族",
        "political_status": PoliticalStatus.MASSES,
        "residence_type": ResidenceType.REGISTERED,
        "relation_to_head": Relation.OTHER if has_head else Relation.HEAD,
    }
    form = NewResidentForm(request.POST or None, initial=initial)
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            resident = actions.register_resident(
                actor=request.user,
                household=household,
                data=_resident_input(data),
                note=data["note"],
            )
        except DomainError as exc:
            error = exc
            _attach(form, exc)
        else:
            messages.success(request, _("已登记 %(name)s") % {"name": resident.name})
            return redirect("registry:resident", pk=resident.pk)
    context = {"household": household, "form": form}
    return private(
        render(request, "registry/resident_new.html", context, status=_status(form, error))
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_move(request: HttpRequest, pk: int) -> HttpResponse:
    resident = _writable_resident(request, pk)
    query = request.GET.get("q", "").strip()[:50]
    buildings = selectors.move_buildings(user=request.user, resident=resident, query=query)
    building = None
    chosen = request.GET.get("building") or request.POST.get("building") or ""
    if chosen.isdigit():
        building = next((b for b in buildings if b.pk == int(chosen)), None)
        if building is None:
            found = selectors.building_get(user=request.user, pk=int(chosen))
            building = found if selectors.can_write(request.user, found) else None
    today = timezone.localdate()
    form = MoveForm(
        request.POST or None,
        initial={
            "moved_out_on": today,
            "moved_in_on": today,
            "relation_to_head": resident.relation_to_head,
        },
    )
    households = selectors.move_households(building=building) if building else []
    form.fields["to_household"].widget.choices = [
        (h.pk, h.unit_room) for h in households if h.pk != resident.household_id
    ]
    error: DomainError | None = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.move_resident(
                actor=request.user,
                resident_id=resident.pk,
                to_household_id=data["to_household"],
                moved_out_on=data["moved_out_on"],
                moved_in_on=data["moved_in_on"],
                relation_to_head=data["relation_to_head"],
                note=data["note"],
            )
        except DomainError as exc:
            error = exc
            _attach(form, exc)
        else:
            messages.success(request, _("%(name)s 已迁入新住户") % {"name": resident.name})
            return redirect("registry:resident", pk=resident.pk)
    context = {
        "resident": resident,
        "household": resident.household,
        "query": query,
        "buildings": buildings,
        "building": building,
        "form": form,
    }
    return private(
        render(request, "registry/resident_move.html", context, status=_status(form, error))
    )
