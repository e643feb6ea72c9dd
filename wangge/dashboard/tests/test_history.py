"""`seed_cases`: bulk history that the rest of the system takes for real cases."""

import io
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from wangge.cases import sla
from wangge.cases.models import OPEN_STATUSES, Case, CaseEvent, Status
from wangge.core.errors import DomainError
from wangge.core.tests.fixtures import World, login_as
from wangge.dashboard import selectors
from wangge.dashboard.counters import case_flags, drift
from wangge.dashboard.history import seed_cases, tracking_codes
from wangge.dashboard.models import CaseMark


@pytest.fixture
def seeded(world: World) -> World:
    out = io.StringIO()
    call_command("seed_cases", "--count", "1200", "--days", "20", "--seed", "7", stdout=out)
    assert "cases/s" in out.getvalue()
    return world


def test_the_counters_equal_a_recount_after_seeding(seeded: World) -> None:
    assert Case.objects.count() == 1200
    assert drift() == {}
    out = io.StringIO()
    call_command("recount_stats", "--check", stdout=out)  # exits 1 on any difference
    assert "0 rollup rows differ" in out.getvalue()
    # Marks agree with the per-case rules of the incremental path too.
    sample = list(Case.objects.order_by("?")[:200])
    marks = dict(CaseMark.objects.filter(case__in=sample).values_list("case_id", "flags"))
    assert all(marks[c.pk] == case_flags(c) for c in sample)


def test_the_history_spreads_over_states_grids_and_categories(seeded: World) -> None:
    statuses = dict(Case.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses[Status.CLOSED] > 600  # most of a 20-day history is done
    for status in (Status.IN_PROGRESS, Status.REJECTED, Status.HANDLED, Status.REPORTED):
        assert statuses.get(status, 0) > 0, status
    assert Case.objects.values("grid_code").distinct().count() == 2  # the grids with buildings
    assert Case.objects.values("category").distinct().count() > 20
    assert Case.objects.filter(lead_department__isnull=False).exists()
    # Recent cases are open, old ones closed: open cases are younger on average.
    open_age = Case.objects.filter(status__in=OPEN_STATUSES).count()
    assert 0 < open_age < 600


def test_every_case_has_its_timeline(seeded: World) -> None:
    events = CaseEvent.objects.values("case_id").annotate(n=Count("pk"))
    per_case = {r["case_id"]: r["n"] for r in events}
    versions = dict(Case.objects.values_list("pk", "version"))
    assert per_case == versions  # one entry per step, and the version counts them
    assert CaseEvent.objects.filter(action="report").count() == 1200
    closed = Case.objects.filter(status=Status.CLOSED, accepted_at__isnull=False)
    assert CaseEvent.objects.filter(action="verify_pass").count() == closed.count()
    # The last entry of each case ends in its current status (rating keeps it closed).
    for case in Case.objects.order_by("?")[:100]:
        last = case.events.order_by("created_at", "id").last()
        assert last is not None and last.to_status == case.status, case.pk
        times = [e.created_at for e in case.events.order_by("created_at", "id")]
        assert times[0] == case.created_at and times == sorted(times)
        assert all(t <= timezone.now() for t in times)


def test_deadlines_are_the_working_calendars(seeded: World) -> None:
    for case in Case.objects.select_related("category").order_by("?")[:400]:
        limits = sla.limits_for(category=case.category, priority=case.priority)
        due = sla.compute_due(started_at=case.created_at, limits=limits)
        assert case.response_due_at == due.response_due_at
        assert case.resolution_due_at == due.resolution_due_at
        assert case.due_soon_at == due.due_soon_at
        assert case.response_due_at > case.created_at
        assert case.resolution_due_at > case.created_at


def test_seeded_cases_show_on_the_pages(seeded: World, client: Any) -> None:
    login_as(client, seeded.users["dispatcher"])
    assert client.get("/cases/").status_code == 200
    for status in (Status.CLOSED, Status.IN_PROGRESS, Status.REJECTED, Status.SUSPENDED):
        case = Case.objects.filter(status=status).first()
        if case is None:
            continue
        response = client.get(f"/cases/{case.pk}/")
        assert response.status_code == 200
        assert case.tracking_code in response.content.decode()
    summary = selectors.summary(user=seeded.users["dispatcher"])
    assert summary["counters"]["total"] == 1200
    assert summary["counters"]["closed"] == Case.objects.filter(status=Status.CLOSED).count()


def test_a_second_run_adds_to_the_first(seeded: World) -> None:
    result = seed_cases(count=500, days=5, seed=8)
    assert result.cases == 500 and Case.objects.count() == 1700
    assert drift() == {}
    assert Case.objects.values("tracking_code").distinct().count() == 1700
    total = Case.objects.aggregate(n=Sum("version"))["n"]
    assert CaseEvent.objects.count() == total


def test_it_refuses_nonsense_counts(world: World) -> None:
    with pytest.raises(DomainError) as error:
        seed_cases(count=0)
    assert error.value.field == "count"


def test_tracking_codes_are_distinct_for_distinct_ids() -> None:
    ids = np.arange(1, 200_001, dtype=np.int64)
    codes = tracking_codes(ids)
    assert len(set(codes)) == len(codes) and all(len(c) == 8 for c in codes)
