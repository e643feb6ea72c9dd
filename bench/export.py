"""Case ledger export (Excel) of many rows: time and peak memory of the process.

    flock /work/helper-notes/bench.lock .venv/bin/python bench/export.py --rows 1000000

It needs a database with at least --rows cases, e.g. the one `bench/dashboard.py --keep-db`
leaves (`wangge_bench_dash`, the default), and exports, as the district dispatcher, the newest
cases received since the day that gives about --rows of them, through the same code as the
export button (`dashboard.exports.write_ledger`), into a temporary file. It prints rows/s, the
file size and the peak resident memory of the process (ru_maxrss) before and after.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from memory import peak_rss_mb as peak_mb  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--db-url",
        default=os.environ.get(
            "BENCH_DB_URL", "postgres://postgres@127.0.0.1:5432/wangge_bench_dash"
        ),
    )
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.db_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-bench-only-secret-key")
    import django

    django.setup()
    from django.utils import timezone

    from wangge.accounts.models import User
    from wangge.cases.models import Case
    from wangge.core.demo import LOGIN_BY_ROLE
    from wangge.dashboard import exports

    user = User.objects.get(username=LOGIN_BY_ROLE["dispatcher"].username)
    newest = Case.objects.order_by("-created_at", "-id").values_list("created_at", flat=True)
    since = newest[args.rows - 1 : args.rows].first()
    if since is None:
        raise SystemExit(f"the database has fewer than {args.rows:,} cases")
    params = {"date_from": timezone.localtime(since).date().isoformat()}
    qs = exports.ledger_queryset(user=user, params=params)
    before = peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.xlsx"
        t = time.perf_counter()
        last = [0.0]

        def progress(done: int) -> None:
            if time.perf_counter() - last[0] > 15:
                last[0] = time.perf_counter()
                print(f"  {done:,} rows, peak {peak_mb():.0f} MB", flush=True)

        rows = exports.write_ledger(qs=qs, path=path, progress=progress)
        seconds = time.perf_counter() - t
        size = path.stat().st_size
    load = os.getloadavg()[0]
    print(
        f"exported {rows:,} rows in {seconds:.0f} s ({rows / seconds:,.0f} rows/s), "
        f"{size / 1e6:.0f} MB; peak RSS {before:.0f} MB before, {peak_mb():.0f} MB after; "
        f"load {load:.1f}"
    )


if __name__ == "__main__":
    main()
