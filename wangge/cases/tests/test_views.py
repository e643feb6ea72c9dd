"""Staff pages: to-do, list, detail, actions and the patrol report — scope, errors, htmx,
pagination and query counts. Data is made through the real actions."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from wangge.accounts.models import Role
from wangge.accounts.tests.factories import UserFactory, member
from wangge.cases import actions, selectors
from wangge.cases.models import Case, CaseEvent, Source, Status
from wangge.cases.tests.helpers import GRID, case_in, category, do, handled_by_grid_worker, report
from wangge.cases.tests.test_photos import image_bytes, upload
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World, login_as
from wangge.notifications.models import Notification
from wangge.territory import actions as territory
from wangge.territory.models import DepartmentKind
from wangge.territory.tests.factories import center_of

OTHER_GRID = "110101002002002"  # street 2: outside the grid worker's and handler's scope


def html(response) -> str:
    return response.content.decode()


def act(client, case: Case, action: str, **data):
    data.setdefault("version", case.version)
    return client.post(reverse("cases:act", args=[case.pk, action]), data)


@pytest.fixture
def stranger(world: World):
    """A grid worker of another street."""
    user = UserFactory(username="stranger", display_name="外街道网格员")
    member(user, Role.GRID_WORKER, unit=world.unit(OTHER_GRID))
    return user


# --- 我的待办 -----------------------------------------------------------------------------


def test_the_dispatcher_sees_the_desk_queues_with_counts(client, world: World) -> None:
    case_in(world, Status.REPORTED)
    case_in(world, Status.REPORTED)
    case_in(world, Status.ACCEPTED)
    case_in(world, Status.HANDLED)
    login_as(client, world.users["dispatcher"])

    response = client.get(reverse("cases:todo"))

    assert response.status_code == 200
    counts = {q.key: q.count for q in response.context["queues"]}
    assert counts == {
        "reported": 2,
        "accepted": 1,
        "handled": 1,
        "approval": 0,
        "due_soon": 0,
        "overdue": 0,
    }
    assert 'href="/cases/?queue=reported"' in html(response)
    assert 'data-testid="count-reported">2<' in html(response)


def test_a_request_for_approval_reaches_the_desk_and_its_answer_the_requester(
    client, world: World, django_capture_on_commit_callbacks
) -> None:
    """A suspension or extension request used to wait unseen until someone opened the case,
    while its deadline kept running."""
    from wangge.notifications.models import Notification

    case = case_in(world, Status.IN_PROGRESS)
    other = case_in(world, Status.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        do(world, case, "request_extension")
    handler, desk = world.users["department_handler"], world.users["community_staff"]
    assert Notification.objects.filter(recipient=desk, kind="approval").count() == 1
    assert not Notification.objects.filter(recipient=handler, kind="approval").exists()

    login_as(client, desk)
    counts = {q.key: q.count for q in client.get(reverse("cases:todo")).context["queues"]}
    assert counts["approval"] == 1
    assert listed(client, queue="approval") == [case.pk]
    assert other.pk not in listed(client, queue="approval")

    with django_capture_on_commit_callbacks(execute=True):
        do(world, case, "approve_extension")
    decided = Notification.objects.get(recipient=handler, kind="decided")
    assert "延期申请已批准" in decided.title
    assert client.get(reverse("cases:todo")).context["queues"][5].count == 0

    with django_capture_on_commit_callbacks(execute=True):
        do(world, other, "request_suspension")
        do(world, other, "deny_request")
    titles = Notification.objects.filter(recipient=handler, kind="decided").values_list(
        "title", flat=True
    )
    assert any("申请未获批准" in t for t in titles)


def test_a_handler_hears_when_a_case_is_sent_back_or_escalated_away(
    world: World, django_capture_on_commit_callbacks
) -> None:
    from wangge.notifications.models import Notification

    handler = world.users["department_handler"]
    failed = case_in(world, Status.HANDLED)
    escalated = case_in(world, Status.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        do(world, failed, "verify_fail")
        do(world, escalated, "escalate")
    mine = Notification.objects.filter(recipient=handler)
    assert "核查未通过" in mine.get(kind="verify_failed").title
    away = mine.get(kind="escalated")
    assert "不再由您办理" in away.title and away.url == f"/cases/{escalated.pk}/"
    # The desk above still gets its own notice of the same escalation (not deduplicated away).
    assert Notification.objects.filter(kind="escalated").exclude(recipient=handler).exists()


def test_a_department_handler_sees_only_the_queues_of_handling(client, world: World) -> None:
    case_in(world, Status.DISPATCHED)
    case_in(world, Status.IN_PROGRESS)
    case_in(world, Status.REPORTED)
    login_as(client, world.users["department_handler"])

    counts = {q.key: q.count for q in client.get(reverse("cases:todo")).context["queues"]}

    assert counts == {"dispatched": 1, "in_progress": 1, "due_soon": 0, "overdue": 0}


def test_a_grid_worker_sees_cases_dispatched_to_them_and_cases_to_verify(
    client, world: World
) -> None:
    worker = world.users["grid_worker"]
    case = case_in(world, Status.ACCEPTED)
    actions.dispatch(case_id=case.pk, actor=world.users["dispatcher"], worker=worker)
    to_verify = case_in(world, Status.HANDLED)
    case_in(world, Status.REPORTED)
    login_as(client, worker)

    response = client.get(reverse("cases:todo"))

    counts = {q.key: q.count for q in response.context["queues"]}
    assert counts["dispatched"] == 1
    assert counts["handled"] == 1
    assert "reported" not in counts
    assert {r["case"].pk for r in response.context["urgent"]} == {case.pk, to_verify.pk}
    assert reverse("cases:report") in html(response)


def test_a_leader_without_queues_sees_the_scope_overview(client, world: World) -> None:
    case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["leader"])

    response = client.get(reverse("cases:todo"))

    assert response.context["queues"] == []
    assert response.context["overview"]["open"] == 1
    assert 'data-testid="overview"' in html(response)


def test_the_todo_page_needs_a_login(client) -> None:
    response = client.get(reverse("cases:todo"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# --- case list ------------------------------------------------------------------------------


def test_the_list_shows_only_cases_in_scope(client, world: World, stranger) -> None:
    mine = report(world, title="本网格的垃圾")
    theirs = report(world, grid=OTHER_GRID, title="外街道的垃圾")

    login_as(client, world.users["grid_worker"])
    body = html(client.get(reverse("cases:list")))
    assert mine.title in body
    assert theirs.title not in body

    login_as(client, stranger)
    body = html(client.get(reverse("cases:list")))
    assert theirs.title in body
    assert mine.title not in body

    login_as(client, world.users["resident"])
    assert mine.title not in html(client.get(reverse("cases:list")))


def listed(client, **params) -> list[int]:
    response = client.get(reverse("cases:list"), params)
    assert response.status_code == 200, html(response)
    return [row["case"].pk for row in response.context["rows"]]


def test_the_list_filters_by_every_field(client, world: World) -> None:
    garbage = report(world, title="垃圾满溢", address="和平里东街3号")
    fire = report(world, category=category("fire_hazard"), title="楼道堆物", source=Source.HOTLINE)
    far = report(world, grid=OTHER_GRID, title="井盖缺失", category=category("manhole"))
    dispatched = case_in(world, Status.DISPATCHED, title="已派单的垃圾")
    login_as(client, world.users["dispatcher"])

    assert set(listed(client, status="dispatched")) == {dispatched.pk}
    assert set(listed(client, status="reported,dispatched")) == {
        garbage.pk,
        fire.pk,
        far.pk,
        dispatched.pk,
    }
    assert set(listed(client, category="fire_hazard")) == {fire.pk}
    assert set(listed(client, category="safety")) == {fire.pk}  # a class covers its sub-classes
    assert set(listed(client, source="hotline")) == {fire.pk}
    assert set(listed(client, unit="110101002")) == {far.pk}
    assert set(listed(client, department=world.department.pk)) == {dispatched.pk}
    assert set(listed(client, q="和平里")) == {garbage.pk}
    assert set(listed(client, q=fire.tracking_code.lower())) == {fire.pk}
    assert set(listed(client, queue="reported")) == {garbage.pk, fire.pk, far.pk}
    today = timezone.localdate()
    assert len(listed(client, date_from=today.isoformat(), date_to=today.isoformat())) == 4
    assert listed(client, date_to=(today - timedelta(days=1)).isoformat()) == []


def test_a_class_pages_through_its_sub_categories_newest_first(world: World) -> None:
    """On PostgreSQL each sub-category's page is read on its own and the pages are merged: the
    merged pages must give every case of the class once, in the list's order."""
    made = []
    for i in range(9):
        code = ("fire_hazard", "building_safety", "exposed_garbage")[i % 3]
        case = report(world, category=category(code), title=f"第{i}件")
        Case.objects.filter(pk=case.pk).update(
            created_at=timezone.now() - timedelta(minutes=i // 2)  # pairs share an instant
        )
        made.append(case)
    expected = list(
        Case.objects.filter(category__parent__code="safety")
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    assert len(expected) == 6
    user = world.users["dispatcher"]
    filters = selectors.CaseFilters(category="safety")
    shown: list[int] = []
    cursor = ""
    while True:
        page = selectors.case_page(user=user, filters=filters, cursor=cursor, limit=2)
        shown += [c.pk for c in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert shown == expected


def test_an_unknown_class_lists_nothing(client, world: World) -> None:
    report(world, title="垃圾满溢")
    login_as(client, world.users["dispatcher"])
    assert listed(client, category="no_such_class") == []


def test_the_total_above_the_list_is_counted_up_to_a_cap(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(4):
        report(world, title="垃圾满溢")
    login_as(client, world.users["dispatcher"])
    body = html(client.get(reverse("cases:total")))
    assert "共 4 件" in body

    monkeypatch.setattr(selectors, "TOTAL_CAP", 3)
    response = client.get(reverse("cases:total"))
    assert "超过 3 件" in html(response)
    assert response.context["total"] == 3 and response.context["total_capped"]
    total = selectors.case_total(user=world.users["dispatcher"], filters=selectors.CaseFilters())
    assert total == selectors.Total(count=3, capped=True)
    exact = selectors.case_total(
        user=world.users["dispatcher"], filters=selectors.CaseFilters(), cap=4
    )
    assert exact == selectors.Total(count=4, capped=False)


def test_the_list_filters_by_sla_status(client, world: World) -> None:
    old = report(world, created_at=timezone.now() - timedelta(days=30), title="很久以前")
    report(world, title="刚刚上报")
    login_as(client, world.users["dispatcher"])

    assert listed(client, sla="overdue") == [old.pk]
    assert old.pk not in listed(client, sla="normal")


def test_mine_lists_the_cases_i_reported(client, world: World) -> None:
    worker = world.users["grid_worker"]
    own = report(world, actor=worker, source=Source.GRID_PATROL)
    report(world)
    login_as(client, worker)

    assert listed(client, mine="1") == [own.pk]


def test_a_bad_filter_value_is_shown_naming_the_field(client, world: World) -> None:
    report(world)
    login_as(client, world.users["dispatcher"])

    response = client.get(reverse("cases:list"), {"date_from": "2026-13-45"})

    assert response.status_code == 200
    assert 'data-field="date_from"' in html(response)
    assert "2026-05-01" in html(response)
    assert len(response.context["rows"]) == 1  # the unfiltered list, not an empty page


def test_the_unit_select_offers_the_units_in_scope(client, world: World) -> None:
    login_as(client, world.users["street_staff"])
    units = [u.code for u in client.get(reverse("cases:list")).context["units"]]

    assert units[0] == "110101001"
    assert "110101001001" in units
    assert "110101001001001" in units  # few grids: they are offered too
    assert not any(code.startswith("110101002") for code in units)


def test_keyset_pagination_loads_more_with_htmx_without_gaps_or_repeats(
    client, world: World
) -> None:
    start = timezone.now() - timedelta(hours=80)
    made = [
        report(world, title=f"第{i}件", created_at=start + timedelta(hours=i)) for i in range(55)
    ]
    # Two cases at the same instant: the id breaks the tie.
    made.append(report(world, title="同时1", created_at=start + timedelta(hours=10)))
    login_as(client, world.users["dispatcher"])

    first = client.get(reverse("cases:list"))
    assert len(first.context["rows"]) == 50
    cursor = first.context["next_cursor"]
    assert cursor
    assert "加载更多" in html(first)
    assert f"cursor={cursor}" in html(first)

    more = client.get(reverse("cases:list"), {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    assert "<html" not in html(more)
    assert more.context["next_cursor"] is None
    assert "加载更多" not in html(more)
    shown = [r["case"].pk for r in first.context["rows"]] + [
        r["case"].pk for r in more.context["rows"]
    ]
    assert len(shown) == len(set(shown)) == 56
    assert set(shown) == {c.pk for c in made}
    assert more["Vary"].count("HX-Request") == 1


def test_a_filter_change_with_htmx_returns_only_the_results(client, world: World) -> None:
    report(world, title="垃圾满溢")
    login_as(client, world.users["dispatcher"])

    response = client.get(reverse("cases:list"), {"q": "垃圾"}, HTTP_HX_REQUEST="true")

    body = html(response)
    assert "<html" not in body
    assert 'id="case-rows"' in body
    assert 'hx-get="/cases/total/?q=' in body  # the count follows in its own request
    assert "垃圾满溢" in body
    full = html(client.get(reverse("cases:list"), {"q": "垃圾"}))
    assert "<html" in full and 'hx-get="/cases/"' in full


def test_the_list_page_runs_a_bounded_number_of_queries(
    client, world: World, django_assert_max_num_queries
) -> None:
    for status in (Status.REPORTED, Status.DISPATCHED, Status.CLOSED):
        for _ in range(4):
            case_in(world, status)
    login_as(client, world.users["dispatcher"])
    client.get(reverse("cases:list"))  # warm the session

    with django_assert_max_num_queries(11):
        response = client.get(reverse("cases:list"))
    assert len(response.context["rows"]) == 12


def test_a_list_row_names_the_grid_worker_who_leads_the_case(
    client, world: World, django_assert_max_num_queries
) -> None:
    led = handled_by_grid_worker(world)
    for _ in range(3):
        handled_by_grid_worker(world)
    login_as(client, world.users["dispatcher"])
    client.get(reverse("cases:list"))  # warm the session
    with django_assert_max_num_queries(11):  # the workers come with the rows, not one by one
        body = html(client.get(reverse("cases:list")))
    row = body.split(f'data-case="{led.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f"{world.users['grid_worker'].display_name}（网格员）" in row


# --- case detail ----------------------------------------------------------------------------


def test_the_detail_page_renders_for_everyone_in_scope(client, world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    for name in ("grid_worker", "community_staff", "street_staff", "dispatcher", "leader"):
        login_as(client, world.users[name])
        response = client.get(reverse("cases:detail", args=[case.pk]))
        assert response.status_code == 200, name
        assert case.title in html(response)
    login_as(client, world.users["department_handler"])
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 200


def test_the_detail_page_is_404_outside_scope(client, world: World, stranger) -> None:
    case = case_in(world, Status.REPORTED)
    for user in (stranger, world.users["resident"], world.users["nobody"]):
        login_as(client, user)
        assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404
    # A handler sees only the cases of their department.
    login_as(client, world.users["department_handler"])
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 404


def test_the_detail_shows_only_the_actions_this_user_may_take(client, world: World) -> None:
    case = case_in(world, Status.REPORTED)

    login_as(client, world.users["dispatcher"])
    body = html(client.get(reverse("cases:detail", args=[case.pk])))
    forms = set(re.findall(r"/cases/\d+/act/(\w+)/", body))
    assert forms == {"accept", "reject", "escalate", "merge"}
    assert f'name="version" value="{case.version}"' in body

    login_as(client, world.users["grid_worker"])
    body = html(client.get(reverse("cases:detail", args=[case.pk])))
    assert "/act/" not in body

    login_as(client, world.users["leader"])
    assert "/act/" not in html(client.get(reverse("cases:detail", args=[case.pk])))


def test_the_detail_shows_the_timeline_deadlines_pin_and_photos(client, world: World) -> None:
    case = report(world, photos=[upload(image_bytes())])
    do(world, case, "accept")
    login_as(client, world.users["dispatcher"])

    body = html(client.get(reverse("cases:detail", args=[case.pk])))

    assert 'data-action="report"' in body and 'data-action="accept"' in body
    assert "待受理 → 待分拨" in body
    assert 'data-testid="countdown"' in body
    assert f'data-due="{timezone.localtime(case.resolution_due_at).isoformat()}"' in body
    assert 'id="case-map"' in body and f'data-lon="{case.lon}"' in body
    photo = case.photos.get()
    assert reverse("cases:photo", args=[photo.pk, "thumb"]) in body


def test_the_dispatch_form_suggests_the_category_department(client, world: World) -> None:
    case = case_in(world, Status.ACCEPTED)  # 暴露垃圾 → 城管
    login_as(client, world.users["dispatcher"])

    response = client.get(reverse("cases:detail", args=[case.pk]))

    assert response.context["suggested_department"] == world.department.pk
    assert re.search(rf'<option value="{world.department.pk}" selected>', html(response))


def test_the_detail_page_runs_a_bounded_number_of_queries(
    client, world: World, django_assert_max_num_queries
) -> None:
    case = case_in(world, Status.CLOSED, photos=[upload(image_bytes()) for _ in range(3)])
    login_as(client, world.users["dispatcher"])
    client.get(reverse("cases:detail", args=[case.pk]))

    with django_assert_max_num_queries(11):
        response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    assert len(response.context["events"]) == 6


# --- actions --------------------------------------------------------------------------------


def test_accepting_from_the_page_moves_the_case_and_writes_the_timeline(
    client, world: World
) -> None:
    case = case_in(world, Status.REPORTED)
    login_as(client, world.users["dispatcher"])

    response = act(client, case, "accept")

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED
    assert CaseEvent.objects.filter(case=case, action="accept").exists()
    page = client.get(response["Location"])
    assert "已受理" in html(page)  # the flash message
    assert 'data-testid="status">待分拨<' in html(page)


def test_dispatching_to_a_department_from_the_page(client, world: World) -> None:
    case = case_in(world, Status.ACCEPTED)
    login_as(client, world.users["dispatcher"])

    response = act(client, case, "dispatch", department=world.department.pk, note="请尽快处理")

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    assert case.lead_department == world.department


def test_a_missing_reason_is_422_and_names_the_field(client, world: World) -> None:
    case = case_in(world, Status.REPORTED)
    login_as(client, world.users["dispatcher"])

    response = act(client, case, "reject", note="  ")

    assert response.status_code == 422
    body = html(response)
    assert 'data-field="note"' in body
    assert "说明：请填写说明或理由" in body
    assert re.search(r'<details class="action" data-action="reject" open>', body)
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_a_bad_input_value_is_422_and_names_the_field(client, world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["department_handler"])

    response = act(client, case, "request_extension", extra="0", note="需采购配件")

    assert response.status_code == 422
    assert 'data-field="extra"' in html(response)
    assert "延期天数：" in html(response)


def test_dispatch_without_a_lead_is_422(client, world: World) -> None:
    case = case_in(world, Status.ACCEPTED)
    login_as(client, world.users["dispatcher"])

    response = act(client, case, "dispatch", department="")

    assert response.status_code == 422
    assert 'data-field="lead"' in html(response)


def test_a_stale_version_is_409_and_asks_to_reload(client, world: World) -> None:
    case = case_in(world, Status.REPORTED)
    stale = case.version
    do(world, case, "accept")  # someone else acted meanwhile
    login_as(client, world.users["dispatcher"])

    response = client.post(
        reverse("cases:act", args=[case.pk, "reject"]), {"version": stale, "note": "重复"}
    )

    assert response.status_code == 409
    body = html(response)
    assert "案件已被他人更新，请刷新" in body
    assert 'data-testid="status">待分拨<' in body  # the page shows the current state
    case.refresh_from_db()
    assert case.status == Status.ACCEPTED


def test_acting_without_the_right_role_is_403(client, world: World) -> None:
    case = case_in(world, Status.REPORTED)
    login_as(client, world.users["grid_worker"])

    response = act(client, case, "accept")

    assert response.status_code == 403
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_acting_outside_scope_or_with_an_unknown_action_is_404(
    client, world: World, stranger
) -> None:
    case = case_in(world, Status.REPORTED)
    login_as(client, stranger)
    assert act(client, case, "accept").status_code == 404
    login_as(client, world.users["dispatcher"])
    assert act(client, case, "explode").status_code == 404
    response = client.get(reverse("cases:act", args=[case.pk, "accept"]))
    assert response.status_code == 302  # to the case page: the URL takes the form's POST only


def test_handling_with_a_photo_from_the_page(client, world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["department_handler"])

    response = client.post(
        reverse("cases:act", args=[case.pk, "handle"]),
        {
            "version": case.version,
            "result": "已清运",
            "outcome": "solved",
            "photos": upload(image_bytes()),
        },
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.HANDLED
    assert case.photos.get().event.action == "handle"


def test_verify_and_rate_from_the_page(client, world: World) -> None:
    case = case_in(world, Status.HANDLED)
    login_as(client, world.users["dispatcher"])

    assert act(client, case, "verify_pass").status_code == 302
    case.refresh_from_db()
    assert case.status == Status.CLOSED
    assert act(client, case, "rate", rating="basically_satisfied", solved="1").status_code == 302
    case.refresh_from_db()
    assert case.rating == "basically_satisfied"
    body = html(client.get(reverse("cases:detail", args=[case.pk])))
    assert 'data-testid="rating">基本满意' in body


def test_merging_by_tracking_code_from_the_page(client, world: World) -> None:
    master = report(world, title="主案件")
    duplicate = report(world, title="重复件")
    login_as(client, world.users["dispatcher"])

    missing = act(client, duplicate, "merge", master="NOPE1234")
    assert missing.status_code == 422
    assert 'data-field="master"' in html(missing)

    assert act(client, duplicate, "merge", master=master.tracking_code.lower()).status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED
    assert duplicate.master == master


# --- patrol report --------------------------------------------------------------------------


def report_data(world: World, key: str, **extra):
    lon, lat = center_of(world.unit(GRID))
    data = {
        "category": category().pk,
        "title": "3号楼门口垃圾堆积",
        "lon": lon,
        "lat": lat,
        "idempotency_key": key,
    }
    data.update(extra)
    return data


def test_the_report_form_offers_grouped_categories_and_a_fresh_key(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])

    first = client.get(reverse("cases:report"))
    second = client.get(reverse("cases:report"))

    assert first.status_code == 200
    body = html(first)
    assert '<optgroup label="市容环境">' in body
    assert 'name="idempotency_key"' in body
    assert GRID in body  # the worker's grid outline is drawn on the map
    key = first.context["form"].initial["idempotency_key"]
    assert key != second.context["form"].initial["idempotency_key"]


def test_a_grid_worker_files_a_patrol_report(client, world: World) -> None:
    worker = world.users["grid_worker"]
    login_as(client, worker)

    response = client.post(
        reverse("cases:report"),
        report_data(world, "k1", photos=upload(image_bytes()), description="气味很大"),
    )

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    assert case.source == Source.GRID_PATROL
    assert case.reporter == worker
    assert case.grid.code == GRID
    assert case.photos.count() == 1
    assert case.tracking_code in html(client.get(response["Location"]))


def test_a_patrol_report_asks_the_chosen_categorys_questions(client, world: World) -> None:
    """水电气暖 needs to know which utility: the page asks, names a missing answer at the
    question and keeps what was typed, and the answers are stored with the case."""
    utilities = category("utilities")
    elderly = category("elderly_care")
    login_as(client, world.users["grid_worker"])
    body = html(client.get(reverse("cases:report")))
    assert f'data-questions-for="{utilities.pk}"' in body
    assert f'name="answer-{utilities.pk}-utility" value="燃气"' in body

    response = client.post(
        reverse("cases:report"),
        report_data(
            world,
            "q1",
            category=utilities.pk,
            **{f"answer-{utilities.pk}-households": "12", f"answer-{elderly.pk}-age": "80"},
        ),
    )
    assert response.status_code == 422
    assert not Case.objects.exists()
    body = html(response)
    assert "请回答“类型”" in body
    assert f'name="answer-{utilities.pk}-households" value="12"' in body  # kept
    blocks = {b["category"].code: b for b in response.context["question_blocks"]}
    assert blocks["utilities"]["chosen"] and not blocks["elderly_care"]["chosen"]

    response = client.post(
        reverse("cases:report"),
        report_data(
            world,
            "q1",
            category=utilities.pk,
            **{
                f"answer-{utilities.pk}-utility": "燃气",
                f"answer-{utilities.pk}-households": "12",
                # typed for another category, then the reporter changed their mind: ignored
                f"answer-{elderly.pk}-age": "80",
            },
        ),
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.answers == {"utility": "燃气", "households": 12}
    assert "燃气" in html(client.get(response["Location"]))


def test_a_bad_answer_is_named_at_its_question(client, world: World) -> None:
    utilities = category("utilities")
    login_as(client, world.users["grid_worker"])
    response = client.post(
        reverse("cases:report"),
        report_data(
            world,
            "q2",
            category=utilities.pk,
            **{f"answer-{utilities.pk}-utility": "煤", f"answer-{utilities.pk}-households": "很多"},
        ),
    )
    assert response.status_code == 422 and not Case.objects.exists()
    body = html(response)
    assert "须为以下之一：水、电、燃气、供暖" in body
    assert "影响户数：须为数字" in body


def test_a_double_tap_files_one_case(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])

    first = client.post(reverse("cases:report"), report_data(world, "same-key"))
    second = client.post(reverse("cases:report"), report_data(world, "same-key"))

    assert Case.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_the_report_page_is_only_for_field_staff(client, world: World) -> None:
    for name in ("dispatcher", "department_handler", "resident", "leader"):
        login_as(client, world.users[name])
        assert client.get(reverse("cases:report")).status_code == 404, name
        assert client.post(reverse("cases:report"), report_data(world, name)).status_code == 404
    assert not Case.objects.exists()


def test_a_building_head_reports_as_a_building_head(client, world: World) -> None:
    login_as(client, world.users["building_head"])

    client.post(reverse("cases:report"), report_data(world, "bh"))

    assert Case.objects.get().source == Source.BUILDING_HEAD


def test_a_report_without_a_location_is_422_naming_the_location(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])

    response = client.post(
        reverse("cases:report"),
        report_data(world, "k", lon="", lat="", photos=upload(image_bytes())),
    )

    assert response.status_code == 422
    assert 'data-testid="photos-dropped"' in html(response)  # the photo must be picked again
    assert 'data-field="location"' in html(response)
    assert "位置：请在地图上选择位置" in html(response)
    # What was typed is kept, and so is the key.
    assert "3号楼门口垃圾堆积" in html(response)
    assert 'value="k"' in html(response)
    assert not Case.objects.exists()


def test_a_report_without_a_category_is_422_naming_the_category(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])

    response = client.post(reverse("cases:report"), report_data(world, "k", category=""))

    assert response.status_code == 422
    assert 'data-field="category"' in html(response)
    assert "问题类别：" in html(response)


def test_resolve_on_spot_closes_the_case_at_once(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])

    client.post(
        reverse("cases:report"),
        report_data(world, "spot", resolve_on_spot="on", result="已现场劝离"),
    )

    case = Case.objects.get()
    assert case.status == Status.CLOSED
    assert case.result == "已现场劝离"


# --- notifications and the top bar ----------------------------------------------------------


@pytest.fixture
def notified(world: World, django_capture_on_commit_callbacks) -> Case:
    """A case dispatched to the department: its handler gets an in-app notification."""
    case = case_in(world, Status.ACCEPTED)
    with django_capture_on_commit_callbacks(execute=True):
        do(world, case, "dispatch")
    return case


def test_the_top_bar_shows_case_links_and_loads_the_unread_count(
    client, world: World, notified
) -> None:
    login_as(client, world.users["department_handler"])

    body = html(client.get(reverse("cases:todo")))
    for link in ("/cases/todo/", "/cases/", "/notifications/"):
        assert f'href="{link}"' in body
    assert 'href="/cases/report/"' not in body  # reporting is for field staff
    assert 'hx-get="/notifications/badge/"' in body

    badge = client.get(reverse("notifications:badge"), HTTP_HX_REQUEST="true")
    assert re.search(r'data-testid="unread-count"[^>]*>1<', html(badge))
    assert badge["Cache-Control"] == "private, no-store"


def test_the_badge_is_empty_without_unread_notifications_or_a_session(client, world: World) -> None:
    assert client.get(reverse("notifications:badge")).status_code == 204
    login_as(client, world.users["dispatcher"])
    assert html(client.get(reverse("notifications:badge"))).strip() == ""


def test_residents_get_no_staff_links(client, world: World) -> None:
    login_as(client, world.users["resident"])
    body = html(client.get(reverse("core:home")))
    assert 'href="/cases/todo/"' not in body
    assert 'href="/notifications/"' not in body


def test_the_notification_page_lists_mine_and_opening_one_marks_it_read(
    client, world: World, notified
) -> None:
    handler = world.users["department_handler"]
    note = Notification.objects.get(recipient=handler)
    login_as(client, handler)

    page = client.get(reverse("notifications:list"))
    assert page.status_code == 200
    assert "新派单" in html(page)
    assert 'class="notification unread"' in html(page)

    opened = client.get(reverse("notifications:open", args=[note.pk]))
    assert opened.status_code == 302
    assert opened["Location"] == f"/cases/{notified.pk}/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert html(client.get(reverse("notifications:badge"))).strip() == ""


def test_mark_all_read(client, world: World, notified) -> None:
    handler = world.users["department_handler"]
    login_as(client, handler)

    response = client.post(reverse("notifications:mark_read"))

    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=handler, read_at__isnull=True).exists()


def test_someone_elses_notification_is_404(client, world: World, notified) -> None:
    note = Notification.objects.get(recipient=world.users["department_handler"])
    login_as(client, world.users["dispatcher"])

    assert client.get(reverse("notifications:open", args=[note.pk])).status_code == 404
    assert list(client.get(reverse("notifications:list")).context["items"]) == []


def test_a_notification_never_redirects_off_site(client, world: World) -> None:
    user = world.users["dispatcher"]
    note = Notification.objects.create(
        recipient=user, kind="rated", title="评价", url="https://evil.example/"
    )
    login_as(client, user)

    response = client.get(reverse("notifications:open", args=[note.pk]))

    assert response["Location"] == reverse("notifications:list")


def test_department_options_include_other_streets_departments_only_for_the_district(
    client, world: World
) -> None:
    street2 = territory.create_department(
        name="第2街道城管科", kind=DepartmentKind.CITY_MANAGEMENT, unit=world.unit("110101002")
    )
    login_as(client, world.users["street_staff"])
    options = list(client.get(reverse("cases:list")).context["departments"])
    assert world.department in options and street2 not in options

    login_as(client, world.users["dispatcher"])
    options = list(client.get(reverse("cases:list")).context["departments"])
    assert street2 in options


def test_the_rows_never_wait_for_the_count(client, world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for title in ("垃圾满溢", "路灯不亮"):
        report(world, title=title)
    login_as(client, world.users["dispatcher"])
    client.get(reverse("cases:list"))  # session, scope
    with CaptureQueriesContext(connection) as queries:
        page = html(client.get(reverse("cases:list"), {"q": "路灯"}))
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert not [sql for sql in counts if '"cases_case"' in sql]
    assert 'hx-get="/cases/total/?q=%E8%B7%AF%E7%81%AF"' in page
    # The count the page then asks for: the same filters, the same scope, the export button.
    total = html(client.get(reverse("cases:total"), {"q": "路灯"}))
    assert "共 1 件" in total and 'data-export="cases"' in total
    assert "导出 Excel" not in html(client.get(reverse("cases:total"), {"q": "没有这种事"}))
    # Filters the list rejects are reported there; the count is then of every case in scope.
    assert "共 2 件" in html(client.get(reverse("cases:total"), {"date_from": "not-a-date"}))
    # Within the caller's scope, as the list: a resident sees none of these cases.
    login_as(client, world.users["resident"])
    assert listed(client) == []
    assert "共 0 件" in html(client.get(reverse("cases:total")))
    client.logout()
    assert client.get(reverse("cases:total")).status_code == 302  # to the login page


def test_the_status_picker_keeps_several_statuses_asked_for(client, world: World) -> None:
    from wangge.cases.models import OPEN_STATUSES

    case_in(world, Status.ACCEPTED, title="垃圾满溢")
    case_in(world, Status.DISPATCHED, title="垃圾满溢")
    case_in(world, Status.REJECTED, title="垃圾满溢")
    login_as(client, world.users["dispatcher"])
    # The to-do page's and the dashboard's 在办 links ask for every open status at once.
    asked = ",".join(sorted(OPEN_STATUSES))
    page = html(client.get(reverse("cases:list"), {"status": asked}))
    selected = re.findall(r'<option value="([^"]*)" selected>', page)
    assert selected and set(selected[0].split(",")) == set(OPEN_STATUSES)
    # What the form then sends with another filter keeps them all: 2 open cases, not 0.
    assert len(listed(client, status=selected[0], q="垃圾")) == 2
    # Any other set of statuses is offered as it is.
    page = html(client.get(reverse("cases:list"), {"status": "accepted,rejected"}))
    assert '<option value="accepted,rejected" selected>' in page
    assert len(listed(client, status="accepted,rejected")) == 2


def test_the_timeline_names_the_public_in_the_readers_language(world: World, client) -> None:
    """The label is stored untranslated: a resident's English browser does not write English
    into the district's history, and each reader sees it in their own language."""
    with translation.override("en"):
        case = report(world)
    event = CaseEvent.objects.get(case=case)
    assert event.actor_label == "群众"
    login_as(client, world.users["dispatcher"])
    url = reverse("cases:detail", args=[case.pk])
    with translation.override(translation.get_language()):
        chinese = client.get(url).content.decode()
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span class="event-actor">群众</span>' in chinese
    assert '<span class="event-actor">Member of the public</span>' in english


def test_a_calendar_warning_is_stored_in_both_languages_and_shown_in_one(
    world: World, client
) -> None:
    """Whoever's action computed the deadline (here an English-speaking reporter), each reader
    sees the warning in their own language."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from wangge.workcalendar import actions as calendar_actions

    calendar_actions.delete_year_schedule(year=2027)
    filed = datetime(2026, 12, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with translation.override("en"):
        case = report(world, created_at=filed, category=category("elderly_care"))
    case.refresh_from_db()
    assert "2027 年节假日安排尚未发布" in case.calendar_warning
    assert "the 2027 holiday schedule is not published yet" in case.calendar_warning
    login_as(client, world.users["dispatcher"])
    url = reverse("cases:detail", args=[case.pk])
    with translation.override(translation.get_language()):
        chinese = client.get(url).content.decode()
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    warning = re.compile(r'<p class="warning" role="note">([^<]*)</p>')
    assert warning.findall(chinese) == ["2027 年节假日安排尚未发布，按周一至周五计算"]
    assert warning.findall(english) == [
        "The 2027 holiday schedule is not published yet; counted Monday to Friday."
    ]


def test_a_refused_dispatch_keeps_the_ticked_co_handling_departments(world: World, client) -> None:
    case = case_in(world, Status.ACCEPTED)
    co = territory.create_department(
        name="协办测试部门", kind=DepartmentKind.HOUSING, unit=world.unit("110101")
    )
    login_as(client, world.users["dispatcher"])
    response = act(client, case, "dispatch", co_departments=[co.pk])
    assert response.status_code == 422
    page = html(response)
    assert re.search(
        rf'<input type="checkbox" name="co_departments" value="{co.pk}" checked>', page
    )
    assert '<details class="co" open>' in page


def test_the_list_names_its_to_do_queue_in_the_readers_language(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    url = reverse("cases:list")
    chip = re.compile(r'<span class="chip role">([^<]*)</span>')
    with translation.override(translation.get_language()):
        chinese = client.get(url, {"queue": "reported"}).content.decode()
        english = client.get(url, {"queue": "due_soon"}, HTTP_ACCEPT_LANGUAGE="en")
    assert chip.findall(chinese) == ["待办：待受理"]
    assert chip.findall(english.content.decode()) == ["To-do: Due soon"]


def test_english_pages_name_categories_in_english(world: World, client) -> None:
    case = report(world)  # 暴露垃圾 (exposed_garbage), seeded with its English name
    assert case.category.name_en == "Exposed rubbish"
    login_as(client, world.users["dispatcher"])
    with translation.override(translation.get_language()):
        chinese = client.get(reverse("cases:list")).content.decode()
        english = client.get(reverse("cases:list"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        detail = client.get(
            reverse("cases:detail", args=[case.pk]), HTTP_ACCEPT_LANGUAGE="en"
        ).content.decode()
    row = re.compile(rf'data-case="{case.pk}">.*?</tr>', re.S)
    assert "暴露垃圾" in row.search(chinese).group(0)  # type: ignore[union-attr]
    english_row = row.search(english).group(0)  # type: ignore[union-attr]
    assert "Exposed rubbish" in english_row and "暴露垃圾" not in english_row
    assert "Cityscape and environment / Exposed rubbish" in detail


def test_a_category_without_an_english_name_shows_its_chinese_name(world: World) -> None:
    sub = category("exposed_garbage")
    sub.name_en = ""
    with translation.override("en"):
        assert sub.label == "暴露垃圾"
        sub.name_en = "Exposed rubbish"
        assert sub.label == "Exposed rubbish"
    with translation.override("zh-hans"):
        assert sub.label == "暴露垃圾"


def test_a_building_head_sees_their_own_reports_not_their_grids_cases(world: World, client) -> None:
    """A building head's scope is their own buildings (DOMAIN.md §2): a neighbour's complaint
    in the same grid, with the neighbour's phone number, is not theirs to read."""
    head = world.users["building_head"]
    own = report(world, actor=head, source=Source.BUILDING_HEAD, reporter_name=str(head))
    neighbour = report(world, reporter_name="王女士", reporter_phone="13911112222")
    assert own.grid_code == neighbour.grid_code
    assert set(selectors.case_list(user=head)) == {own}
    assert set(selectors.case_list(user=world.users["grid_worker"])) >= {own, neighbour}
    login_as(client, head)
    assert client.get(reverse("cases:detail", args=[neighbour.pk])).status_code == 404
    assert client.get(reverse("cases:detail", args=[own.pk])).status_code == 200
    page = client.get(reverse("cases:list")).content.decode()
    assert "13911112222" not in page and f'href="/cases/{neighbour.pk}/"' not in page


def test_the_late_queues_count_only_cases_waiting_for_this_user(client, world: World) -> None:
    """A grid worker's 已超时 holds the late cases of their own queues (here one to verify), not
    every late case of their grid (one still waiting for the community desk)."""
    for_the_desk = case_in(world, Status.REPORTED)
    to_verify = case_in(world, Status.HANDLED)
    past = timezone.now() - timedelta(days=2)
    Case.objects.filter(pk__in=[for_the_desk.pk, to_verify.pk]).update(
        response_due_at=past, resolution_due_at=past, due_soon_at=past - timedelta(days=1)
    )
    login_as(client, world.users["grid_worker"])
    counts = {q.key: q.count for q in client.get(reverse("cases:todo")).context["queues"]}
    assert counts["handled"] == 1
    assert counts["overdue"] == 1
    assert set(listed(client, queue="overdue")) == {to_verify.pk}
    login_as(client, world.users["dispatcher"])
    assert set(listed(client, queue="overdue")) == {for_the_desk.pk, to_verify.pk}


def test_an_action_after_the_session_expired_leads_back_to_the_case(world: World, client) -> None:
    """The sign-in page returns the person to the case, not to the action's POST-only URL
    (which a browser can only GET afterwards: an empty 405 page)."""
    case = case_in(world, Status.REPORTED)
    act = reverse("cases:act", args=[case.pk, "accept"])
    detail = reverse("cases:detail", args=[case.pk])
    response = client.post(
        act, {"version": case.version}, HTTP_REFERER=f"http://testserver{detail}"
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={detail}"
    # The sign-in page says that what was sent was not saved.
    assert "刚才提交的内容没有保存" in client.get(response["Location"]).content.decode()
    login_as(client, world.users["dispatcher"])
    response = client.get(act)  # where an older sign-in page sent people
    assert response.status_code == 302 and response["Location"] == detail
    case.refresh_from_db()
    assert case.status == Status.REPORTED


def test_a_form_posted_after_the_session_expired_leads_back_to_its_page(
    world: World, client
) -> None:
    page = "/registry/check/?building=3"
    target = reverse("notifications:mark_read")
    response = client.post(target, {"id": "1"}, HTTP_REFERER=f"http://testserver{page}")
    assert (
        response["Location"] == f"{reverse('accounts:login')}?next=/registry/check/%3Fbuilding%3D3"
    )
    elsewhere = client.post(target, {"id": "1"}, HTTP_REFERER="https://evil.example/registry/")
    assert elsewhere["Location"] == f"{reverse('accounts:login')}?next=/"


def test_a_patrol_report_sent_signed_out_is_told_it_was_not_saved(client) -> None:
    response = client.post(reverse("cases:report"), {"title": "井盖缺失"})
    assert response.status_code == 302 and response["Location"].startswith(
        reverse("accounts:login")
    )
    assert "刚才提交的内容没有保存" in client.get(response["Location"]).content.decode()
    # A plain visit to the form while signed out says nothing of the kind.
    quiet = client.get(client.get(reverse("cases:report"))["Location"]).content.decode()
    assert "没有保存" not in quiet


def test_a_department_returning_a_case_lands_on_its_to_do_list(world: World, client) -> None:
    """After 退单 the case is no longer the department's: no "not found" page after "Done"."""
    case = case_in(world, Status.DISPATCHED)
    login_as(client, world.users["department_handler"])
    response = act(client, case, "return", note="不属于本部门职责")
    assert response.status_code == 302 and response["Location"] == reverse("cases:todo")
    page = client.get(response["Location"]).content.decode()
    assert "已退单" in page


def test_handling_without_a_result_names_the_result(world: World, client) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    login_as(client, world.users["department_handler"])
    response = act(client, case, "handle", result="   ")
    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-field="result"' in body
    assert "处置结果：请填写处置结果" in body
    assert "说明" not in re.search(r'role="alert".*?</div>', body, re.S).group(0)


def test_refused_filters_page_and_count_what_is_listed(world: World, client) -> None:
    """A refused filter lists every case; "more" then pages through those (it repeated the
    first page with the refused filter) and the count and the export carry no refused filter."""
    for i in range(50 + 3):  # a page is 50 rows
        report(world, title=f"问题{i:02d}")
    login_as(client, world.users["dispatcher"])
    response = client.get(reverse("cases:list"), {"status": "open", "sla": "overdue"})
    body = response.content.decode()
    assert "状态 open 无效" in body
    more = re.search(r'<a class="button secondary block" href="\?([^"]*)"', body).group(1)
    assert "status" not in more and "sla" not in more
    first = set(re.findall(r'href="/cases/(\d+)/"', body))
    second = client.get(reverse("cases:list") + "?" + more.replace("&amp;", "&"))
    assert len(set(re.findall(r'href="/cases/(\d+)/"', second.content.decode())) - first) == 3
    total = client.get(reverse("cases:total"), {"status": "open"}).content.decode()
    assert "status=open" not in total


def test_a_period_ending_before_it_starts_is_refused_in_words(world: World, client) -> None:
    report(world)
    login_as(client, world.users["dispatcher"])
    params = {"date_from": "2026-11-30", "date_to": "2026-11-01"}
    for url in (reverse("cases:list"), reverse("dashboard:index")):
        body = client.get(url, params).content.decode()
        assert "截止日期 2026-11-01 早于起始日期 2026-11-30" in body, url


def test_an_empty_patrol_report_names_every_missing_field_at_once(world: World, client) -> None:
    """One round trip per problem cost the grid worker their chosen photos each time."""
    login_as(client, world.users["grid_worker"])
    response = client.post(reverse("cases:report"), {"idempotency_key": "k-1"})
    assert response.status_code == 422
    box = re.search(r'data-testid="report-error".*?</div>', response.content.decode(), re.S)
    text = box.group(0)
    for words in ("问题类别：", "一句话描述：", "位置：请在地图上选择位置"):
        assert words in text, words
    assert response.content.decode().count("has-error") == 3
    assert not Case.objects.exists()


def test_a_grid_workers_own_handled_case_is_not_in_their_queue_to_verify(
    world: World, client
) -> None:
    worker = world.users["grid_worker"]
    case = handled_by_grid_worker(world)
    past = timezone.now() - timedelta(days=2)
    Case.objects.filter(pk=case.pk).update(resolution_due_at=past, due_soon_at=past)
    login_as(client, worker)
    counts = {q.key: q.count for q in client.get(reverse("cases:todo")).context["queues"]}
    assert counts["handled"] == 0 and counts["overdue"] == 0
    login_as(client, world.users["dispatcher"])
    counts = {q.key: q.count for q in client.get(reverse("cases:todo")).context["queues"]}
    assert counts["handled"] == 1 and counts["overdue"] == 1


def test_a_desk_still_sees_late_cases_of_its_unit_waiting_on_a_department(
    world: World, client
) -> None:
    """The desk chases departments and approves their requests: their late cases are its too."""
    case = case_in(world, Status.IN_PROGRESS)
    past = timezone.now() - timedelta(days=2)
    Case.objects.filter(pk=case.pk).update(resolution_due_at=past, due_soon_at=past)
    login_as(client, world.users["dispatcher"])
    assert set(listed(client, queue="overdue")) == {case.pk}


def test_a_form_target_never_redirects_to_itself_or_off_site(world: World, client) -> None:
    """A page rendered at its POST address (a reveal, an export error) reloaded with itself as
    Referer must not loop; a Referer path "//host/…" is another site."""
    target = reverse("notifications:mark_read")
    login_as(client, world.users["dispatcher"])
    for referer in (f"http://testserver{target}", "http://testserver//evil.example/x"):
        response = client.get(target, HTTP_REFERER=referer)
        assert response.status_code == 302 and response["Location"] == "/", referer


def test_only_a_closed_case_is_marked_as_closed_on_its_page(client, world: World) -> None:
    login_as(client, world.users["dispatcher"])
    for status, shown in ((Status.CLOSED, "✓ 办结于"), (Status.REJECTED, "不予受理")):
        case = case_in(world, status)
        page = html(client.get(reverse("cases:detail", args=[case.pk])))
        deadline = page.split("办结时限", 1)[1].split("</dd>", 1)[0]
        assert shown in deadline
        assert ("✓" in deadline) == (status == Status.CLOSED)


def test_a_case_escalated_while_the_handler_typed_hands_back_what_they_typed(
    client, world: World
) -> None:
    """It was a not-found page and the typed result was lost."""
    case = case_in(world, Status.IN_PROGRESS)
    handler = world.users["department_handler"]
    login_as(client, handler)
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 200
    do(world, case, "escalate")
    response = client.post(
        reverse("cases:act", args=[case.pk, "handle"]),
        {"result": "已联系环卫清运，现场已清理", "outcome": "solved", "version": case.version},
    )
    assert response.status_code == 409
    body = html(response)
    assert "不再由您办理" in body and "已联系环卫清运，现场已清理" in body
    case.refresh_from_db()
    assert case.status != Status.HANDLED
    # A case the user never worked on stays a plain not-found.
    stranger = report(world, grid=OTHER_GRID)
    response = client.post(reverse("cases:act", args=[stranger.pk, "handle"]), {"result": "x"})
    assert response.status_code == 404


def test_a_categorys_questions_speak_the_readers_language(client, world: World) -> None:
    """The seeded questions carry English labels (migration cases/0012): English pages ask
    and refuse in English, Chinese pages as before; a question without one stays Chinese."""
    utilities = category("utilities")
    questions = list(utilities.questions)
    questions.append({"key": "note", "label": "补充", "type": "text", "required": False})
    utilities.questions = questions
    utilities.save(update_fields=["questions"])
    login_as(client, world.users["grid_worker"])
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    body = html(client.get(reverse("cases:report"), **english))
    assert "Households affected" in body and "影响户数" not in body
    assert "补充" in body  # no English label: its own
    # The options read in English; the answer sent is still the stored value.
    assert f'name="answer-{utilities.pk}-utility" value="电"> Electricity' in body
    response = client.post(
        reverse("cases:report"),
        report_data(world, "q-en", category=utilities.pk),
        **english,
    )
    assert response.status_code == 422
    assert "“Kind”" in html(response) and "类型" not in html(response)
    response = client.post(
        reverse("cases:report"),
        report_data(
            world, "q-en", category=utilities.pk, **{f"answer-{utilities.pk}-utility": "水"}
        ),
    )
    assert response.status_code == 302
    assert Case.objects.get().answers["utility"] == "水"
    detail = html(client.get(response["Location"], **english))
    assert "Kind" in detail and "Water" in detail
    detail = html(client.get(response["Location"]))
    assert "类型" in detail and "水" in detail


def test_the_english_labels_are_added_to_seeded_questions_only(world: World) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("wangge.cases.migrations.0012_question_english_labels")
    utilities, elderly = category("utilities"), category("elderly_care")
    utilities.questions = [
        {k: v for k, v in q.items() if k != "label_en"} for q in utilities.questions
    ]
    utilities.questions[1]["label"] = "受影响的住户"  # changed by an administrator
    utilities.save(update_fields=["questions"])
    elderly.questions = [{**q, "label_en": "Their own"} for q in elderly.questions]
    elderly.save(update_fields=["questions"])
    migration.fill_english_labels(apps, None)
    utilities.refresh_from_db()
    elderly.refresh_from_db()
    assert [q.get("label_en") for q in utilities.questions] == ["Kind", None]
    assert {q["label_en"] for q in elderly.questions} == {"Their own"}


def test_english_options_must_match_the_options_one_for_one() -> None:
    from wangge.cases.questions import check_questions

    base = {"key": "utility", "label": "类型", "type": "choice", "choices": ["水", "电"]}
    check_questions([{**base, "choices_en": ["Water", "Electricity"]}])
    for bad in (["Water"], "Water", ["Water", 2]):
        with pytest.raises(DomainError) as refused:
            check_questions([{**base, "choices_en": bad}])
        assert refused.value.field == "questions[0]"


def test_the_english_options_are_added_to_seeded_questions_only(world: World) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("wangge.cases.migrations.0013_question_english_choices")
    utilities = category("utilities")
    plain = [{k: v for k, v in q.items() if k != "choices_en"} for q in utilities.questions]
    utilities.questions = plain
    utilities.save(update_fields=["questions"])
    migration.fill_english_choices(apps, None)
    utilities.refresh_from_db()
    assert utilities.questions[0]["choices_en"] == ["Water", "Electricity", "Gas", "Heating"]
    changed = [{**plain[0], "choices": ["水", "电"]}, *plain[1:]]  # an administrator's options
    utilities.questions = changed
    utilities.save(update_fields=["questions"])
    migration.fill_english_choices(apps, None)
    utilities.refresh_from_db()
    assert "choices_en" not in utilities.questions[0]


def test_a_number_question_may_be_bounded_and_whole() -> None:
    from wangge.cases.questions import check_questions

    base = {"key": "floor", "label": "楼层", "type": "number"}
    check_questions([{**base, "min": -10, "max": 200, "integer": True}])
    check_questions([{**base, "min": 0.5}])
    for bad in (
        {"min": "1"},
        {"max": float("nan")},
        {"min": 5, "max": 1},
        {"integer": "yes"},
        {"integer": True, "min": 0.5},
    ):
        with pytest.raises(DomainError) as refused:
            check_questions([{**base, **bad}])
        assert refused.value.field == "questions[0]"


@pytest.mark.parametrize(
    ("answer", "message"),
    [("0", "影响户数：不能小于 1"), ("2.5", "影响户数：须为整数"), ("-3", "影响户数：不能小于 1")],
)
def test_a_number_answer_out_of_its_bounds_is_refused_by_its_field(
    client, world: World, answer: str, message: str
) -> None:
    utilities = category("utilities")
    login_as(client, world.users["grid_worker"])
    name = f"answer-{utilities.pk}-households"
    response = client.post(
        reverse("cases:report"),
        report_data(
            world,
            "q3",
            category=utilities.pk,
            **{f"answer-{utilities.pk}-utility": "水", name: answer},
        ),
    )
    assert response.status_code == 422 and not Case.objects.exists()
    body = html(response)
    assert message in body
    # The box says so before sending: whole numbers from 1.
    box = re.search(rf'<input[^>]*name="{name}"[^>]*>', body)
    assert box is not None
    assert 'min="1"' in box.group(0) and 'step="1"' in box.group(0)
    assert 'inputmode="numeric"' in box.group(0) and "max=" not in box.group(0)


def test_the_number_bounds_are_added_to_seeded_questions_only(world: World) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("wangge.cases.migrations.0014_question_number_bounds")
    utilities = category("utilities")
    plain = [
        {k: v for k, v in q.items() if k not in ("min", "max", "integer")}
        for q in utilities.questions
    ]
    utilities.questions = plain
    utilities.save(update_fields=["questions"])
    migration.fill_number_bounds(apps, None)
    utilities.refresh_from_db()
    assert utilities.questions[1]["min"] == 1 and utilities.questions[1]["integer"] is True
    # An administrator's own bound is kept, and nothing is added beside it.
    own = [plain[0], {**plain[1], "max": 500}]
    utilities.questions = own
    utilities.save(update_fields=["questions"])
    migration.fill_number_bounds(apps, None)
    utilities.refresh_from_db()
    assert utilities.questions == own


def test_a_patrol_report_names_its_answers_with_the_other_problems_at_once(
    client, world: World
) -> None:
    utilities = category("utilities")
    login_as(client, world.users["grid_worker"])
    response = client.post(
        reverse("cases:report"),
        report_data(
            world,
            "q5",
            category=utilities.pk,
            title="",
            **{f"answer-{utilities.pk}-households": "0"},
        ),
    )
    assert response.status_code == 422 and not Case.objects.exists()
    body = html(response)
    assert "请用一句话说明是什么问题" in body  # not Django's 这个字段是必填项
    assert "请回答“类型”" in body and "影响户数：不能小于 1" in body


def test_the_visit_form_leaves_checking_to_the_server() -> None:
    """Its question boxes carry min/max; a browser must not block the form without a word."""
    from pathlib import Path

    template = Path(__file__).resolve().parents[2] / "registry/templates/registry/visit.html"
    assert re.search(r'<form [^>]*action="[^"]*visit_case[^>]*novalidate', template.read_text())


def test_a_patrol_report_without_a_point_is_placed_by_its_address(client, world: World) -> None:
    """No map without JavaScript: the address places the report, or is named if unknown."""
    building = world.buildings["110101001001001"]
    login_as(client, world.users["grid_worker"])
    unknown = client.post(
        reverse("cases:report"), report_data(world, "q6", lon="", lat="", address="火星基地")
    )
    assert unknown.status_code == 422 and not Case.objects.exists()
    assert "没有找到这个地址" in html(unknown)
    blank = client.post(reverse("cases:report"), report_data(world, "q7", lon="", lat=""))
    assert blank.status_code == 422 and "请在地图上选择位置" in html(blank)
    placed = client.post(
        reverse("cases:report"), report_data(world, "q8", lon="", lat="", address=building.address)
    )
    assert placed.status_code == 302, html(placed)
    case = Case.objects.get()
    assert case.grid == building.grid and (case.lon, case.lat) == (building.lon, building.lat)


def test_the_patrol_map_and_gps_button_are_for_javascript_only(client, world: World) -> None:
    login_as(client, world.users["grid_worker"])
    page = html(client.get(reverse("cases:report")))
    assert re.search(r'id="pick-map" class="[^"]*\bjs-only\b', page)
    assert re.search(r'class="[^"]*\bjs-only\b[^"]*" id="use-gps"', page)
    assert 'class="no-js-only muted"' in page
