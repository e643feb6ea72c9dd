"""The demo cases: every state, class, source and demo to-do queue, believable timelines, once.

Seeding takes seconds, so one test seeds and checks several things."""

import io
from collections import Counter
from datetime import timedelta

from django.utils import timezone

from wangge.accounts.models import User
from wangge.cases import selectors
from wangge.cases.demo import KEY_PREFIX, _load_world, _plans, seed_demo_cases
from wangge.cases.models import Case, CaseEvent, Source, Status
from wangge.core import demo


def test_the_demo_cases_fill_every_queue_run_forward_and_are_made_once(db, fast_passwords) -> None:
    result = demo.seed_demo(stdout=io.StringIO())

    assert result.counts["cases"] == Case.objects.count() == 300
    cases = list(Case.objects.select_related("category__parent"))
    assert {c.status for c in cases} == set(Status.values)
    assert {c.source for c in cases} == set(Source.values)
    classes = Counter(c.category.parent.code for c in cases if c.category.parent)
    assert len(classes) >= 9
    assert len({c.grid_code for c in cases}) >= 120
    ages = [timezone.now() - c.created_at for c in cases]
    assert max(ages) > timedelta(days=50)
    assert min(ages) < timedelta(days=1)

    for username in ("demo_dispatcher", "demo_department_handler", "demo_grid_worker"):
        user = User.objects.get(username=username)
        queues = selectors.todo_queues(user=user)
        assert len(queues) >= 4, username
        empty = [q.key for q in queues if q.count == 0]
        assert empty == [], f"{username}: empty {empty}"
    for username in ("demo_grid_worker", "demo_building_head"):
        assert selectors.sla_overview(user=User.objects.get(username=username))["mine"] > 0

    check_timelines()

    assert seed_demo_cases() == 0
    demo.seed_demo(stdout=io.StringIO())
    assert Case.objects.count() == 300
    assert Case.objects.filter(idempotency_key__startswith=KEY_PREFIX).count() == 300


def check_timelines() -> None:
    """Each timeline starts with the report and runs forward to now."""
    now = timezone.now()
    events: dict[int, list[CaseEvent]] = {}
    for event in CaseEvent.objects.order_by("case_id", "created_at", "id"):
        events.setdefault(event.case_id, []).append(event)
    for case in Case.objects.all():
        timeline = events[case.pk]
        assert timeline[0].action == "report"
        assert timeline[0].created_at == case.created_at
        times = [e.created_at for e in timeline]
        assert times == sorted(times), case.pk
        assert times[-1] <= now
        if case.status == Status.CLOSED:
            assert case.closed_at is not None and case.closed_at >= case.created_at
    closed = Case.objects.filter(status=Status.CLOSED, signed_at__isnull=False)
    on_time = sum(1 for c in closed if c.signed_at <= c.response_due_at)
    assert on_time / closed.count() > 0.6  # a believable response rate, not 0 or 100 %
    assert (
        Case.objects.filter(rating="satisfied").count()
        > Case.objects.filter(rating="unsatisfied").count()
    )


def test_the_plan_is_the_same_for_the_same_seed(db, fast_passwords, monkeypatch) -> None:
    monkeypatch.setattr("wangge.cases.demo.seed_demo_cases", lambda **kwargs: 0)
    demo.seed_demo(stdout=io.StringIO())
    assert not Case.objects.exists()
    now = timezone.now()

    def plan(seed: int) -> list[tuple[str, str, str, str]]:
        world = _load_world(seed, now)
        return [(p.scenario, p.grid.code, p.category.code, p.source) for p in _plans(world, 300)]

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)
