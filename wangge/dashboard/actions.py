"""Writes of the dashboard's rollups.

`record_case` runs inside the transaction of every case change (wangge.cases.actions calls it),
after the case row is locked and saved: it moves the case's contribution from the rollup row it
was counted in to the one it belongs to now. `recount` rebuilds everything from the case table.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from wangge.cases.models import Case
from wangge.dashboard.counters import (
    KEY_FIELDS,
    Key,
    case_flags,
    case_key,
    counts_of,
    recount_rows,
)
from wangge.dashboard.models import COUNTERS, CaseMark, CaseRollup

BATCH = 2000


def _upsert_sql() -> str:
    table = connection.ops.quote_name(CaseRollup._meta.db_table)
    q = connection.ops.quote_name
    columns = [*KEY_FIELDS, *COUNTERS]
    placeholders = ", ".join(["%s"] * len(columns))
    updates = ", ".join(f"{q(c)} = {table}.{q(c)} + excluded.{q(c)}" for c in COUNTERS)
    # The same statement works on PostgreSQL and SQLite (≥ 3.24): a concurrent first insert of
    # the same key turns into an increment instead of a unique violation.
    # Only quoted model identifiers are interpolated; values are parameters.
    insert = f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) VALUES ({placeholders})"  # noqa: S608
    conflict = f"ON CONFLICT ({', '.join(q(c) for c in KEY_FIELDS)}) DO UPDATE SET {updates}"
    return f"{insert} {conflict}"


def _apply(deltas: dict[Key, dict[str, int]]) -> None:
    """Add `deltas` to the rollup rows; keys in sorted order so that two transactions lock rows
    in the same order and cannot deadlock each other."""
    rows = [
        (connection.ops.adapt_datefield_value(key[0]), *key[1:], *[d[c] for c in COUNTERS])
        for key, d in sorted(deltas.items())
        if any(d.values())
    ]
    if not rows:
        return
    with connection.cursor() as cursor:
        sql = _upsert_sql()
        for row in rows:
            cursor.execute(sql, row)


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


def _batched(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@transaction.atomic
def recount() -> tuple[int, int]:
    """Rebuild rollups (one GROUP BY over cases) and marks (each case's key and flags).

    Returns (rollup rows, cases). Locks the rollup table for the duration on PostgreSQL so that
    no transition increments a row while it is being rebuilt.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(CaseRollup._meta.db_table)
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    CaseRollup.objects.all().delete()
    CaseMark.objects.all().delete()
    rows = 0
    for batch in _batched(recount_rows().iterator(chunk_size=BATCH), BATCH):
        CaseRollup.objects.bulk_create(
            CaseRollup(
                day=r["day"],
                grid_code=r["grid_code"],
                category_id=r["category_id"],
                department_id=r["department_key"],
                source=r["source"],
                **{c: r[c] for c in COUNTERS},
            )
            for r in batch
        )
        rows += len(batch)
    cases = 0
    fields = [
        "pk",
        "created_at",
        "grid_code",
        "category_id",
        "lead_department_id",
        "source",
        "status",
        "outcome",
        "closed_at",
        "resolution_due_at",
        "signed_at",
        "response_due_at",
        "dispatched_at",
        "return_count",
        "reopen_count",
        "rating",
    ]
    for batch in _batched(Case.objects.only(*fields).order_by().iterator(chunk_size=BATCH), BATCH):
        CaseMark.objects.bulk_create(
            CaseMark(
                case_id=c.pk,
                flags=case_flags(c),
                **dict(zip(KEY_FIELDS, case_key(c), strict=True)),
            )
            for c in batch
        )
        cases += len(batch)
    return rows, cases
