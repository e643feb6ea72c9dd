"""Writes of the dashboard's rollups.

`record_case` runs inside the transaction of every case change (wangge.cases.actions calls it),
after the case row is locked and saved: it moves the case's contribution from the rollup row it
was counted in to the one it belongs to now. `recount` rebuilds everything from the case table,
`count_cases` adds bulk-loaded cases. `request_export` / `run_export` make the files behind the
export buttons (wangge.dashboard.exports).
"""

# The SQL here is built from quoted identifiers from _meta, constant SQL and SQL compiled by the
# ORM: values are always parameters.
# ruff: noqa: S608

import logging
import tempfile
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from wangge.cases.models import Case
from wangge.core.errors import DomainError, PermissionDenied
from wangge.core.sql import prepared_cursor
from wangge.dashboard.counters import (
    KEY_FIELDS,
    MONTH_KEY_FIELDS,
    SLICE_KEY_FIELDS,
    Key,
    case_flags,
    case_key,
    counts_of,
    mark_rows,
    month_key,
    recount_rows,
    slice_keys,
)
from wangge.dashboard.models import (
    COUNTERS,
    CaseMark,
    CaseRollup,
    CaseRollupMonth,
    CaseRollupSlice,
)

if TYPE_CHECKING:
    from wangge.dashboard.models import Export

logger = logging.getLogger(__name__)


def _upsert_tail(model: type[Any], key_fields: tuple[str, ...]) -> str:
    """ON CONFLICT on the rollup's key adding the new counters to the stored ones. The same
    works on PostgreSQL and SQLite (≥ 3.24): a concurrent first insert of the same key turns
    into an increment instead of a unique violation."""
    table = connection.ops.quote_name(model._meta.db_table)
    q = connection.ops.quote_name
    updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in COUNTERS)
    return f"ON CONFLICT ({', '.join(q(c) for c in key_fields)}) DO UPDATE SET {updates}"


def _upsert_head(model: type[Any], key_fields: tuple[str, ...]) -> str:
    """INSERT INTO the rollup table (its key fields, then the COUNTERS)."""
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in (*key_fields, *COUNTERS))
    return f"INSERT INTO {q(model._meta.db_table)} ({columns})"


@cache  # on every case change; a process talks to one database
def _upsert_sql(
    model: type[Any] = CaseRollup, key_fields: tuple[str, ...] = KEY_FIELDS, rows: int = 1
) -> str:
    """One INSERT … ON CONFLICT adding `rows` rows of values (key fields, then the COUNTERS)
    to a rollup table: a case change touches four to eight slices, written by one statement
    rather than one each."""
    row = "(" + ", ".join(["%s"] * (len(key_fields) + len(COUNTERS))) + ")"
    # Only quoted model identifiers are interpolated; values are parameters.
    values = ", ".join([row] * rows)
    return f"{_upsert_head(model, key_fields)} VALUES {values} {_upsert_tail(model, key_fields)}"


def _rows(deltas: dict[Any, dict[str, int]], date_at: int = 0) -> list[tuple[Any, ...]]:
    adapt = connection.ops.adapt_datefield_value
    return [
        (*key[:date_at], adapt(key[date_at]), *key[date_at + 1 :], *[d[c] for c in COUNTERS])
        for key, d in sorted(deltas.items())
        if any(d.values())
    ]


def _statements(deltas: dict[Key, dict[str, int]]) -> list[tuple[str, list[Any]]]:
    """The upserts that add `deltas` to the rollup rows of every grain (day × grid, then
    month × community, then the slices in one multi-row statement); keys in sorted order so
    that two transactions lock rows in the same order and cannot deadlock each other."""
    months: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    slices: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    for key, d in deltas.items():
        for coarse in (months[month_key(key)], *(slices[k] for k in slice_keys(key))):
            for c in COUNTERS:
                coarse[c] += d[c]
    rows = _rows(deltas)
    if not rows:
        return []
    sql = _upsert_sql()
    month_sql = _upsert_sql(CaseRollupMonth, MONTH_KEY_FIELDS)
    statements = [(sql, list(row)) for row in rows]
    statements += [(month_sql, list(row)) for row in _rows(months)]
    # A slice key appears once (the deltas are summed per key): one multi-row INSERT … ON
    # CONFLICT may not touch the same row twice.
    slice_rows = _rows(slices, date_at=1)
    if slice_rows:
        params = [value for row in slice_rows for value in row]
        statements.append((_upsert_sql(CaseRollupSlice, SLICE_KEY_FIELDS, len(slice_rows)), params))
    return statements


def _apply(deltas: dict[Key, dict[str, int]]) -> None:
    """Run the upserts of `deltas`: on PostgreSQL as one statement (data-modifying WITH, each
    upsert touching other rows), so that a transition costs one round trip however many
    rows it moves; elsewhere one statement after the other. PostgreSQL runs the parts of
    such a WITH in an order fixed by their place in it, as it does intake's, so every
    transaction still locks rollup rows in one global order (see `_statements`)."""
    statements = _statements(deltas)
    if not statements:
        return
    # Prepared on PostgreSQL: a transition's statement has one of a few shapes (how many rows
    # it moves), planned once per connection instead of on every change.
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) > 1:
            cursor.execute(*one_statement(statements))
            return
        for sql, params in statements:
            cursor.execute(sql, params)


def one_statement(statements: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """Data-modifying statements as the parts of one WITH (PostgreSQL), run in their order."""
    q = connection.ops.quote_name
    sql = "WITH " + ", ".join(f"{q(f'u{i}')} AS ({s})" for i, (s, _p) in enumerate(statements))
    return f"{sql} SELECT 1", [p for _s, params in statements for p in params]


@cache  # a process talks to one database
def _new_case_sql() -> tuple[str, str, str, str]:
    """The four statements of `new_case_statements` (PostgreSQL): the day × grid, month ×
    community and slice upserts of one new case and its mark, each given the case's flags as
    one parameter and turning them into the COUNTERS in SQL (bit i of the flags is COUNTERS[i])
    instead of sending 17 counts per row: intake's statement has about a hundred parameters
    fewer to send and this module fewer dicts to build. Each reads its row FROM {new_case}
    (the part of intake's WITH that inserted the case), so writes nothing when that inserted
    nothing."""
    q = connection.ops.quote_name
    bits = ", ".join(f"({q('x')}.{q('f')} >> {i}) & 1" for i in range(len(COUNTERS)))
    flags = f"(SELECT %s::integer AS {q('f')} FROM {{new_case}}) AS {q('x')}"

    def upsert(model: type[Any], key_fields: tuple[str, ...], keys: str) -> str:
        # Only quoted model identifiers are interpolated; values are parameters.
        head, tail = _upsert_head(model, key_fields), _upsert_tail(model, key_fields)
        return f"{head} SELECT {keys} {tail}"

    day = upsert(
        CaseRollup,
        KEY_FIELDS,
        f"%s::date, %s::text, %s::bigint, %s::bigint, %s::text, {bits} FROM {flags}",
    )
    month = upsert(
        CaseRollupMonth, MONTH_KEY_FIELDS, f"%s::date, %s::text, %s::bigint, {bits} FROM {flags}"
    )
    row = "(%s::text, %s::date, %s::text, %s::bigint, %s::text)"
    k = q("k")
    slices = upsert(
        CaseRollupSlice,
        SLICE_KEY_FIELDS,
        ", ".join(f"{k}.{q(c)}" for c in SLICE_KEY_FIELDS)
        + f", {bits} FROM (VALUES {', '.join([row] * 4)}) AS {k} "
        f"({', '.join(q(c) for c in SLICE_KEY_FIELDS)}) CROSS JOIN {flags}",
    )
    mark = (
        f"INSERT INTO {q(CaseMark._meta.db_table)} "
        f"(case_id, {', '.join(q(c) for c in KEY_FIELDS)}, flags) "
        f"SELECT {{new_case}}.{q('id')}, %s, %s, %s, %s, %s, %s FROM {{new_case}}"
    )
    return day, month, slices, mark


def new_case_statements(*, case: Case, new_case: str) -> list[tuple[str, list[Any]]]:
    """What `record_case(case=case, is_new=True)` writes, as statements for case intake's one
    data-modifying WITH on PostgreSQL (wangge.cases.intake): `new_case` is the quoted name of
    the part that inserted the case and returns its id (no row: nothing is written). A test
    compares the rows both write."""
    return list(zip(new_case_sql(new_case), new_case_params(case), strict=True))


@cache  # a process talks to one database
def new_case_sql(new_case: str) -> tuple[str, ...]:
    """The SQL of `new_case_statements`, the same for every case."""
    return tuple(sql.format(new_case=new_case) for sql in _new_case_sql())


def new_case_params(case: Case) -> list[list[Any]]:
    """The parameters of `new_case_statements`, in the same order."""
    key = case_key(case)
    flags = case_flags(case)
    # Sorted, as `_statements` sorts a transition's keys: every transaction locks slice rows
    # in one order, so intake and a transition in the same community cannot deadlock.
    slice_rows = sorted(slice_keys(key))
    if len(slice_rows) != 4:  # the statement has room for four (slice_keys' kinds)
        raise AssertionError("slice_keys changed: update _new_case_sql")
    return [
        [*key, flags],
        [*month_key(key), flags],
        [value for row in slice_rows for value in row] + [flags],
        [*key, flags],
    ]


def record_case(*, case: Case, is_new: bool = False) -> None:
    """Count `case` as it is now. Call inside the transaction that changed it, with its row
    locked (or just created, `is_new`: it has no mark yet, which spares a query on intake),
    after saving it."""
    key = case_key(case)
    flags = case_flags(case)
    mark = None if is_new else CaseMark.objects.filter(case_id=case.pk).first()
    if mark is not None:
        old_key: Key = (
            mark.day,
            mark.grid_code,
            mark.category_id,
            mark.department_id,
            mark.source,
        )
        if old_key == key and mark.flags == flags:
            return
    deltas: dict[Key, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    if mark is not None:
        for name, value in counts_of(mark.flags, -1).items():
            deltas[old_key][name] += value
    for name, value in counts_of(flags).items():
        deltas[key][name] += value
    _apply(deltas)
    values = dict(zip(KEY_FIELDS, key, strict=True))
    if mark is None:
        CaseMark.objects.create(case_id=case.pk, flags=flags, **values)
    else:
        CaseMark.objects.filter(case_id=case.pk).update(flags=flags, **values)


def record_transition(*, case: Case, **_context: Any) -> None:
    """The hook of wangge.cases.actions._transition (the context is for future use)."""
    record_case(case=case)


def _month_sql(column: str, unit: str = "month") -> str:
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('{unit}', {column}) AS date)"
    return f"date({column}, 'start of {unit}')"


# The key columns of rows to add to the rollups (`recount_rows`, count_loaded's tables), and the
# same read from a table of marks or day rollups, whose department column is department_id.
ROW_KEYS = "day, grid_code, category_id, department_key, source"
STORED_KEYS = "day, grid_code, category_id, department_id AS department_key, source"


def _rollup_inserts(rows_sql: str) -> tuple[str, str, str]:
    """The day × grid, month × community and slice upserts that add the rows of `rows_sql`
    (columns day, grid_code, category_id, department_key, source and the COUNTERS, one row
    per day × grid key) to the stored rollups."""
    q = connection.ops.quote_name
    counters = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    # Only quoted model identifiers and SQL compiled by the ORM are interpolated; values are
    # parameters. "WHERE true" keeps SQLite from reading ON CONFLICT as a join condition.
    day_insert = (
        f"{_upsert_head(CaseRollup, KEY_FIELDS)} "
        f"SELECT {ROW_KEYS}, {counters} FROM ({rows_sql}) AS t WHERE true "
        + _upsert_tail(CaseRollup, KEY_FIELDS)
    )
    month_insert = (
        f"{_upsert_head(CaseRollupMonth, MONTH_KEY_FIELDS)} "
        f"SELECT {_month_sql('day')}, substr(grid_code, 1, 12), department_key, "
        f"{sums} FROM ({rows_sql}) AS t WHERE true GROUP BY 1, 2, 3 "
        + _upsert_tail(CaseRollupMonth, MONTH_KEY_FIELDS)
    )
    community = "substr(grid_code, 1, 12)"
    month = _month_sql("day")
    slice_insert = (
        f"WITH t AS ({rows_sql}) "
        f"{_upsert_head(CaseRollupSlice, SLICE_KEY_FIELDS)} "
        f"SELECT * FROM ("
        f"SELECT 'category_year' AS kind, {_month_sql('day', 'year')} AS start, "
        f"{community} AS community_code, category_id, '' AS source, {sums} FROM t "
        f"GROUP BY 2, 3, 4 "
        f"UNION ALL SELECT 'category', {month}, {community}, category_id, '', {sums} "
        f"FROM t GROUP BY 2, 3, 4 "
        f"UNION ALL SELECT 'source', {month}, {community}, 0, source, {sums} "
        f"FROM t GROUP BY 2, 3, 5 "
        f"UNION ALL SELECT 'day', day, {community}, 0, '', {sums} FROM t GROUP BY 2, 3"
        f") AS s WHERE true " + _upsert_tail(CaseRollupSlice, SLICE_KEY_FIELDS)
    )
    return day_insert, month_insert, slice_insert


def _mark_insert(cases: QuerySet[Case]) -> tuple[str, list[Any]]:
    q = connection.ops.quote_name
    marks_sql, marks_params = mark_rows(cases).query.sql_with_params()
    return (
        f"INSERT INTO {q(CaseMark._meta.db_table)} "
        f"(case_id, {', '.join(q(c) for c in KEY_FIELDS)}, flags) "
        f"SELECT mark_case, day, grid_code, category_id, department_key, source, flags "
        f"FROM ({marks_sql}) AS t",
        list(marks_params),
    )


def count_cases(cases: QuerySet[Case]) -> tuple[int, int]:
    """Add `cases` (which must not be counted yet: no marks) to every rollup grain and write
    their marks, with four INSERT … SELECT statements computed by the database: the same
    GROUP BY and flag rules as the recount. Returns (day × grid rows touched, marks written).

    For the recount and bulk loads on SQLite; a single case goes through `record_case`, a bulk
    load on PostgreSQL through `count_loaded`.
    """
    rows_sql, rows_params = recount_rows(cases).query.sql_with_params()
    day_insert, month_insert, slice_insert = _rollup_inserts(rows_sql)
    mark_insert, mark_params = _mark_insert(cases)
    with connection.cursor() as cursor:
        cursor.execute(day_insert, rows_params)
        rows = cursor.rowcount
        cursor.execute(month_insert, rows_params)
        cursor.execute(slice_insert, rows_params)
        cursor.execute(mark_insert, mark_params)
        marks = cursor.rowcount
    return rows, marks


def count_loaded(first_id: int, end_id: int, *, rebuild_days: bool = False) -> tuple[int, int]:
    """`count_cases` for the cases with ids in [first_id, end_id) just bulk-loaded on
    PostgreSQL (`seed_cases`), in the caller's transaction: their marks first (the flag rules,
    once per case), then every rollup grain summed from those marks (bit by bit) instead of
    evaluating the rules again for each grain.

    `rebuild_days`: the day × grid table is rewritten whole (its stored rows plus the new
    sums, one plain INSERT of the grouped rows) instead of one INSERT … ON CONFLICT per key;
    for a load about as large as the table, whose caller has dropped that table's unique key
    and indexes and recreates them afterwards (it holds the table's lock meanwhile).
    Returns (day × grid rows written: on a rebuild every row of the table, marks written)."""
    q = connection.ops.quote_name
    counters = ", ".join(q(c) for c in COUNTERS)
    sums = ", ".join(f"SUM({q(c)})" for c in COUNTERS)
    day_table = q(CaseRollup._meta.db_table)
    # int, not SUM's bigint: the grains summed from this table then add int8s, not numerics
    # (a quarter faster measured at 1M cases).
    bits = ", ".join(f"SUM((flags >> {i}) & 1)::int AS {q(c)}" for i, c in enumerate(COUNTERS))
    mark_insert, mark_params = _mark_insert(Case.objects.filter(pk__gte=first_id, pk__lt=end_id))
    day_insert, month_insert, slice_insert = _rollup_inserts("SELECT * FROM seed_new")
    with connection.cursor() as cursor:
        cursor.execute(mark_insert, mark_params)
        marks = cursor.rowcount
        cursor.execute(
            "CREATE TEMPORARY TABLE seed_new ON COMMIT DROP AS "
            f"SELECT {STORED_KEYS}, "
            f"{bits} FROM {q(CaseMark._meta.db_table)} "
            "WHERE case_id >= %s AND case_id < %s GROUP BY 1, 2, 3, 4, 5",
            [first_id, end_id],
        )
        cursor.execute(month_insert)
        cursor.execute(slice_insert)
        if rebuild_days:
            cursor.execute(
                "CREATE TEMPORARY TABLE seed_stored ON COMMIT DROP AS "
                f"SELECT {STORED_KEYS}, "
                f"{counters} FROM {day_table}"
            )
            cursor.execute(f"TRUNCATE {day_table}")
            cursor.execute(
                f"{_upsert_head(CaseRollup, KEY_FIELDS)} SELECT {ROW_KEYS}, {sums} "
                "FROM (SELECT * FROM seed_new UNION ALL SELECT * FROM seed_stored) AS t "
                "GROUP BY 1, 2, 3, 4, 5"
            )
        else:
            cursor.execute(day_insert)
        rows = cursor.rowcount
        cursor.execute("DROP TABLE seed_new")
        if rebuild_days:
            cursor.execute("DROP TABLE seed_stored")
    return rows, marks


@transaction.atomic
def recount() -> tuple[int, int]:
    """Rebuild rollups (every grain, one GROUP BY over cases) and marks (each case's key and
    flags), all computed by the database.

    Returns (day × grid rollup rows, cases). Locks the rollup tables for the duration on
    PostgreSQL so that no transition increments a row while they are being rebuilt.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (CaseRollup, CaseRollupMonth, CaseRollupSlice, CaseMark):
                table = connection.ops.quote_name(model._meta.db_table)
                cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    CaseRollup.objects.all().delete()
    CaseRollupMonth.objects.all().delete()
    CaseRollupSlice.objects.all().delete()
    CaseMark.objects.all().delete()
    return count_cases(Case.objects.all())


# --- exports ----------------------------------------------------------------------------------


def request_export(*, actor: Any, kind: str, params: dict[str, Any]) -> "Export":
    """Check the export's conditions now (a bad filter names its field), store the request and
    enqueue its generation once the request is committed."""
    from wangge.cases.selectors import CaseFilters
    from wangge.dashboard import selectors
    from wangge.dashboard.exports import Month
    from wangge.dashboard.models import Export, ExportKind
    from wangge.dashboard.tasks import run_export_task

    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_("请先登录 (log in first)"))
    if kind == ExportKind.CASES_XLSX:
        CaseFilters.from_params(params)
        clean = {k: v for k, v in params.items() if v not in ("", None) and k != "cursor"}
    elif kind == ExportKind.MONTHLY_PDF:
        if not selectors.may_view(actor):
            raise PermissionDenied(_("您无权生成月报 (no dashboard access)"))
        month = Month.parse(str(params.get("month", "")))
        unit = str(params.get("unit", "") or "")
        if unit:
            if not unit.isdigit():
                raise DomainError(_("辖区编码须为数字 (unit must be a code)"), field="unit")
            try:
                selectors.root_unit(user=actor, scope_code=unit)
            except Http404:
                raise DomainError(
                    _("辖区不存在或不在您的范围内 (unknown unit, or outside your area)"),
                    field="unit",
                ) from None
        clean = {"month": f"{month.first:%Y-%m}", "unit": unit}
    else:
        raise DomainError(_("导出类型无效 (unknown export kind)"), field="kind")
    with transaction.atomic():
        export = Export.objects.create(kind=kind, requested_by=actor, params=clean)
        export_id = export.pk
        language = translation.get_language()
        transaction.on_commit(
            lambda: run_export_task.enqueue(export_id, language=language), robust=True
        )
    return export


def _progress(export_id: int, **values: Any) -> None:
    from wangge.dashboard.models import Export

    # Outside any transaction of the generation: the page polling sees it at once.
    Export.objects.filter(pk=export_id).update(**values)


def run_export(*, export_id: int) -> str:
    """Generate the file of a pending export (a retry of a finished one does nothing)."""
    from wangge.dashboard import exports
    from wangge.dashboard.models import Export, ExportKind, ExportStatus

    claimed = Export.objects.filter(pk=export_id, status=ExportStatus.PENDING).update(
        status=ExportStatus.RUNNING
    )
    if not claimed:
        return "skipped"
    export = Export.objects.select_related("requested_by").get(pk=export_id)
    user = export.requested_by
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "export"
            if export.kind == ExportKind.CASES_XLSX:
                qs = exports.ledger_queryset(user=user, params=export.params)
                _progress(export_id, rows_total=qs.count())
                rows = exports.write_ledger(
                    qs=qs, path=path, progress=lambda n: _progress(export_id, rows_done=n)
                )
                filename = f"cases-{stamp}.xlsx"
            else:
                month = exports.Month.parse(export.params["month"])
                _progress(export_id, rows_total=1)
                context = exports.report_context(
                    user=user, month=month, scope_code=export.params.get("unit") or None
                )
                path.write_bytes(exports.render_report(context))
                rows = 1
                filename = f"report-{month.first:%Y-%m}-{stamp}.pdf"
            with path.open("rb") as handle:
                export.file.save(filename, File(handle), save=False)
        Export.objects.filter(pk=export_id).update(
            file=export.file.name,
            filename=filename,
            rows_done=rows,
            status=ExportStatus.DONE,
            finished_at=timezone.now(),
        )
        return "done"
    except Exception as exc:
        logger.exception("export %s failed", export_id)
        Export.objects.filter(pk=export_id).update(
            status=ExportStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return "failed"
