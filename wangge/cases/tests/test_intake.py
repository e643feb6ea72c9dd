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
from wangge.cases.models import Case, CaseEvent, CasePhoto, Category, Source
from wangge.cases.tests.helpers import GRID, report
from wangge.cases.tests.test_photos import image_bytes
from wangge.core.tests.fixtures import World
from wangge.territory import actions as territory_actions
from wangge.territory import geo
from wangge.territory.tests.factories import center_of
from wangge.workcalendar.actions import set_year_schedule

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
