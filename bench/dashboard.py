"""Dashboard and case-list latency at 100k, 1M and 10M cases on PostgreSQL.

    flock /work/helper-notes/bench.lock .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --sizes 100000,1000000 --keep-db --explain plans.txt

It creates the database `wangge_bench_dash` (dropped at the end unless --keep-db; --reuse-db
continues with one kept before), migrates it, builds the demo district (`seed_demo`), then for
each size adds cases with `seed_cases` (received over the last --days days) and measures, as
the district dispatcher:

- the summary (`dashboard.selectors.summary`: counters, rates, due soon/overdue) for all time,
  the last 30 days and one street; the whole JSON the dashboard polls (`/dashboard/data.json`);
- the same counters computed naively from the case table (COUNT … GROUP BY status);
- the filtered case list (`cases.selectors.case_page`, keyset pagination): the first page and a
  deep page (after 5,000 rows), and the total the list page shows above it.

p50/p95 over --repeat runs after a warm-up; EXPLAIN (ANALYZE, BUFFERS) of the queries with
--explain FILE. Results: docs/performance.md.
"""

import argparse
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
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reuse-db", action="store_true", help="continue with a kept database")
    parser.add_argument("--explain", default="", help="write the query plans to this file")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432"),
    )
    args = parser.parse_args()
    base = args.admin_url.rstrip("/")
    if not (args.reuse_db and exists(f"{base}/postgres", DB)):
        admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        admin(f"{base}/postgres", f'CREATE DATABASE "{DB}"')
        fresh = True
    else:
        fresh = False
    os.environ["DATABASE_URL"] = f"{base}/{DB}"
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
            admin(f"{base}/postgres", f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


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
    from wangge.dashboard import selectors, views
    from wangge.dashboard.history import seed_cases
    from wangge.dashboard.models import CaseRollup, CaseRollupMonth

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
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plan = "\n".join(r[0] for r in cursor.fetchall())
            plans.append(f"-- {title} [{i + 1}]\n{query['sql']}\n{plan}")

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
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE cases_case")
                cursor.execute("VACUUM ANALYZE dashboard_caserollup")
                cursor.execute("VACUUM ANALYZE dashboard_caserollupmonth")
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
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE cases_case")
                cursor.execute("VACUUM ANALYZE dashboard_caserollup")
                cursor.execute("VACUUM ANALYZE dashboard_caserollupmonth")
        load = os.getloadavg()
        print(
            f"\n== {Case.objects.count():,} cases, {CaseRollup.objects.count():,} day rows, "
            f"{CaseRollupMonth.objects.count():,} month rows; load {load[0]:.1f} ==",
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
            (
                "data.json (whole dashboard)",
                lambda: views.data(_request(factory, user, "/dashboard/data.json")),
                max(5, args.repeat // 3),
            ),
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
                    lambda f=f: f.apply(cases.case_list(user=user), user=user).count(),
                    args.naive_repeat,
                )
            )
        for title, fn, repeat in measures:
            try:
                p50, p95, runs = timed(fn, repeat)
            except OperationalError as exc:  # statement_timeout
                print(f"{title:62s} timed out ({exc.__class__.__name__})", flush=True)
                continue
            print(f"{title:62s} p50 {p50:9.1f} ms   p95 {p95:9.1f} ms   ({runs} runs)", flush=True)
        if args.explain:
            plans.append(f"==== {Case.objects.count():,} cases ====")
            explain("summary, all time", lambda: selectors.summary(user=user))
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


def _request(factory: Any, user: Any, path: str) -> Any:
    request = factory.get(path)
    request.user = user
    return request


def _cursor_after(cases: Any, user: Any, filters: Any, rows: int) -> str:
    qs = filters.apply(cases.case_list(user=user), user=user).order_by("-created_at", "-id")
    case = qs.only("pk", "created_at")[rows : rows + 1].first()
    return cases.encode_cursor(case) if case else ""


if __name__ == "__main__":
    main()
