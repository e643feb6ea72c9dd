"""`manage.py seed_cases` on PostgreSQL: cases/s of the whole command, next to baselines.

    flock /work/helper-notes/bench.lock .venv/bin/python bench/seed_cases.py
    .venv/bin/python bench/seed_cases.py --sizes 100000,1000000 --timeline both --old 100000

It builds a template database `<db>_tpl` (migrate + `seed_demo`: the demo district with its
300 cases; --reuse-template keeps the one of an earlier run), then for each size and timeline mode copies the template to
`<db>` and runs `manage.py seed_cases --count N --days D` as an operator would, timing the
whole process (Python start-up and Django set-up included) and printing the command's own
phases. In the same run, on the same machine state:

- the ceiling: the load's rows copied with a plain `INSERT … SELECT` into new tables without
  indexes, constraints or counters (what PostgreSQL needs just to write them);
- with --old N: the command as it is in git HEAD (the module `dashboard/history.py` of HEAD,
  run on a fresh copy of the template), for N cases.

The load average is printed before and after each run. Databases are dropped at the end unless
--keep-db. Results: docs/performance.md "seed_cases".
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DB = "wangge_bench_seed"

# HEAD's seed_cases, run from a file beside the current code (same reference data and counters).
OLD_RUNNER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("old_history", sys.argv[1])
old = importlib.util.module_from_spec(spec)
spec.loader.exec_module(old)
t = time.perf_counter()
r = old.seed_cases(count=int(sys.argv[2]), days=int(sys.argv[3]), timeline=sys.argv[4] == "1")
print(f"old path: {r.cases} cases in {r.seconds:.1f} s: {r.rate:,.0f} cases/s")
"""


def psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fresh(admin_url: str, db: str, template: str) -> None:
    psql(admin_url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    psql(admin_url, f'CREATE DATABASE "{db}" TEMPLATE "{template}"')


def manage(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args[:3])} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def ceiling(url: str, first_id: int) -> tuple[float, int, int]:
    """Seconds to copy the loaded cases and timeline entries with a plain INSERT … SELECT
    into new logged tables without indexes (rolled back), and the row counts."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE bench_cases (LIKE cases_case)")
        conn.execute("CREATE TABLE bench_events (LIKE cases_caseevent)")
        t = time.perf_counter()
        cases = conn.execute(
            "INSERT INTO bench_cases SELECT * FROM cases_case WHERE id >= %s", [first_id]
        ).rowcount
        events = conn.execute(
            "INSERT INTO bench_events SELECT * FROM cases_caseevent WHERE case_id >= %s",
            [first_id],
        ).rowcount
        conn.execute("COMMIT")  # what the load pays too (synchronous_commit as configured)
        seconds = time.perf_counter() - t
        conn.execute("DROP TABLE bench_cases, bench_events")
        conn.commit()
    return seconds, cases, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--timeline", choices=("no", "yes", "both"), default="both", help="timeline entries"
    )
    parser.add_argument("--old", type=int, default=0, help="also run HEAD's path for N cases")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db", default=DB)
    parser.add_argument(
        "--reuse-template",
        action="store_true",
        help="keep the template database of an earlier run (by default it is rebuilt: a "
        "migration may have changed)",
    )
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    base = args.admin_url.rsplit("/", 1)[0]
    template = f"{args.db}_tpl"
    url = f"{base}/{args.db}"
    import psycopg

    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        have = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
    if not (args.reuse_template and have):
        print(f"building {template} (migrate, seed_demo) …", flush=True)
        psql(args.admin_url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        psql(args.admin_url, f'CREATE DATABASE "{template}"')
        manage(f"{base}/{template}", "migrate", "-v0")
        manage(f"{base}/{template}", "seed_demo")
    with psycopg.connect(f"{base}/{template}") as conn:
        row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM cases_case").fetchone()
        first_id = int(row[0] if row else 0) + 1
    modes = {"no": [False], "yes": [True], "both": [False, True]}[args.timeline]
    print(
        f"cores {os.cpu_count()}, days {args.days}, template {template} (cases from id {first_id})"
    )
    try:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            for timeline in modes:
                fresh(args.admin_url, args.db, template)
                before = load()
                extra = [] if timeline else ["--no-timeline"]
                t = time.perf_counter()
                out = manage(
                    url, "seed_cases", "--count", str(size), "--days", str(args.days), *extra
                )
                wall = time.perf_counter() - t
                after = load()
                label = "with timeline" if timeline else "no timeline"
                print(f"\n{size:,} cases, {label} (load {before} → {after})")
                print("  command: " + out.strip().replace("\n", "\n  "))
                print(f"  process wall time {wall:.1f} s: {size / wall:,.0f} cases/s")
                seconds, cases, events = ceiling(url, first_id)
                print(
                    f"  ceiling (plain INSERT … SELECT of the same {cases:,} cases and "
                    f"{events:,} entries, no indexes): {seconds:.1f} s: "
                    f"{cases / seconds:,.0f} cases/s (load {load()})"
                )
                if args.old and size == args.old:
                    old = subprocess.run(
                        ["git", "show", "HEAD:wangge/dashboard/history.py"],
                        cwd=ROOT,
                        check=True,
                        capture_output=True,
                        text=True,
                    ).stdout
                    path = Path(tempfile.gettempdir()) / f"{args.db}_old_history.py"
                    path.write_text(old)
                    fresh(args.admin_url, args.db, template)
                    before = load()
                    code = OLD_RUNNER.replace("sys.argv[1]", repr(str(path)))
                    code = code.replace("sys.argv[2]", repr(str(size)))
                    code = code.replace("sys.argv[3]", repr(str(args.days)))
                    code = code.replace("sys.argv[4]", repr("1" if timeline else "0"))
                    t = time.perf_counter()
                    out = manage(url, "shell", "-c", code)
                    wall = time.perf_counter() - t
                    found = re.search(r"old path: .*", out)
                    print(
                        f"  HEAD's path: {found.group(0) if found else out.strip()}; process "
                        f"{wall:.1f} s: {size / wall:,.0f} cases/s (load {before} → {load()})"
                    )
    finally:
        if not args.keep_db:
            psql(args.admin_url, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    sys.stdout.flush()


if __name__ == "__main__":
    main()
