"""The statements of case intake (`actions.create_case`): one read, one write.

`read_context` asks, in ONE statement, everything intake checks before it writes: the category
(by code) and its priority's policy, the grid and its community, the boundary version the grid
was located with, the working calendar's revision, and an earlier case with the same
idempotency key. The per-process caches (point → grid index, working calendar) are used only
when the version read in that same statement says they are current, so a change by an
administrator applies to the very next intake.

`write_case` stores what create_case decided: on PostgreSQL as ONE data-modifying WITH (case,
timeline entries, photos, the dashboard's rollups and mark; atomic on its own, so no BEGIN/COMMIT
round trips), elsewhere through the ORM. Both write the same rows (tests/test_intake.py compares
them field by field on PostgreSQL). The SQL comes from the models' _meta (wangge.core.sql).
"""

# Every statement here is built from quoted identifiers from _meta and constant SQL: values are
# always parameters.
# ruff: noqa: S608

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from wangge.accounts.models import ApiToken, User
from wangge.cases.models import Case, CaseEvent, CasePhoto, Category, PriorityPolicy
from wangge.core.errors import Conflict
from wangge.core.sql import Columns, Insert, prepared_cursor
from wangge.dashboard import actions as stats
from wangge.territory.geo import cached_grid_locator, grid_locator
from wangge.territory.models import OrgUnit, TerritoryState
from wangge.workcalendar.models import CalendarState

# Boundaries that keep changing while an intake reads them: give up after this many rereads.
MAX_REREADS = 3

# Intake needs only the units' codes and names: boundaries can be large polygons.
UNIT_FIELDS = ("code", "name", "level", "parent")

_CATEGORY = Columns(Category, "cat")
_POLICY = Columns(PriorityPolicy, "pol")
_GRID = Columns(OrgUnit, "grid", UNIT_FIELDS)
_COMMUNITY = Columns(OrgUnit, "community", UNIT_FIELDS)


@dataclass
class Context:
    """What create_case reads before deciding."""

    existing_id: int | None
    category: Category | None
    policy: PriorityPolicy | None
    grid: OrgUnit | None
    calendar_revision: str
    token_valid: bool = True
    # The token's user's superuser flag as stored now (the cached user may be older).
    token_superuser: bool | None = None


def _read_sql(*, by_code: bool, with_grid: bool) -> str:
    q = connection.ops.quote_name

    def single(model: Any, column: str) -> str:
        table = q(model._meta.db_table)
        return f"(SELECT {q(column)} FROM {table} WHERE {q(model._meta.pk.column)} = 1)"

    case_table = q(Case._meta.db_table)
    parts = [
        single(TerritoryState, "boundary_version"),
        single(CalendarState, "revision"),
        f"(SELECT {q('id')} FROM {case_table} WHERE {q('idempotency_key')} = %s)",
        # The API token the caller took from its cache (wangge.apiauth.TokenAuth): still valid?
        # (NULL if not; else its user's superuser flag as stored now.)
        f"(SELECT {q('tu')}.{q('is_superuser')} FROM {q(ApiToken._meta.db_table)} {q('t')}"
        f" JOIN {q(User._meta.db_table)} {q('tu')} ON {q('tu')}.{q('id')} = {q('t')}.{q('user_id')}"
        f" WHERE {q('t')}.{q('id')} = %s AND {q('t')}.{q('revoked_at')} IS NULL"
        f" AND {q('tu')}.{q('is_active')})",
    ]
    joins = []
    if by_code:
        parts.append(_CATEGORY.sql())
        joins.append(
            f"LEFT JOIN {q(Category._meta.db_table)} {q('cat')} ON {q('cat')}.{q('code')} = %s"
        )
        priority = f"COALESCE(%s, {q('cat')}.{q('priority')})"
    else:
        priority = "COALESCE(%s, %s)"
    parts.append(_POLICY.sql())
    joins.append(
        f"LEFT JOIN {q(PriorityPolicy._meta.db_table)} {q('pol')}"
        f" ON {q('pol')}.{q('priority')} = {priority}"
    )
    if with_grid:
        units = q(OrgUnit._meta.db_table)
        parts += [_GRID.sql(), _COMMUNITY.sql()]
        joins += [
            f"LEFT JOIN {units} {q('grid')} ON {q('grid')}.{q('id')} = %s",
            f"LEFT JOIN {units} {q('community')}"
            f" ON {q('community')}.{q('id')} = {q('grid')}.{q('parent_id')}",
        ]
    one = q("one")
    return f"SELECT {', '.join(parts)} FROM (SELECT 1 AS {one}) {one} " + " ".join(joins)


_read_cache: dict[tuple[str, bool, bool], str] = {}


def read_context(
    *,
    category: Category | str,
    priority: str | None,
    lon: float | None,
    lat: float | None,
    locate: bool,
    idempotency_key: str | None,
    token_id: int | None = None,
) -> tuple[Context, int | None]:
    """One statement (two when this process's point → grid index was out of date).

    Returns the context and the located grid's id (None: outside every grid, or not asked).
    `token_id`: an API token not yet checked in this request (Context.token_valid says).
    `category` is a code to read, or a Category the caller has; `locate`: find the grid of
    (lon, lat) (the caller has checked that both are valid numbers).
    """
    by_code = isinstance(category, str)
    key = (connection.vendor, by_code, locate)
    sql = _read_cache.get(key)
    if sql is None:
        sql = _read_cache[key] = _read_sql(by_code=by_code, with_grid=locate)
    for _attempt in range(MAX_REREADS + 1):
        version: int | None = None
        grid_id: int | None = None
        params: list[Any] = [idempotency_key, token_id]
        if by_code:
            params += [category, priority]
        else:
            assert isinstance(category, Category)
            params += [priority, category.priority]
        if locate:
            cached = cached_grid_locator()
            if cached is None:
                grid_locator()
                cached = cached_grid_locator()
            assert cached is not None
            version, locator = cached
            assert lon is not None and lat is not None
            grid_id = locator.locate(lon, lat)
            params.append(grid_id)
        with prepared_cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        stored_version = int(row[0] or 0)
        if locate and stored_version != version:
            # Boundaries changed since this process built its index: rebuild it for the version
            # just read and ask again (the grid row must come with the version it was found at).
            grid_locator(version=stored_version)
            continue
        break
    else:
        raise Conflict(
            _("辖区边界正在修改，请稍后重试 (boundaries are being edited; try again)"),
            field="location",
        )
    i = 4
    found: Category | None
    if by_code:
        found = _CATEGORY.load(row[i : i + len(_CATEGORY)])
        i += len(_CATEGORY)
    else:
        found = category  # type: ignore[assignment]
    policy = _POLICY.load(row[i : i + len(_POLICY)])
    i += len(_POLICY)
    grid = None
    if locate:
        grid = _GRID.load(row[i : i + len(_GRID)])
        i += len(_GRID)
        community = _COMMUNITY.load(row[i : i + len(_COMMUNITY)])
        if grid is not None:
            # The parent is known (or there is none): no query when create_case looks at it.
            grid.parent = community
    context = Context(
        existing_id=row[2],
        category=found,
        policy=policy,
        grid=grid,
        calendar_revision=str(row[1] or ""),
        token_valid=token_id is None or row[3] is not None,
        token_superuser=None if token_id is None or row[3] is None else bool(row[3]),
    )
    return context, grid_id


# --- the write ------------------------------------------------------------------------------

_CASE = Insert(Case)
_EVENT = Insert(CaseEvent)
_PHOTO = Insert(CasePhoto)

# Set to force the ORM path on PostgreSQL (the tests compare both paths).
USE_ONE_STATEMENT = True


def write_case(*, case: Case, events: Sequence[CaseEvent], photos: Sequence[CasePhoto]) -> None:
    """Store the new `case` with its timeline `events` (the first one carries the `photos`,
    whose files are already stored) and count it in the dashboard's rollups. Sets the pks.

    Runs in the caller's transaction if there is one (inside a savepoint: an IntegrityError then
    leaves the caller's transaction usable), else as one atomic statement on PostgreSQL.
    """
    if connection.vendor != "postgresql" or not USE_ONE_STATEMENT:
        with transaction.atomic():
            case.save(force_insert=True)
            for event in events:
                event.case = case
                event.save(force_insert=True)
            for photo in photos:
                photo.case = case
                photo.event = events[0]
                photo.save(force_insert=True)
            stats.record_case(case=case, is_new=True)
        return
    q = connection.ops.quote_name
    new_case = f"(SELECT {q('id')} FROM {q('new_case')})"
    parts: list[tuple[str, str, list[Any]]] = []
    sql, params = _CASE.statement(case)
    parts.append(("new_case", sql, params))
    for n, event in enumerate(events):
        sql, params = _EVENT.statement(event, exprs={"case_id": new_case})
        parts.append((f"event_{n}", sql, params))
    for n, photo in enumerate(photos):
        sql, params = _PHOTO.statement(
            photo,
            exprs={"case_id": new_case, "event_id": f"(SELECT {q('id')} FROM {q('event_0')})"},
        )
        parts.append((f"photo_{n}", sql, params))
    for n, (sql, params) in enumerate(stats.new_case_statements(case=case, case_id_sql=new_case)):
        parts.append((f"stat_{n}", sql, params))
    returned = [name for name, _sql, _params in parts if not name.startswith("stat_")]
    statement = (
        "WITH "
        + ", ".join(f"{q(name)} AS ({sql})" for name, sql, _params in parts)
        + " SELECT "
        + ", ".join(f"(SELECT {q('id')} FROM {q(name)})" for name in returned)
    )
    all_params = [p for _name, _sql, params in parts for p in params]
    with prepared_cursor() as cursor:
        if connection.in_atomic_block:
            with transaction.atomic():
                cursor.execute(statement, all_params)
        else:
            cursor.execute(statement, all_params)
        ids = cursor.fetchone()
    objects: list[Any] = [case, *events, *photos]
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    for event in events:
        event.case = case
    for photo in photos:
        photo.case = case
        photo.event = events[0]
