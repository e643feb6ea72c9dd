"""Dashboard and case-list latency at 100k, 1M and 10M cases on PostgreSQL.

    flock /work/helper-notes/bench.lock .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --sizes 100000,1000000 --keep-db --explain plans.txt

It creates the database `wangge_bench_dash` (or --db NAME; dropped at the end unless --keep-db;
--reuse-db continues with one kept before), migrates it, builds the demo district (`seed_demo`), then for
each size adds cases with `seed_cases` (received over the last --days days) and measures, as
the district dispatcher:

- the summary (`dashboard.selectors.summary`: counters, rates, due soon/overdue) for all time,
  the last 30 days and one street; the whole JSON the dashboard polls (`/dashboard/data.json`),
  next to the same panels read the way they were before the slices (see `data_before`);
- the same counters computed naively from the case table (COUNT … GROUP BY status);
- what the rollup upserts of one case change cost the database (--write-cost N);
- the filtered case list (`cases.selectors.case_page`, keyset pagination): the first page and a
  deep page (after 5,000 rows), and the total the list page shows above it.

p50/p95 over --repeat runs after a warm-up; EXPLAIN (ANALYZE, BUFFERS) of the queries with
--explain FILE. Results: docs/performance.md.
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB = "wangge_bench_dash"


def admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def timed(
    fn: Callable[[], Any], repeat: int, warmup: int = 2, budget_s: float = 30.0
) -> tuple[float, float, int]:
    """p50 and p95 in ms over `repeat` runs after `warmup`; stops early once the runs have
    taken `budget_s` (a slow query is then reported from the runs made: the count is shown)."""
    spent = 0.0
    for _ in range(warmup):
        t = time.perf_counter()
        fn()
        spent += time.perf_counter() - t
        if spent > budget_s:
            break
    samples: list[float] = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
        spent += samples[-1] / 1000
        if spent > budget_s and len(samples) >= 1:
            break
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--naive-repeat", type=int, default=5)
    parser.add_argument(
        "--replicate-above",
        type=int,
        default=1_000_000,
        help="sizes above this grow by copying the seeded cases (see `replicate`); 0: never",
    )
    parser.add_argument(
        "--export-rows",
        type=int,
        default=0,
        help="at the end, run bench/export.py on this many rows of the same database",
    )
    parser.add_argument("--db", default=DB, help=f"database name (default {DB})")
    parser.add_argument(
        "--dashboard-only",
        action="store_true",
        help="measure the dashboard only (not the naive count nor the case list)",
    )
    parser.add_argument(
        "--write-cost",
        type=int,
        default=0,
        help="time this many rollup writes of a new case and of a transition (rolled back)",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reuse-db", action="store_true", help="continue with a kept database")
    parser.add_argument("--explain", default="", help="write the query plans to this file")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    base = args.admin_url.rstrip("/")
    db = args.db
    if not (args.reuse_db and exists(f"{base}/postgres", db)):
        admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin(f"{base}/postgres", f'CREATE DATABASE "{db}"')
        fresh = True
    else:
        fresh = False
    os.environ["DATABASE_URL"] = f"{base}/{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-bench-only-secret-key")
    import django

    django.setup()
    from django.core.management import call_command

    try:
        if fresh:
            call_command("migrate", verbosity=0)
            t = time.perf_counter()
            call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
            print(f"demo district: {time.perf_counter() - t:.0f} s", flush=True)
        run(args)
        if args.export_rows:
            import subprocess

            subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "export.py"),
                    "--rows",
                    str(args.export_rows),
                    "--db-url",
                    os.environ["DATABASE_URL"],
                ],
                check=False,
            )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def run(args: argparse.Namespace) -> None:
    from django.db import OperationalError, connection
    from django.db.models import Count
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from wangge.accounts.models import User
    from wangge.cases import selectors as cases
    from wangge.cases.models import Case, Status
    from wangge.core.demo import LOGIN_BY_ROLE
    from wangge.core.sql import open_case_scan
    from wangge.dashboard import selectors, views
    from wangge.dashboard.history import seed_cases
    from wangge.dashboard.models import CaseRollup, CaseRollupMonth, CaseRollupSlice

    user = User.objects.get(username=LOGIN_BY_ROLE["dispatcher"].username)

    def timeout(value: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{value}'")

    street = "110101003"
    today = timezone.localdate()
    month_ago = today - timezone.timedelta(days=29)
    factory = RequestFactory()
    plans: list[str] = []

    def explain(title: str, fn: Callable[[], Any]) -> None:
        """EXPLAIN (ANALYZE, BUFFERS) every statement `fn` runs."""
        with CaptureQueriesContext(connection) as captured:
            fn()
        for i, query in enumerate(captured.captured_queries):
            if not query["sql"].lstrip("(").startswith("SELECT") or "set_config" in query["sql"]:
                continue  # BEGIN, savepoints, the planner settings of open_case_scan
            scan = open_case_scan() if "FILTER" in query["sql"] else contextlib.nullcontext()
            with scan, connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(r[0] for r in cursor.fetchall())
            plans.append(f"-- {title} [{i + 1}]\n{query['sql']}\n{plan}")

    def vacuum() -> None:
        with connection.cursor() as cursor:
            for table in (
                "cases_case",
                "dashboard_caserollup",
                "dashboard_caserollupmonth",
                "dashboard_caserollupslice",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")

    for size in [int(s) for s in args.sizes.split(",")]:
        timeout("0")
        have = Case.objects.count()
        if args.replicate_above and size > args.replicate_above and size > have:
            t = time.perf_counter()
            added = replicate(size - have)
            print(
                f"replicated {added:,} cases in {time.perf_counter() - t:.0f} s "
                f"(copies of the seeded history, see replicate())",
                flush=True,
            )
            vacuum()
            have = Case.objects.count()
        if size > have:
            # Timelines are left out: neither the counters nor the list read them (seed_cases
            # with timelines is measured on its own in docs/performance.md).
            result = seed_cases(count=size - have, days=args.days, seed=size, timeline=False)
            print(
                f"seeded {result.cases:,} cases in {result.seconds:.0f} s "
                f"({result.rate:,.0f}/s, counters {result.rollup_seconds:.0f} s)",
                flush=True,
            )
            vacuum()
        load = os.getloadavg()
        print(
            f"\n== {Case.objects.count():,} cases, {CaseRollup.objects.count():,} day rows, "
            f"{CaseRollupMonth.objects.count():,} month rows, "
            f"{CaseRollupSlice.objects.count():,} slices; load {load[0]:.1f} ==",
            flush=True,
        )

        timeout("30s")  # a pathological plan must not stall the whole run

        def naive() -> Any:
            return (
                Case.objects.filter(grid_code__startswith="110101")
                .values("status")
                .annotate(n=Count("pk"))
                .order_by()
            )

        def data_json(**query: str) -> Callable[[], Any]:
            path = "/dashboard/data.json"
            return lambda: views.data(_request(factory, user, path, query))

        def data_before(**query: str) -> Callable[[], Any]:
            return lambda: json.dumps(_data_before(user, **query), default=str)

        data_repeat = max(5, args.repeat // 3)
        month_view = {"date_from": month_ago.isoformat(), "date_to": today.isoformat()}
        dashboard: list[tuple[str, Callable[[], Any], int]] = [
            ("data.json, district, all time — before", data_before(), data_repeat),
            ("data.json, district, all time", data_json(), args.repeat),
            ("data.json, district, all time, trend by month", data_json(trend="month"), 30),
            ("data.json, one street — before", data_before(unit=street), data_repeat),
            ("data.json, one street", data_json(unit=street), args.repeat),
            ("data.json, district, last 30 days — before", data_before(**month_view), 5),
            ("data.json, district, last 30 days", data_json(**month_view), args.repeat),
        ]
        measures: list[tuple[str, Callable[[], Any], int]] = [
            ("summary, all time", lambda: selectors.summary(user=user), args.repeat),
            (
                "summary, last 30 days",
                lambda: selectors.summary(user=user, date_from=month_ago, date_to=today),
                args.repeat,
            ),
            (
                "summary, one street",
                lambda: selectors.summary(user=user, scope_code=street),
                args.repeat,
            ),
            (
                "map.json (open cases per grid)",
                lambda: views.map_data(_request(factory, user, "/dashboard/map.json")),
                args.repeat,
            ),
            *dashboard,
            ("naive COUNT … GROUP BY status", lambda: list(naive()), args.naive_repeat),
        ]
        filters = {
            "list, one street, in progress": cases.CaseFilters(
                unit=street, status=[Status.IN_PROGRESS]
            ),
            "list, whole district, last 30 days": cases.CaseFilters(
                date_from=month_ago, date_to=today
            ),
            "list, one street, a class": cases.CaseFilters(unit=street, category="environment"),
        }
        if args.dashboard_only:
            measures = measures[:4] + dashboard
            filters = {}
        for name, f in filters.items():
            try:
                deep = _cursor_after(cases, user, f, 5000)
            except OperationalError:
                deep = ""
            measures.append(
                (f"{name}: first page", lambda f=f: cases.case_page(user=user, filters=f), 30)
            )
            if deep:
                measures.append(
                    (
                        f"{name}: page after 5,000",
                        lambda f=f, deep=deep: cases.case_page(user=user, filters=f, cursor=deep),
                        30,
                    )
                )
            measures.append(
                (
                    f"{name}: total shown above the list",
                    lambda f=f: cases.case_total(user=user, filters=f),
                    30,
                )
            )
        for title, fn, repeat in measures:
            try:
                p50, p95, runs = timed(fn, repeat)
            except OperationalError as exc:  # statement_timeout
                print(f"{title:62s} timed out ({exc.__class__.__name__})", flush=True)
                continue
            print(f"{title:62s} p50 {p50:9.1f} ms   p95 {p95:9.1f} ms   ({runs} runs)", flush=True)
        if args.write_cost:
            write_cost(args.write_cost)
        print(f"load after: {os.getloadavg()[0]:.1f}", flush=True)
        if args.explain:
            plans.append(f"==== {Case.objects.count():,} cases ====")
            explain("summary, all time", lambda: selectors.summary(user=user))
            explain("data.json, district, all time", data_json())
            explain("data.json, one street", data_json(unit=street))
            explain(
                "summary, last 30 days",
                lambda: selectors.summary(user=user, date_from=month_ago, date_to=today),
            )
            for name, f in filters.items():
                try:
                    explain(
                        f"{name}: first page", lambda f=f: cases.case_page(user=user, filters=f)
                    )
                    deep = _cursor_after(cases, user, f, 5000)
                except OperationalError:
                    plans.append(f"-- {name}: timed out")
                    continue
                if deep:
                    explain(
                        f"{name}: page after 5,000",
                        lambda f=f, deep=deep: cases.case_page(user=user, filters=f, cursor=deep),
                    )
    if args.explain:
        Path(args.explain).write_text("\n\n".join(plans) + "\n")


def replicate(count: int) -> int:
    """Grow the table to 10 M cases in minutes instead of the better part of an hour: copy the
    cases already seeded, each copy a few seconds earlier than its original (all its instants
    moved together, so deadlines, states and the open backlog stay what they were, ten times
    denser: the pace of a city), with its own id and tracking code, then count the copies with
    the recount's SQL (`count_cases`). Indexes are rebuilt once at the end, as `seed_cases`
    does for large loads. Only `bench/` uses this: the rows are not independent histories."""
    from django.db import connection, transaction

    from wangge.cases.models import Case
    from wangge.dashboard.actions import count_cases
    from wangge.dashboard.history import _bulk_session, _drop_secondary_indexes

    base = int(Case.objects.order_by("-id").values_list("id", flat=True).first() or 0)
    have = Case.objects.count()
    copies = -(-count // have)
    times = {
        f.column for f in Case._meta.concrete_fields if f.get_internal_type() == "DateTimeField"
    }
    columns = [f.column for f in Case._meta.concrete_fields]
    added = 0
    with transaction.atomic():
        _bulk_session(trust_references=True)
        recreate = _drop_secondary_indexes()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            for k in range(1, copies + 1):
                limit = min(have, count - added)
                values = []
                for c in columns:
                    if c == "id":
                        values.append(f"id + {k * base}")
                    elif c == "tracking_code":
                        values.append(f"tracking_code || '{k}'")
                    elif c == "idempotency_key":  # unique too (the demo's own cases have one)
                        values.append(f"idempotency_key || '-copy{k}'")
                    elif c in times:
                        values.append(f"{c} - interval '{7 * k} seconds'")
                    else:
                        values.append(c)
                cursor.execute(
                    f"INSERT INTO cases_case ({', '.join(columns)}) "  # noqa: S608
                    f"SELECT {', '.join(values)} FROM cases_case WHERE id <= {base} "
                    f"ORDER BY id LIMIT {limit}"
                )
                added += limit
                print(f"  copy {k}: {added:,} cases", flush=True)
            for statement in recreate:
                cursor.execute(statement)
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
                "(SELECT MAX(id) FROM cases_case))"
            )
        count_cases(Case.objects.filter(pk__gt=base))
    return added


def _request(factory: Any, user: Any, path: str, query: dict[str, str] | None = None) -> Any:
    request = factory.get(path, query or {})
    request.user = user
    return request


def _data_before(user: Any, unit: str = "", **query: str) -> dict[str, Any]:
    """The panels of data.json read the way they were before CaseRollupSlice and the shared
    reads (docs/decisions/0004): each selector on its own (its own scan of the open cases and
    of the month grain), the breakdowns by category and by source and the trend from the
    day × grid rows. The baseline printed next to data.json in the same run."""
    from datetime import date
    from unittest import mock

    from django.utils import timezone

    from wangge.dashboard import selectors

    with mock.patch.object(selectors, "slices_serve", lambda *_a, **_k: False):
        now = timezone.now()
        dates = {k: date.fromisoformat(v) for k, v in query.items() if k.startswith("date_")}
        root = selectors.root_unit(user=user, scope_code=unit or None)
        period = selectors.Period(unit, None, dates.get("date_from"), dates.get("date_to"))
        length = selectors.child_length(root)
        head = selectors.summary(
            user=user,
            scope_code=unit or None,
            date_from=period.date_from,
            date_to=period.date_to,
            now=now,
        )
        units = selectors.by_unit(user=user, period=period, length=length, now=now)
        streets = (
            units if length == 9 else selectors.by_unit(user=user, period=period, length=9, now=now)
        )
        departments = selectors.by_department(user=user, period=period, now=now)
        return {
            **head,
            "by_unit": [r.as_dict() for r in units],
            "by_department": [r.as_dict() for r in departments],
            "by_category": [
                r.as_dict() for r in selectors.by_category(user=user, period=period, now=now)
            ],
            "by_source": [
                r.as_dict() for r in selectors.by_source(user=user, period=period, now=now)
            ],
            "trend": selectors.trend(user=user, period=period, unit="day", now=now),
            "rankings": {
                "departments": selectors.rankings(departments),
                "streets": selectors.rankings(streets),
            },
        }


def write_cost(n: int) -> None:
    """What the rollup upserts of one case change cost: for `n` existing day × grid keys,
    a new case (its upserts inside one data-modifying WITH, as case intake writes them) and a
    transition moving a case between two keys, without and with the slices. Each change is
    its own transaction (as in the application: a row updated many times in one transaction
    grows a chain of versions that would slow every later update); the opposite change is
    applied afterwards, untimed, so the counters end as they were."""
    import random

    from django.db import connection, transaction

    from wangge.core.sql import prepared_cursor
    from wangge.dashboard import actions as stats
    from wangge.dashboard.counters import BITS, KEY_FIELDS, counts_of
    from wangge.dashboard.models import CaseRollup

    keys = [tuple(r) for r in CaseRollup.objects.order_by("?").values_list(*KEY_FIELDS)[: 2 * n]]
    random.Random(5).shuffle(keys)
    pairs = list(zip(keys[:n], keys[n:], strict=False))
    opened = BITS["total"] | BITS["open"]
    closed = BITS["total"] | BITS["closed"] | BITS["responded"] | BITS["dispatched"]

    def only(statements: list[tuple[str, list[Any]]], slices: bool) -> list[Any]:
        return [(sql, p) for sql, p in statements if slices or "caserollupslice" not in sql]

    def new_case(a: Any, sign: int) -> dict[Any, dict[str, int]]:
        return {a: counts_of(opened, sign)}

    def move(a: Any, b: Any, sign: int) -> dict[Any, dict[str, int]]:
        return {a: counts_of(opened, -sign), b: counts_of(closed, sign)}

    # (title, statements of a change, its opposite, plain cursor?)
    variants: list[tuple[str, Callable[..., Any], Callable[..., Any], bool]] = [
        (
            "new case: day + month upserts in one WITH (before)",
            lambda a, b, s: [stats.one_statement(only(stats._statements(new_case(a, s)), False))],
            lambda a, b: only(stats._statements(new_case(a, -1)), False),
            False,
        ),
        (
            "new case: day + month + slices upserts in one WITH (now)",
            lambda a, b, s: [stats.one_statement(only(stats._statements(new_case(a, s)), True))],
            lambda a, b: only(stats._statements(new_case(a, -1)), True),
            False,
        ),
        (
            "transition: 4 upserts, one statement each (before)",
            lambda a, b, s: only(stats._statements(move(a, b, s)), False),
            lambda a, b: only(stats._statements(move(a, b, -1)), False),
            True,
        ),
        (
            "transition: 4 upserts + slices in one WITH (now)",
            lambda a, b, s: [stats.one_statement(only(stats._statements(move(a, b, s)), True))],
            lambda a, b: only(stats._statements(move(a, b, -1)), True),
            False,
        ),
    ]
    print(f"rollup writes, {n} changes each; load {os.getloadavg()[0]:.1f}", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")  # time the statements, not the fsync
    # Twice over: the first round warms the caches for all of them.
    for title, build, undo, plain in [*variants, *variants]:
        # As the code runs them: intake's WITH and the transitions' statements are prepared
        # (wangge.core.sql.prepared_cursor); before the slices a transition used a plain cursor.
        batches = [build(a, b, 1) for a, b in pairs]
        spent = 0.0
        for batch in batches:
            t = time.perf_counter()
            with transaction.atomic(), connection.cursor() if plain else prepared_cursor() as c:
                for sql, params in batch:
                    c.execute(sql, params)
            spent += time.perf_counter() - t
        with transaction.atomic(), connection.cursor() as c:
            for a, b in pairs:
                for sql, params in undo(a, b):
                    c.execute(sql, params)
        print(f"  {title:62s} {spent / len(pairs) * 1e6:8.0f} µs per change", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = on")
    from wangge.dashboard.counters import drift

    if n <= 1000 and CaseRollup.objects.count() < 200_000:
        print(f"  drift after the writes: {len(drift())} rows", flush=True)


def _cursor_after(cases: Any, user: Any, filters: Any, rows: int) -> str:
    qs = filters.apply(cases.case_list(user=user), user=user).order_by("-created_at", "-id")
    case = qs.only("pk", "created_at")[rows : rows + 1].first()
    return cases.encode_cursor(case) if case else ""


if __name__ == "__main__":
    main()
