"""Case intake's statements (wangge.cases.intake): everything checked is read in one statement,
everything written is written in one on PostgreSQL, and both write what the ORM writes."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from wangge.cases import actions, intake
from wangge.cases.models import (
    Case,
    CaseEvent,
    CasePhoto,
    Category,
    LimitUnit,
    Priority,
    PriorityPolicy,
    Source,
)
from wangge.cases.tests.helpers import GRID, report
from wangge.cases.tests.test_photos import image_bytes
from wangge.core.tests.fixtures import World
from wangge.dashboard.counters import drift
from wangge.dashboard.models import CaseMark
from wangge.territory import actions as territory_actions
from wangge.territory import geo
from wangge.territory.models import Level, OrgUnit
from wangge.territory.tests.factories import center_of
from wangge.workcalendar.actions import set_year_schedule
from wangge.workcalendar.selectors import working_calendar

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="the one-statement write is PostgreSQL's"
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday with ordinary working days after it.
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


# --- both paths write the same rows ---------------------------------------------------------

WRITTEN = [Case, CaseEvent, CasePhoto, *apps.get_app_config("dashboard").get_models()]


def _rows(case_ids: set[int]) -> dict[str, list[dict[str, Any]]]:
    """Every row intake may write, without ids and file names (the photo files are compared by
    content): what differs between two otherwise equal intakes."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in WRITTEN:
        found = []
        for row in model.objects.order_by().values():
            row = dict(row)
            if "case_id" in row:
                if row["case_id"] not in case_ids:
                    continue
                row["case_id"] = "the case"
            for name in ("id", "event_id", "tracking_code"):
                row.pop(name, None)
            for name in ("image", "thumbnail"):
                if name in row:
                    with CasePhoto._meta.get_field(name).storage.open(row.pop(name)) as file:
                        row[f"{name} bytes"] = file.read()
            found.append(row)
        rows[model._meta.label] = sorted(found, key=repr)
    return rows


def _intake(world: World, case_kind: str) -> Case:
    kinds: dict[str, dict[str, Any]] = {
        "plain": {},
        "photos, resolved on the spot": {
            "actor": world.users["grid_worker"],
            "source": Source.GRID_PATROL,
            "photos": [image_bytes("JPEG"), image_bytes("PNG", (30, 20))],
            "resolve_on_spot": True,
            "result": "已现场清理",
        },
        "anonymous, urgent, keyed": {
            "actor": world.users["dispatcher"],
            "category": Category.objects.get(code="utilities"),
            "answers": {"utility": "水", "households": "12"},
            "is_anonymous": True,
            "idempotency_key": "hotline-0001",
            "source": Source.HOTLINE,
        },
    }
    return report(world, created_at=MONDAY, **kinds[case_kind])


@postgres_only
@pytest.mark.parametrize(
    "case_kind", ["plain", "photos, resolved on the spot", "anonymous, urgent, keyed"]
)
def test_the_one_statement_writes_the_rows_the_orm_writes(
    world: World, monkeypatch: pytest.MonkeyPatch, case_kind: str
) -> None:
    from django.utils import timezone

    # The same instant for both (updated_at and the photos' created_at are "now").
    monkeypatch.setattr(timezone, "now", lambda: MONDAY)
    with transaction.atomic():
        monkeypatch.setattr(intake, "USE_ONE_STATEMENT", False)
        by_orm = _intake(world, case_kind)
        orm_rows = _rows({by_orm.pk})
        transaction.set_rollback(True)
    monkeypatch.setattr(intake, "USE_ONE_STATEMENT", True)
    with CaptureQueriesContext(connection) as queries:
        by_statement = _intake(world, case_kind)
    assert any(sql.startswith("WITH ") for sql in _statements(queries))
    assert _rows({by_statement.pk}) == orm_rows
    assert orm_rows["cases.Case"] and orm_rows["cases.CaseEvent"]
    assert orm_rows["dashboard.CaseMark"]


def test_the_returned_case_carries_what_was_stored(world: World) -> None:
    """The answer is built from the objects in hand: they must be the stored rows."""
    case = _intake(world, "photos, resolved on the spot")
    stored = Case.objects.get(pk=case.pk)
    for field in Case._meta.concrete_fields:
        assert getattr(case, field.attname) == getattr(stored, field.attname), field.name
    assert [e.pk for e in case.events.all()] == list(
        CaseEvent.objects.filter(case=stored).order_by("id").values_list("pk", flat=True)
    )
    assert {p.pk for p in case.photos.all()} == set(
        CasePhoto.objects.filter(case=stored).values_list("pk", flat=True)
    )
    assert {p.event_id for p in case.photos.all()} == {case.events.all()[0].pk}


# --- statements -----------------------------------------------------------------------------


def _statements(queries: CaptureQueriesContext) -> list[str]:
    # Django logs a prepared statement as "QUERY = '…' - PARAMS = …".
    found = [q["sql"].removeprefix("QUERY = '") for q in queries.captured_queries]
    return [sql for sql in found if not sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_intake_reads_everything_it_checks_in_one_statement(world: World) -> None:
    report(world)  # this process's grid index and calendar are built
    intake.forget_cached()  # (else a warm intake reads nothing: tests below)
    lon, lat = center_of(world.unit(GRID))
    with CaptureQueriesContext(connection) as queries:
        actions.create_case(
            actor=world.users["dispatcher"],
            category="exposed_garbage",
            title="井盖缺失",
            lon=lon,
            lat=lat,
            source=Source.HOTLINE,
            idempotency_key="hotline-0002",
        )
    statements = _statements(queries)
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1, reads
    if ON_POSTGRES:
        assert len(statements) == 2 and statements[1].startswith("WITH "), statements


def test_a_stale_grid_index_is_rebuilt_before_a_grid_is_chosen(world: World) -> None:
    """Boundaries changed by another process: the version read with the grid row says so."""
    a, b = world.unit(GRID), world.unit("110101001001002")
    point = center_of(a)
    report(world)
    assert geo.cached_grid_locator() is not None
    # Swap the two grids' boundaries: the cached index still sends the point to `a`.
    boundary_a, boundary_b = a.boundary, b.boundary
    territory_actions.update_unit(unit=a, boundary=boundary_b)
    territory_actions.update_unit(unit=b, boundary=boundary_a)
    case = report(world, lon=point[0], lat=point[1])
    assert case.grid_code == b.code
    assert Case.objects.get(pk=case.pk).grid_id == b.pk


def test_a_category_change_applies_to_the_very_next_intake(world: World) -> None:
    first = report(world, category="exposed_garbage")
    Category.objects.filter(code="exposed_garbage").update(response_limit_hours=2)
    second = report(world, category="exposed_garbage")
    assert (first.response_limit_hours, second.response_limit_hours) != (2, 2)
    assert second.response_limit_hours == 2
    Category.objects.filter(code="exposed_garbage").update(is_active=False)
    with pytest.raises(actions.DomainError) as refused:
        report(world, category="exposed_garbage")
    assert refused.value.field == "category"


def test_an_unknown_category_code_is_refused_by_field(world: World) -> None:
    with pytest.raises(actions.DomainError) as refused:
        report(world, category="no_such_code")
    assert (refused.value.field, refused.value.code) == ("category", "unknown")
    assert not Case.objects.exists()


def test_a_calendar_edit_applies_to_the_very_next_deadline(world: World) -> None:
    before = report(world, created_at=MONDAY)
    set_year_schedule(
        year=2026,
        holidays=[(MONDAY.date() + timedelta(days=n), "测试假日") for n in range(1, 5)],
    )
    after = report(world, created_at=MONDAY)
    assert after.resolution_due_at - before.resolution_due_at >= timedelta(days=4)


def test_boundaries_that_keep_changing_during_an_intake_give_a_conflict_not_a_wrong_grid(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    report(world)
    # Every reread finds another version than the index was built from.
    monkeypatch.setattr(intake, "grid_locator", lambda **kwargs: None)
    monkeypatch.setattr(
        intake,
        "cached_grid_locator",
        lambda: (-1, geo.cached_grid_locator()[1]),  # type: ignore[index]
    )
    with pytest.raises(actions.Conflict) as refused:
        report(world)
    assert refused.value.field == "location"
    assert Case.objects.count() == 1


# --- a context from this process's caches, verified by the write ----------------------------


def _by_code(world: World, **kwargs: Any) -> Case:
    """An intake as the API makes it: the category by its code, the grid located."""
    lon, lat = center_of(world.unit(GRID))
    values: dict[str, Any] = {
        "actor": world.users["dispatcher"],
        "category": "exposed_garbage",
        "title": "井盖缺失",
        "lon": lon,
        "lat": lat,
        "source": Source.HOTLINE,
        "created_at": MONDAY,
    }
    values.update(kwargs)
    return actions.create_case(**values)


def _decided(case: Case) -> dict[str, Any]:
    """What intake decided for `case`, as stored: every column but its own identity."""
    stored = Case.objects.filter(pk=case.pk).values().get()
    for name in ("id", "tracking_code", "updated_at"):
        stored.pop(name)
    return stored


@postgres_only
def test_an_intake_this_process_has_seen_before_is_one_guarded_statement(world: World) -> None:
    _by_code(world)
    with CaptureQueriesContext(connection) as queries:
        case = _by_code(world, idempotency_key="hotline-0003")
    (statement,) = _statements(queries)
    assert statement.startswith("WITH ") and "xmin" in statement
    intake.forget_cached()
    assert _decided(case) == _decided(_by_code(world, idempotency_key="hotline-0004")) | {
        "idempotency_key": "hotline-0003"
    }


def _swap_boundaries(world: World) -> None:
    """The point intake reports at moves to the neighbouring grid."""
    a, b = world.unit(GRID), world.unit("110101001001002")
    boundary_a, boundary_b = a.boundary, b.boundary
    territory_actions.update_unit(unit=a, boundary=boundary_b)
    territory_actions.update_unit(unit=b, boundary=boundary_a)


def _other_community(world: World) -> None:
    grid = world.unit(GRID)
    other = OrgUnit.objects.filter(level=Level.COMMUNITY).exclude(pk=grid.parent_id).first()
    OrgUnit.objects.filter(pk=grid.pk).update(parent=other)


# Each a change another process could make between two intakes to a row or version a cached
# context relies on; all but those in SAME_DECISION change what intake decides.
SAME_DECISION = {"the community's name"}
CHANGES = {
    "the category's limits": lambda world: Category.objects.filter(code="exposed_garbage").update(
        response_limit_hours=2, resolution_limit=1
    ),
    "the priority's policy": lambda world: PriorityPolicy.objects.update_or_create(
        priority=Priority.URGENT, defaults={"response_limit_hours": 1}
    ),
    "the grid's community": _other_community,
    "the community's name": lambda world: OrgUnit.objects.filter(
        pk=world.unit(GRID).parent_id
    ).update(name="新社区"),
    "the boundaries": _swap_boundaries,
    "the working calendar": lambda world: set_year_schedule(
        year=2026,
        holidays=[(MONDAY.date() + timedelta(days=n), "测试假日") for n in range(1, 5)],
    ),
}


@postgres_only
@pytest.mark.parametrize("change", list(CHANGES))
def test_a_cached_context_out_of_date_writes_nothing_and_intake_decides_afresh(
    world: World, change: str
) -> None:
    # (A policy applies to cases more urgent than normal.)
    priority = Priority.URGENT if change == "the priority's policy" else None
    before = _by_code(world, priority=priority)  # this process keeps what it read
    CHANGES[change](world)
    counts = {model: model.objects.count() for model in WRITTEN}
    with CaptureQueriesContext(connection) as queries:
        after = _by_code(world, priority=priority)
    statements = _statements(queries)
    # The guarded write found its guard stale, then a read and a plain write.
    assert "xmin" in statements[0] and statements[-1].startswith("WITH ")
    assert "xmin" not in statements[-1]
    for model, count in counts.items():
        if model in (Case, CaseEvent, CaseMark):
            assert model.objects.count() == count + 1, model
    assert drift() == {}
    intake.forget_cached()
    fresh = _by_code(world, priority=priority)
    assert _decided(after) == _decided(fresh)
    if change not in SAME_DECISION:
        assert _decided(after) != _decided(before)


@postgres_only
def test_a_refusal_on_a_cached_context_is_checked_afresh(world: World) -> None:
    """A question made optional since this process kept the category: not refused for it."""
    garbage = Category.objects.get(code="exposed_garbage")
    Category.objects.filter(pk=garbage.pk).update(
        questions=[{"key": "bins", "label": "垃圾桶数", "type": "number", "required": True}]
    )
    with pytest.raises(actions.DomainError):
        _by_code(world)
    Category.objects.filter(pk=garbage.pk).update(
        questions=[{"key": "bins", "label": "垃圾桶数", "type": "number", "required": False}]
    )
    case = _by_code(world)
    assert case.answers == {}


@postgres_only
def test_the_cache_holds_only_what_was_read_and_a_miss_reads(world: World) -> None:
    intake.forget_cached()
    lon, lat = center_of(world.unit(GRID))

    def read() -> intake.Context:
        return intake.read_context(
            category="exposed_garbage",
            priority=None,
            lon=lon,
            lat=lat,
            locate=True,
            idempotency_key=None,
            cached=True,
        )[0]

    context = read()
    assert context.guard is None  # nothing kept yet: read
    again = read()
    assert again.guard is not None
    assert again.category is not None and context.category is not None
    assert again.category.pk == context.category.pk
    assert again.category is not context.category  # new instances for each use


@postgres_only
def test_what_one_intake_does_to_its_copies_never_reaches_the_next(world: World) -> None:
    """The kept rows are never handed out: a caller that changes its category, policy, grid
    or community (or the JSON inside them) changes only its own copies."""
    intake.forget_cached()
    lon, lat = center_of(world.unit(GRID))
    category = Category.objects.get(code="utilities")

    def read() -> intake.Context:
        return intake.read_context(
            category="utilities",
            priority=Priority.URGENT,
            lon=lon,
            lat=lat,
            locate=True,
            idempotency_key=None,
            cached=True,
        )[0]

    working_calendar()  # (built by an intake in working days; this one's are in hours)
    read()  # kept
    first = read()
    assert first.guard is not None
    assert first.category is not None and first.grid is not None and first.policy is not None
    first.category.name = "changed"
    first.category.questions.append({"key": "extra"})
    first.category.questions[0]["label"] = "changed"
    first.policy.response_limit_hours = 999
    first.grid.name = "changed"
    assert first.grid.parent is not None
    first.grid.parent.name = "changed"

    second = read()
    assert second.guard is not None
    assert second.category is not None and second.grid is not None and second.policy is not None
    assert second.category.name == category.name
    assert second.category.questions == category.questions
    assert second.policy.response_limit_hours != 999
    assert second.grid.name == world.unit(GRID).name
    assert second.grid.parent is not None
    assert second.grid.parent.name == world.unit(GRID).parent.name


def test_the_first_intake_of_a_process_builds_its_grid_index(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(geo, "_locators", geo.VersionedCache(geo.build_grid_locator))
    intake.forget_cached()
    assert geo.cached_grid_locator() is None
    case = _by_code(world)
    assert case.grid_code == GRID


BROKEN_JPEG = b"\xff\xd8\xffnot a photo"


@postgres_only
def test_a_replay_with_its_key_returns_the_case_even_with_a_broken_photo(world: World) -> None:
    first = _by_code(world, idempotency_key="hotline-0005", photos=[image_bytes("JPEG")])
    assert _by_code(world, idempotency_key="hotline-0005", photos=[BROKEN_JPEG]).pk == first.pk
    # Without photos a replay tries the kept copy first: its guard sends it to the read.
    assert _by_code(world, idempotency_key="hotline-0005").pk == first.pk
    assert Case.objects.filter(idempotency_key="hotline-0005").count() == 1


@postgres_only
def test_a_photo_refusal_on_a_kept_copy_gives_way_to_what_is_stored_now(world: World) -> None:
    _by_code(world)
    Category.objects.filter(code="exposed_garbage").update(is_active=False)
    with pytest.raises(actions.DomainError) as refused:
        _by_code(world, photos=[BROKEN_JPEG])
    assert refused.value.field == "category"
    Category.objects.filter(code="exposed_garbage").update(is_active=True)
    with pytest.raises(actions.DomainError) as refused:
        _by_code(world, photos=[BROKEN_JPEG])
    assert refused.value.field.startswith("photos")


def _statement_count(world: World, **kwargs: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        _by_code(world, **kwargs)
    return len(_statements(queries))


@postgres_only
def test_after_a_calendar_edit_intakes_in_hours_are_one_statement_again(world: World) -> None:
    """Deadlines in hours never ask for the calendar: the fresh read renews it, or every
    later guard would carry the old revision and fail."""
    Category.objects.filter(code="exposed_garbage").update(
        resolution_unit=LimitUnit.HOURS, resolution_limit=48
    )
    _by_code(world)
    assert _statement_count(world) == 1
    set_year_schedule(
        year=2026,
        holidays=[(MONDAY.date() + timedelta(days=n), "测试假日") for n in range(1, 5)],
    )
    _by_code(world)  # the guard fails once, the read renews what the worker holds
    assert _statement_count(world) == 1


@postgres_only
def test_a_category_code_no_longer_stored_is_forgotten(world: World) -> None:
    _by_code(world)
    Category.objects.filter(code="exposed_garbage").update(code="garbage_renamed")
    for _ in range(2):
        with pytest.raises(actions.DomainError) as refused:
            _by_code(world)
        assert (refused.value.field, refused.value.code) == ("category", "unknown")
    with CaptureQueriesContext(connection) as queries, pytest.raises(actions.DomainError):
        _by_code(world)
    (statement,) = _statements(queries)  # the read alone: no guarded write first
    assert statement.startswith("SELECT")


@postgres_only
def test_what_is_kept_is_used_only_for_a_while(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _by_code(world)
    assert _statement_count(world) == 1
    monkeypatch.setattr(intake, "CACHE_SECONDS", -1.0)
    assert _statement_count(world) == 2  # read, then write
