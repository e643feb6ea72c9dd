"""The statements of case intake (`actions.create_case`): one read, one write, or on PostgreSQL,
when this process has seen everything it needs before, one guarded write.

`read_context` asks, in ONE statement, everything intake checks before it writes: the category
(by code) and its priority's policy, the grid and its community, the boundary version the grid
was located with, the working calendar's revision, and an earlier case with the same
idempotency key. The per-process caches (point → grid index, working calendar) are used only
when the version read in that same statement says they are current, so a change by an
administrator applies to the very next intake.

What that read returns is also kept in this process, with each row's version (PostgreSQL's
xmin and ctid: a new pair for every update, in any transaction). Asked for a `cached` context,
`read_context` builds it from what it kept, without a query, and attaches a `Guard`: everything
the context assumed. The write then checks the guard in its own statement, in the same
snapshot as it inserts, and writes nothing if any of it has changed: the row versions, the
boundary and calendar versions, the token still valid with the same superuser flag, no case
with the idempotency key. create_case then reads afresh and decides again. So a cached context
can make an intake cheaper, never different: what is stored is what a fresh read would have
decided.

`write_case` stores what create_case decided: on PostgreSQL as ONE data-modifying WITH (case,
timeline entries, photos, the dashboard's rollups and mark; atomic on its own, so no BEGIN/COMMIT
round trips), elsewhere through the ORM. Both write the same rows (tests/test_intake.py compares
them field by field on PostgreSQL). The SQL comes from the models' _meta (wangge.core.sql).
"""

# Every statement here is built from quoted identifiers from _meta and constant SQL: values are
# always parameters.
# ruff: noqa: S608

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from wangge.accounts.models import ApiToken, User
from wangge.cases.models import Case, CaseEvent, CasePhoto, Category, PriorityPolicy
from wangge.core.errors import Conflict
from wangge.core.sql import Columns, Insert, fresh_copy, prepared_cursor
from wangge.dashboard import actions as stats
from wangge.territory.geo import cached_grid_locator, grid_locator
from wangge.territory.models import OrgUnit, TerritoryState
from wangge.workcalendar.models import CalendarState
from wangge.workcalendar.selectors import cached_revision, working_calendar

# Boundaries that keep changing while an intake reads them: give up after this many rereads.
MAX_REREADS = 3

# Intake needs only the units' codes and names: boundaries can be large polygons.
UNIT_FIELDS = ("code", "name", "level", "parent")

_CATEGORY = Columns(Category, "cat")
_POLICY = Columns(PriorityPolicy, "pol")
_GRID = Columns(OrgUnit, "grid", UNIT_FIELDS)
_COMMUNITY = Columns(OrgUnit, "community", UNIT_FIELDS)


@dataclass(frozen=True)
class Guard:
    """What a context built from this process's caches assumed; `write_case` checks all of it
    in its statement and writes nothing if any of it has changed. A row version is the row's
    xmin and ctid as text (None: no such row)."""

    calendar_revision: str
    # (priority, its policy's row version)
    policy: tuple[str, str | None]
    # (category id, row version) when the category was given by its code
    category: tuple[int, str] | None = None
    # (boundary version, grid id, row version, community id, row version) when located
    units: tuple[int, int, str, int | None, str | None] | None = None
    # (token id, its user's superuser flag) when the token is not yet checked
    token: tuple[int, bool] | None = None
    idempotency_key: str | None = None


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
    # Set when built from this process's caches: what the write must check.
    guard: Guard | None = None


def _single(model: Any, column: str) -> str:
    """`column` of the one row of `model` (TerritoryState, CalendarState), as a subquery."""
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    return f"(SELECT {q(column)} FROM {table} WHERE {q(model._meta.pk.column)} = 1)"


def _valid_token() -> str:
    """FROM … WHERE of the API token whose id is the parameter, unrevoked, its user (`tu`)
    active: the token the caller took from its cache (wangge.apiauth.TokenAuth)."""
    q = connection.ops.quote_name
    return (
        f"FROM {q(ApiToken._meta.db_table)} {q('t')}"
        f" JOIN {q(User._meta.db_table)} {q('tu')} ON {q('tu')}.{q('id')} = {q('t')}.{q('user_id')}"
        f" WHERE {q('t')}.{q('id')} = %s AND {q('t')}.{q('revoked_at')} IS NULL"
        f" AND {q('tu')}.{q('is_active')}"
    )


def _read_sql(*, by_code: bool, with_grid: bool) -> str:
    q = connection.ops.quote_name
    case_table = q(Case._meta.db_table)
    parts = [
        _single(TerritoryState, "boundary_version"),
        _single(CalendarState, "revision"),
        f"(SELECT {q('id')} FROM {case_table} WHERE {q('idempotency_key')} = %s)",
        # The cached token still valid? (NULL if not; else its user's superuser flag as stored
        # now.)
        f"(SELECT {q('tu')}.{q('is_superuser')} {_valid_token()})",
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
    # The rows' versions, last: kept with the rows for a later guarded write (PostgreSQL).
    aliases = [*(["cat"] if by_code else []), "pol", *(["grid", "community"] if with_grid else [])]
    parts += [_row_version(alias) for alias in aliases]
    one = q("one")
    return f"SELECT {', '.join(parts)} FROM (SELECT 1 AS {one}) {one} " + " ".join(joins)


def _row_version(alias: str) -> str:
    """SQL for the version of the row under `alias`: a new value for each update of the row,
    even within one transaction (NULL if there is no row, and on databases without one)."""
    if connection.vendor != "postgresql":
        return "NULL"
    q = connection.ops.quote_name
    return f"({q(alias)}.xmin::text || {q(alias)}.ctid::text)"


# What fresh reads found, for cached contexts (PostgreSQL): the rows as loaded, with their
# versions. Never handed out: each use gets its own copy (fresh_copy). An entry is used for
# CACHE_SECONDS at most (a row version is a 32-bit transaction id and a place in the table: far
# too few transactions pass in that time for both to come round again), and dropped when a
# fresh read no longer finds its row.
CACHE_SIZE = 4096
CACHE_SECONDS = 300.0
# Each entry is (kept at, what was kept). category code → (the category, version)
_categories: dict[str, tuple[float, tuple[Category, str]]] = {}
# priority → (the policy, version; both None without a policy)
_policies: dict[str, tuple[float, tuple[PriorityPolicy | None, str | None]]] = {}
# grid id → (boundary version, grid, version, community (None: no parent), version)
_units: dict[int, tuple[float, tuple[int, OrgUnit, str, OrgUnit | None, str | None]]] = {}


def _copy[M: Model](obj: M | None) -> M | None:
    return fresh_copy(obj) if obj is not None else None


def _keep(cache: dict[Any, Any], key: Any, entry: Any) -> None:
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = (time.monotonic(), entry)


def _kept(cache: dict[Any, Any], key: Any) -> Any:
    """The entry kept under `key`, or None if there is none or it is too old."""
    found = cache.get(key)
    if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
        return None
    return found[1]


def forget_cached() -> None:
    """Drop what this process kept (tests: a fresh read replaces or drops single entries)."""
    _categories.clear()
    _policies.clear()
    _units.clear()


def _cached_context(
    *,
    category: Category | str,
    priority: str | None,
    lon: float | None,
    lat: float | None,
    locate: bool,
    idempotency_key: str | None,
    token: tuple[int, bool] | None,
) -> tuple[Context, int | None] | None:
    """The context from this process's caches, with its guard; None if something is missing
    (never seen, or the grid index or calendar not built)."""
    revision = cached_revision()
    if revision is None:
        return None
    category_guard = None
    found: Category
    if isinstance(category, str):
        kept = _kept(_categories, category)
        if kept is None:
            return None
        found = fresh_copy(kept[0])
        category_guard = (found.pk, kept[1])
    else:
        found = category
    wanted = priority or found.priority
    kept_policy = _kept(_policies, wanted)
    if kept_policy is None:
        return None
    grid = None
    grid_id = None
    units_guard = None
    if locate:
        cached = cached_grid_locator()
        if cached is None:
            return None
        version, locator = cached
        assert lon is not None and lat is not None
        grid_id = locator.locate(lon, lat)
        kept_units = _kept(_units, grid_id) if grid_id is not None else None
        if grid_id is None or kept_units is None or kept_units[0] != version:
            return None
        _version, kept_grid, grid_version, kept_community, community_version = kept_units
        grid = fresh_copy(kept_grid)
        community = _copy(kept_community)
        grid.parent = community
        community_id = community.pk if community is not None else None
        units_guard = (version, grid_id, grid_version, community_id, community_version)
    context = Context(
        existing_id=None,
        category=found,
        policy=_copy(kept_policy[0]),
        grid=grid,
        calendar_revision=revision,
        guard=Guard(
            calendar_revision=revision,
            policy=(wanted, kept_policy[1]),
            category=category_guard,
            units=units_guard,
            token=token,
            idempotency_key=idempotency_key,
        ),
    )
    return context, grid_id


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
    superuser: bool = False,
    cached: bool = False,
) -> tuple[Context, int | None]:
    """One statement (two when this process's point → grid index was out of date), or none
    when `cached` and this process has seen it all (PostgreSQL): then Context.guard is set.

    Returns the context and the located grid's id (None: outside every grid, or not asked).
    `token_id`: an API token not yet checked in this request (Context.token_valid says; in a
    cached context the guard checks it, with `superuser`, its user's flag as the caller has it).
    `category` is a code to read, or a Category the caller has; `locate`: find the grid of
    (lon, lat) (the caller has checked that both are valid numbers).
    """
    if cached and connection.vendor == "postgresql" and USE_ONE_STATEMENT:
        from_cache = _cached_context(
            category=category,
            priority=priority,
            lon=lon,
            lat=lat,
            locate=locate,
            idempotency_key=idempotency_key,
            token=(token_id, superuser) if token_id is not None else None,
        )
        if from_cache is not None:
            return from_cache
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
            kept = cached_grid_locator()
            if kept is None:
                grid_locator()
                kept = cached_grid_locator()
            assert kept is not None
            version, locator = kept
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
    versions = iter(row[len(row) - (by_code + 1 + 2 * locate) :])
    keep = connection.vendor == "postgresql"
    found: Category | None
    if by_code:
        found = _CATEGORY.load(row[i : i + len(_CATEGORY)])
        i += len(_CATEGORY)
        version = next(versions)
        if found is not None and keep:
            _keep(_categories, category, (fresh_copy(found), version))
        else:
            _categories.pop(str(category), None)
    else:
        found = category  # type: ignore[assignment]
    policy = _POLICY.load(row[i : i + len(_POLICY)])
    i += len(_POLICY)
    version = next(versions)
    if found is not None and keep:
        _keep(_policies, priority or found.priority, (_copy(policy), version))
    grid = None
    if locate and grid_id is not None:
        _units.pop(grid_id, None)  # kept again below if the row is still there
    if locate:
        grid = _GRID.load(row[i : i + len(_GRID)])
        i += len(_GRID)
        community = _COMMUNITY.load(row[i : i + len(_COMMUNITY)])
        grid_version, community_version = next(versions), next(versions)
        if grid is not None:
            # The parent is known (or there is none): no query when create_case looks at it.
            grid.parent = community
            if keep and grid_id == grid.pk:
                _keep(
                    _units,
                    grid_id,
                    (
                        stored_version,
                        fresh_copy(grid),
                        grid_version,
                        _copy(community),
                        community_version,
                    ),
                )
    revision = str(row[1] or "")
    if keep and cached_revision() not in (None, revision):
        # A calendar this process holds is out of date: cached contexts would carry its
        # revision and never pass their guard, even when their deadlines are in hours and so
        # never ask for the calendar again. Built now, once per change.
        working_calendar(revision=revision)
    context = Context(
        existing_id=row[2],
        category=found,
        policy=policy,
        grid=grid,
        calendar_revision=revision,
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


_guard_sql: dict[tuple[bool, ...], str] = {}


def _guard(guard: Guard) -> tuple[str, list[Any]]:
    """The condition that `guard` still holds, and its parameters (PostgreSQL)."""
    q = connection.ops.quote_name
    shape = (
        guard.category is not None,
        guard.units is not None,
        guard.token is not None,
        guard.idempotency_key is not None,
    )
    params: list[Any] = [guard.calendar_revision, *guard.policy]
    if guard.category is not None:
        params += guard.category
    if guard.units is not None:
        params += guard.units
    if guard.token is not None:
        params += guard.token
    if guard.idempotency_key is not None:
        params.append(guard.idempotency_key)
    sql = _guard_sql.get(shape)
    if sql is not None:
        return sql, params

    def version(model: Any, column: str, op: str = "=") -> str:
        table = q(model._meta.db_table)
        return f"(SELECT {_row_version('r')} FROM {table} {q('r')} WHERE {q('r')}.{q(column)} = %s) {op} %s"

    def single(model: Any, column: str, missing: str) -> str:
        # As the read takes it: a missing row is the default (`missing`).
        return f"COALESCE({_single(model, column)}, {missing}) = %s"

    parts = [
        single(CalendarState, "revision", "''"),
        version(PriorityPolicy, "priority", "IS NOT DISTINCT FROM"),
    ]
    if guard.category is not None:
        parts.append(version(Category, "id"))
    if guard.units is not None:
        parts += [
            single(TerritoryState, "boundary_version", "0"),
            version(OrgUnit, "id"),
            version(OrgUnit, "id", "IS NOT DISTINCT FROM"),
        ]
    if guard.token is not None:
        parts.append(f"EXISTS (SELECT 1 {_valid_token()} AND {q('tu')}.{q('is_superuser')} = %s)")
    if guard.idempotency_key is not None:
        parts.append(
            f"NOT EXISTS (SELECT 1 FROM {q(Case._meta.db_table)} WHERE {q('idempotency_key')} = %s)"
        )
    sql = _guard_sql[shape] = "WHERE " + " AND ".join(parts)
    return sql, params


_CASE_ID = ("case_id",)
_CASE_AND_EVENT_ID = ("case_id", "event_id")
# (guard condition, events, photos) → the statement
_write_sql: dict[tuple[str, int, int], str] = {}


def _write_statement(condition: str, events: int, photos: int) -> str:
    """write_case's statement for a case written if `condition` (SQL; "": always) holds,
    with `events` timeline entries and `photos` photos. Its parameters: the case's (then the
    condition's), each event's and photo's but their ids of the case and event, then the
    rollups' (dashboard.actions.new_case_params)."""
    q = connection.ops.quote_name
    # Every other part reads its row FROM the case's part: with no case, nothing is written.
    new_case = q("new_case")
    case_id = f"{new_case}.{q('id')}"
    parts = [("new_case", _CASE.sql(select=condition))]
    for n in range(events):
        sql = _EVENT.sql(exprs=_CASE_ID, select=f"FROM {new_case}")
        parts.append((f"event_{n}", sql.format(case_id=case_id)))
    event_0 = q("event_0")
    for n in range(photos):
        sql = _PHOTO.sql(exprs=_CASE_AND_EVENT_ID, select=f"FROM {new_case}, {event_0}")
        parts.append((f"photo_{n}", sql.format(case_id=case_id, event_id=f"{event_0}.{q('id')}")))
    returned = [name for name, _sql in parts]
    parts += [(f"stat_{n}", sql) for n, sql in enumerate(stats.new_case_sql(new_case))]
    return (
        "WITH "
        + ", ".join(f"{q(name)} AS ({sql})" for name, sql in parts)
        + " SELECT "
        + ", ".join(f"(SELECT {q('id')} FROM {q(name)})" for name in returned)
    )


def write_case(
    *,
    case: Case,
    events: Sequence[CaseEvent],
    photos: Sequence[CasePhoto],
    guard: Guard | None = None,
) -> bool:
    """Store the new `case` with its timeline `events` (the first one carries the `photos`,
    whose files are already stored) and count it in the dashboard's rollups. Sets the pks.

    With a `guard` (from a cached context; PostgreSQL only), writes only if it still holds,
    checked in the same statement: returns False, having written nothing, if it did not.

    Runs in the caller's transaction if there is one (inside a savepoint: an IntegrityError then
    leaves the caller's transaction usable), else as one atomic statement on PostgreSQL.
    """
    if connection.vendor != "postgresql" or not USE_ONE_STATEMENT:
        assert guard is None, "a guarded write is PostgreSQL's one statement"
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
        return True
    params = _CASE.params(case)
    condition = ""
    if guard is not None:
        condition, guard_params = _guard(guard)
        params += guard_params
    for event in events:
        params += _EVENT.params(event, skip=_CASE_ID)
    for photo in photos:
        params += _PHOTO.params(photo, skip=_CASE_AND_EVENT_ID)
    for stat_params in stats.new_case_params(case):
        params += stat_params
    shape = (condition, len(events), len(photos))
    statement = _write_sql.get(shape)
    if statement is None:
        statement = _write_sql[shape] = _write_statement(*shape)
    with prepared_cursor() as cursor:
        if connection.in_atomic_block:
            with transaction.atomic():
                cursor.execute(statement, params)
        else:
            cursor.execute(statement, params)
        ids = cursor.fetchone()
    if ids[0] is None:
        return False
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
    return True
