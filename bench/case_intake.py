"""Case intake throughput of the real server: gunicorn on PostgreSQL, `POST /api/v1/cases` with
no photo and with one small JPEG, next to the same server's trivial endpoint (`/healthz`).

    .venv/bin/python bench/case_intake.py                  # about a minute
    .venv/bin/python bench/case_intake.py --workers 4 --clients 12 --seconds 10 --keep-db

It creates (and afterwards drops) the database `wangge_bench`, migrates it, builds a district of
a few hundred box grids and a hotline dispatcher with an API token, starts gunicorn on a free
loopback port, drives it with keep-alive HTTP clients in threads (loopback only, bounded in time
and count) and stops the server. Results: docs/performance.md.
"""

import argparse
import base64
import http.client
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
BOUNDS = (116.0, 39.8, 116.4, 40.0)
CATEGORIES = ["exposed_garbage", "dirty_road", "graffiti", "illegal_flyers", "fire_hazard"]
MAX_REQUESTS_PER_PHASE = 50_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# --- the database --------------------------------------------------------------------------


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(streets: int, communities: int, grids: int) -> tuple[str, int]:
    """Migrate, build the district and a dispatcher; returns (token, grid count)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from wangge.accounts.actions import issue_token
    from wangge.accounts.models import Membership, Role, User
    from wangge.territory.models import Level, OrgUnit
    from wangge.territory.tests.factories import make_tree

    call_command("migrate", verbosity=0)
    units = make_tree(bounds=BOUNDS, streets=streets, communities=communities, grids=grids)
    user = User.objects.create_user(
        username="bench", password=None, display_name="热线话务员", mobile="13800000001"
    )
    Membership.objects.create(user=user, role=Role.DISPATCHER, unit=units["110101"])
    _token, raw = issue_token(user=user, name="bench")
    count = OrgUnit.objects.filter(level=Level.GRID).count()
    connections.close_all()
    return raw, count


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(server: subprocess.Popen) -> tuple[float, float]:
    """CPU seconds used so far by the gunicorn workers and by the bench database's backends."""
    workers = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return (
        sum(_cpu_seconds(int(pid)) for pid in workers),
        sum(_cpu_seconds(int(pid)) for pid in backends),
    )


def count_cases() -> int:
    from wangge.cases.models import Case

    return Case.objects.count()


# --- the server ----------------------------------------------------------------------------


def start_server(
    env: dict[str, str], port: int, workers: int | None, threads: int
) -> subprocess.Popen:
    """gunicorn as production runs it: its settings from gunicorn.conf.py in the checkout (one
    worker per core), unless `workers` says otherwise."""
    cmd = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "wangge.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        *(["--workers", str(workers)] if workers else []),
        "--log-level",
        "warning",
        "--graceful-timeout",
        "5",
    ]
    if threads > 1:
        cmd += ["--worker-class", "gthread", "--threads", str(threads)]
    # Its own process group, so that stopping it stops its workers too.
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return
            last = f"{response.status} {body[:200]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer /healthz in time (last: {last})")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


# --- the load ------------------------------------------------------------------------------


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    sample_error: str = ""
    elapsed: float = 0.0
    worker_cpu: float = 0.0  # CPU seconds of the gunicorn workers
    db_cpu: float = 0.0  # CPU seconds of the PostgreSQL backends

    def cpu_ms(self, seconds: float | None = None) -> float:
        """Server CPU (workers + database) per answered request, in ms."""
        total = self.worker_cpu + self.db_cpu if seconds is None else seconds
        return total / self.ok * 1000 if self.ok else float("nan")

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


Request = Callable[[int], tuple[str, str, bytes | None, dict[str, str], int]]


def run_phase(
    port: int,
    clients: int,
    seconds: float,
    make: Request,
    *,
    into: Result | None = None,
    numbers: Iterator[int] | None = None,
) -> Result:
    """`clients` threads, each on its own keep-alive connection, for `seconds`; the latencies
    and time are added to `into`. Request numbers come from `numbers` (bounded)."""
    result = into or Result()
    lock = threading.Lock()
    counter = numbers if numbers is not None else iter(range(MAX_REQUESTS_PER_PHASE))
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        latencies: list[float] = []
        errors: dict[int, int] = {}
        sample = ""
        start_gate.wait()
        while time.monotonic() < stop_at[0]:
            with lock:
                n = next(counter, None)
            if n is None:
                break
            method, path, body, headers, expected = make(n)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, payload = 0, str(exc).encode()
            elapsed = time.perf_counter() - t0
            if status == expected:
                latencies.append(elapsed)
            else:
                errors[status] = errors.get(status, 0) + 1
                sample = sample or payload[:300].decode(errors="replace")
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            for status, n in errors.items():
                result.errors[status] = result.errors.get(status, 0) + n
            result.sample_error = result.sample_error or sample

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + seconds
    t0 = time.monotonic()
    start_gate.wait()
    for t in threads:
        t.join(seconds + 60)
    result.elapsed += time.monotonic() - t0
    return result


def small_jpeg() -> bytes:
    from PIL import Image

    rng = random.Random(7)
    image = Image.new("RGB", (320, 240))
    image.putdata([(rng.randrange(256), 120, 60) for _ in range(320 * 240)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn worker processes (default: gunicorn.conf.py's, one per core)",
    )
    parser.add_argument("--threads", type=int, default=1, help=">1: gthread workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client connections")
    parser.add_argument("--seconds", type=float, default=12.0, help="time per endpoint")
    parser.add_argument("--rounds", type=int, default=4, help="turns the time is cut into")
    parser.add_argument("--streets", type=int, default=6)
    parser.add_argument("--communities", type=int, default=8, help="per street")
    parser.add_argument("--grids", type=int, default=8, help="per community")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db", default="wangge_bench")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="wangge-bench-")
    Path(var_dir, "static").mkdir()
    db_url = args.pg.rsplit("/", 1)[0] + f"/{args.db}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wangge.settings",
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "WANGGE_HTTPS": "0",
        "ALLOWED_HOSTS": HOST,
        "SECRET_KEY": "bench-" + base64.b64encode(os.urandom(30)).decode(),
        "WANGGE_VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        # One token sends every request: keep the limit's cost (a counter per call), not its 429s.
        "WANGGE_API_RATE_PER_TOKEN": "1000000000",
    }
    os.environ.update(env)  # the setup below runs Django in this process on the same database

    t0 = time.monotonic()
    load_before = os.getloadavg()[0]
    recreate_database(args.pg, args.db)
    server: subprocess.Popen | None = None
    try:
        token, grid_count = prepare(args.streets, args.communities, args.grids)
        print(f"database {args.db}: {grid_count} grids, ready in {time.monotonic() - t0:.1f} s")
        port = free_port()
        server = start_server(env, port, args.workers, args.threads)
        wait_ready(port, server)
        worker_count = len(
            Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        )

        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        photo = base64.b64encode(small_jpeg()).decode()
        west, south, east, north = BOUNDS

        def healthz(n: int) -> tuple[str, str, bytes | None, dict[str, str], int]:
            return "GET", "/healthz", None, {}, 200

        def case(with_photo: bool) -> Request:
            def make(n: int) -> tuple[str, str, bytes | None, dict[str, str], int]:
                rng = random.Random(n * 2 + with_photo)
                body: dict[str, Any] = {
                    "category": CATEGORIES[n % len(CATEGORIES)],
                    "title": f"压测事件 {n}：路边垃圾堆积",
                    "description": "群众来电反映，小区门口垃圾三天无人清运，气味很大。",
                    "lon": rng.uniform(west + 1e-6, east - 1e-6),
                    "lat": rng.uniform(south + 1e-6, north - 1e-6),
                    "address": "某某路 12 号",
                    "source": "hotline",
                    "reporter_name": "王女士",
                    "reporter_phone": "13911112222",
                }
                if with_photo:
                    body["photos"] = [photo]
                return "POST", "/api/v1/cases", json.dumps(body).encode(), auth, 201

            return make

        phases: list[tuple[str, Request]] = [
            ("GET /healthz (trivial)", healthz),
            ("POST /api/v1/cases, no photo", case(False)),
            (
                f"POST /api/v1/cases, 1 JPEG (320×240, {len(photo) * 3 // 4 // 1024} KB)",
                case(True),
            ),
        ]
        # Warm every worker: imports, the grid locator, the working calendar, connections.
        for _name, make in phases:
            run_phase(port, args.clients, 1.5, make)
        before = count_cases()

        # Short phases in turns, so that every endpoint sees the same background load (other
        # processes on the machine) and the ratio to the trivial endpoint stays fair.
        totals = {name: Result() for name, _make in phases}
        numbers = iter(range(1_000_000, 1_000_000 + MAX_REQUESTS_PER_PHASE * len(phases)))
        for _round in range(args.rounds):
            for name, make in phases:
                workers_before, db_before = server_cpu(server)
                run_phase(
                    port,
                    args.clients,
                    args.seconds / args.rounds,
                    make,
                    into=totals[name],
                    numbers=numbers,
                )
                workers_after, db_after = server_cpu(server)
                totals[name].worker_cpu += workers_after - workers_before
                totals[name].db_cpu += db_after - db_before
        results = list(totals.items())
        for name, result in results:
            if result.errors:
                print(f"  {name}: errors {result.errors}: {result.sample_error}")

        trivial = results[0][1].rate()
        print()
        print(
            f"gunicorn {worker_count} worker(s)"
            + (f" × {args.threads} threads" if args.threads > 1 else "")
            + f", {args.clients} clients, {args.seconds:.0f} s per endpoint in {args.rounds} turns"
            + f", {os.cpu_count()} CPUs, load average before {load_before:.1f}"
        )
        print(
            f"{'endpoint':<46} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'vs trivial':>10}"
            f" {'server CPU ms/req':>18} {'(workers':>9} {'+ db)':>6}"
        )
        for name, result in results:
            print(
                f"{name:<46} {result.rate():>6.0f} {result.pct(50):>7.1f} {result.pct(95):>7.1f}"
                f" {result.rate() / trivial * 100 if trivial else 0:>9.0f}%"
                f" {result.cpu_ms():>18.2f} {result.cpu_ms(result.worker_cpu):>9.2f}"
                f" {result.cpu_ms(result.db_cpu):>6.2f}"
            )
        print(
            "(server CPU: gunicorn workers + PostgreSQL backends, per answered request; "
            f"{os.cpu_count()} cores of it would serve about "
            + ", ".join(f"{(os.cpu_count() or 1) * 1000 / r.cpu_ms():.0f}" for _n, r in results)
            + " req/s with nothing else running)"
        )
        cases = results[1][1].rate()
        created = sum(r.ok for _n, r in results[1:])
        stored = count_cases() - before
        print(f"\ncases stored: {stored} for {created} answers 201 (warm-up excluded)")
        assert stored == created, "every 201 must be exactly one stored case"
        print(
            f"target ≥ 300 cases/s: {'met' if cases >= 300 else 'MISSED'}; "
            f"target ≥ 30% of trivial: {'met' if trivial and cases / trivial >= 0.3 else 'MISSED'}"
        )
    finally:
        if server is not None:
            stop_server(server)
        if not args.keep_db:
            drop_database(args.pg, args.db)
        subprocess.run(["rm", "-rf", var_dir], check=False)


if __name__ == "__main__":
    main()
