"""Ledger import throughput and memory: residents per second and peak RSS when importing
100,000 and 1,000,000 residents from .xlsx, on SQLite and on PostgreSQL, with the same
validation and AES-GCM field encryption as the pages.

    .venv/bin/python bench/registry_import.py --db sqlite --sizes 100000
    flock /work/helper-notes/bench.lock .venv/bin/python bench/registry_import.py   # all, ~1 h

For each database and size it builds a fresh database (SQLite file under a temporary directory,
or the PostgreSQL database `wangge_bench_registry`): migrated, a district of box grids with one
building per 100 residents and a district admin. It writes one workbook the way Excel and WPS
do (shared strings, a <dimension>): a 住户 sheet (one household per 2.5 residents) and a 居民
sheet (names, valid GB 11643 numbers, mobiles, 8% with a special-group tag). Then, each in its
own process so that its peak RSS (VmHWM) is its own:

- read: the baseline, opening the workbook and reading every row, nothing else (the import's
  own reader of the sheet XML, docs/decisions/0007);
- openpyxl: the same with openpyxl's read-only mode (`iter_rows(values_only=True)`), what that
  reader replaced, for comparison (not in the default phases);
- crypto: sealing one resident's ID and mobile (AES-GCM + HMACs), per resident;
- check: the dry run (validation, lookups, no writes);
- import: the all-or-nothing import (one transaction), then the counts are verified;
- reimport: the same file again (every row unchanged: lookups and comparisons, no writes).

With --search the search benchmark (bench/registry_search.py) runs on each imported database.
Results: docs/performance.md.
"""

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from memory import peak_rss_mb as rss_mb  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402

from wangge.core.validators import id_number_check_char  # noqa: E402

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_NAME = "wangge_bench_registry"
BOUNDS = (116.0, 39.8, 116.4, 40.0)
RESIDENTS_PER_BUILDING = 100
RESIDENTS_PER_HOUSEHOLD = 2.5
ADMIN_MOBILE = "13800000009"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰海燕文德金凤淑珍子轩梓涵浩然一诺雨桐"
TAGS = ("独居老人", "空巢老人", "低保", "退役军人", "重点关注", "残疾人")
WEIGHTS = (3, 3, 2, 2, 1, 1)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu_seconds() -> float:
    """CPU used so far by this process's PostgreSQL backend (0 on SQLite: it runs in-process)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the workbook, written as Excel writes it ------------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def write_xlsx(path: Path, sheets: list[tuple[str, list[str], Iterator[list[Any]], int]]) -> None:
    """Shared strings, a <dimension> per sheet, streamed: what Excel and WPS produce."""
    strings: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for n, (_title, header, rows, count) in enumerate(sheets, 1):
            cols = [get_column_letter(i + 1) for i in range(len(header))]
            with z.open(f"xl/worksheets/sheet{n}.xml", "w", force_zip64=True) as f:
                f.write(
                    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{NS}">'
                    f'<dimension ref="A1:{cols[-1]}{count + 1}"/><sheetData>'.encode()
                )
                buf: list[str] = []

                def emit(
                    r: int, values: list[Any], cols: list[str] = cols, buf: list[str] = buf
                ) -> None:
                    parts = [f'<row r="{r}">']
                    for c, v in zip(cols, values, strict=False):
                        if v is None or v == "":
                            continue
                        if isinstance(v, int | float):
                            parts.append(f'<c r="{c}{r}"><v>{v}</v></c>')
                            continue
                        i = strings.get(v)
                        if i is None:
                            i = strings[v] = len(strings)
                        parts.append(f'<c r="{c}{r}" t="s"><v>{i}</v></c>')
                    parts.append("</row>")
                    buf.append("".join(parts))

                emit(1, header)
                for r, values in enumerate(rows, 2):
                    emit(r, values)
                    if len(buf) >= 5000:
                        f.write("".join(buf).encode())
                        buf.clear()
                f.write("".join(buf).encode() + b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            f.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{NS}" '
                f'count="{len(strings)}" uniqueCount="{len(strings)}">'.encode()
            )
            chunk: list[str] = []
            for s in strings:
                chunk.append(f"<si><t>{escape(s)}</t></si>")
                if len(chunk) >= 10000:
                    f.write("".join(chunk).encode())
                    chunk.clear()
            f.write("".join(chunk).encode() + b"</sst>")
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{CT_SHEET}"/>'
            for i in range(1, len(sheets) + 1)
        )
        z.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{PKG}/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            f"{overrides}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        names = "".join(
            f'<sheet name="{escape(title)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, (title, *_rest) in enumerate(sheets, 1)
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{NS}" xmlns:r="{REL}">'
            f"<sheets>{names}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)
        )
        rels += f'<Relationship Id="rIdS" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}/relationships">{rels}</Relationships>',
        )


def make_workbook(path: Path, size: int, addresses: list[str]) -> dict[str, int]:
    rng = random.Random(size)
    households = int(size / RESIDENTS_PER_HOUSEHOLD)
    per_building = -(-households // len(addresses))
    plan: list[tuple[str, int, str]] = []
    for b, address in enumerate(addresses):
        for k in range(per_building):
            if len(plan) == households:
                break
            unit, index = divmod(k, 24)
            floor, door = divmod(index, 4)
            plan.append((address, unit + 1, f"{floor + 1}{door + 1:02d}"))
        if b * per_building >= households:
            break
    # Residents per household: 1–4, adding up to `size`.
    sizes = [1] * len(plan)
    for _ in range(size - len(plan)):
        sizes[rng.randrange(len(plan))] += 1
    used_ids: set[str] = set()
    used_mobiles: set[str] = set()
    day0 = date(1930, 1, 1)

    def household_rows() -> Iterator[list[Any]]:
        for address, unit, room in plan:
            yield [
                None,
                address,
                None,
                unit,
                room,
                rng.choice(("自有", "租住")),
                60 + rng.randrange(80),
                None,
            ]

    def resident_rows() -> Iterator[list[Any]]:
        for (address, unit, room), n in zip(plan, sizes, strict=True):
            for k in range(n):
                while True:
                    birth = day0 + timedelta(days=rng.randrange(32000))
                    male = rng.random() < 0.5
                    order = rng.randrange(500) * 2 + (1 if male else 0)
                    first17 = f"1101{rng.randrange(1, 20):02d}{birth:%Y%m%d}{order:03d}"
                    id_number = first17 + id_number_check_char(first17)
                    if id_number not in used_ids:
                        used_ids.add(id_number)
                        break
                while True:
                    mobile = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
                    if mobile not in used_mobiles:
                        used_mobiles.add(mobile)
                        break
                tag = rng.choices(TAGS, WEIGHTS)[0] if rng.random() < 0.08 else ""
                yield [
                    None,
                    address,
                    None,
                    unit,
                    room,
                    rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                    "男" if male else "女",
                    None,
                    id_number,
                    mobile if rng.random() < 0.9 else None,
                    "汉族",
                    rng.choice(("群众", "群众", "群众", "中共党员", "共青团员")),
                    rng.choice(("户籍", "户籍", "常住", "流动")),
                    "户主" if k == 0 else rng.choice(("配偶", "子女", "父母", "孙子女")),
                    tag,
                    "二级" if tag == "残疾人" else None,
                ]

    from wangge.registry.ledgers.sheets import HOUSEHOLDS, RESIDENTS

    write_xlsx(
        path,
        [
            (HOUSEHOLDS.title, [c.header for c in HOUSEHOLDS.columns], household_rows(), len(plan)),
            (RESIDENTS.title, [c.header for c in RESIDENTS.columns], resident_rows(), size),
        ],
    )
    return {"households": len(plan), "residents": size}


# --- children: each phase in its own process -------------------------------------------------


def _django() -> None:
    import django

    django.setup()


def child_setup(size: int) -> dict[str, Any]:
    _django()
    from django.core.management import call_command

    from wangge.accounts.models import Membership, Role, User
    from wangge.territory.models import Building, Level, OrgUnit
    from wangge.territory.tests.factories import make_tree

    call_command("migrate", verbosity=0)
    make_tree(bounds=BOUNDS, streets=6, communities=8, grids=8)
    grids = list(OrgUnit.objects.filter(level=Level.GRID).order_by("code"))
    count = max(1, size // RESIDENTS_PER_BUILDING)
    buildings = []
    for i in range(count):
        grid = grids[i % len(grids)]
        buildings.append(
            Building(
                name=f"{i // len(grids) + 1}号楼",
                address=f"{grid.name}测试路{i // len(grids) + 1}号楼",
                lon=116.2,
                lat=39.9,
                grid=grid,
                floors=6,
            )
        )
    Building.objects.bulk_create(buildings, batch_size=2000)
    admin = User.objects.create_user(
        username="bench-admin", password=None, display_name="区管理员", mobile=ADMIN_MOBILE
    )
    Membership.objects.create(user=admin, role=Role.ADMIN, unit=OrgUnit.objects.get(code="110101"))
    return {"addresses": list(Building.objects.order_by("pk").values_list("address", flat=True))}


def _write(path: str, size: int, addresses: str) -> dict[str, int]:
    _django()
    return make_workbook(Path(path), size, json.loads(Path(addresses).read_text()))


def child_read(path: str, reader: str = "ledger") -> dict[str, Any]:
    _django()
    from openpyxl import load_workbook

    from wangge.registry.ledgers import sheets

    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    rows = 0
    if reader == "openpyxl":
        workbook = load_workbook(path, read_only=True, data_only=True)
        loaded = time.perf_counter() - t0
        for worksheet in workbook.worksheets:
            for _row in worksheet.iter_rows(min_row=2, values_only=True):
                rows += 1
    else:
        workbook = sheets.open_workbook(path)
        loaded = time.perf_counter() - t0
        for layout in sheets.find_sheets(workbook):
            for _row in layout.rows():
                rows += 1
    workbook.close()
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_seconds() - cpu0,
        "load_seconds": loaded,
        "rows": rows,
        "rss_mb": rss_mb(),
    }


def child_crypto(n: int = 20000) -> dict[str, Any]:
    _django()
    from wangge.registry import protection

    values = [(f"11010519{n:010d}"[:17] + "X", f"139{n:08d}") for n in range(n)]
    t0 = time.perf_counter()
    for id_number, mobile in values:
        protection.seal(id_number, purpose=protection.ID_NUMBER)
        protection.seal(mobile, purpose=protection.MOBILE)
    per = (time.perf_counter() - t0) / n
    return {"us_per_resident": per * 1e6, "rss_mb": rss_mb()}


def child_ledger(path: str, phase: str) -> dict[str, Any]:
    _django()
    from wangge.accounts.models import User
    from wangge.registry.ledgers import importer
    from wangge.registry.models import Household, Resident, ResidentTag

    actor = User.objects.get(mobile=ADMIN_MOBILE)
    run = importer.check_ledger if phase == "check" else importer.import_ledger
    db0 = backend_cpu_seconds()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    result = run(actor=actor, source=path)
    seconds = time.perf_counter() - t0
    out: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu0,
        "db_cpu_seconds": backend_cpu_seconds() - db0,
        "rows": result.rows,
        "errors": result.error_count,
        "first_errors": [e.as_dict() for e in result.errors[:3]],
        "counts": {k: vars(c) for k, c in result.counts.items()},
        "written": result.written,
        "rss_mb": rss_mb(),
    }
    if phase != "check":
        out["db"] = {
            "households": Household.objects.count(),
            "residents": Resident.objects.count(),
            "tags": ResidentTag.objects.count(),
        }
    return out


def run_child(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"child {args} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the parent ------------------------------------------------------------------------------


def recreate_pg(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench(db: str, size: int, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    if db == "postgres":
        recreate_pg(PG_NAME)
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_NAME}"
    else:
        sqlite = workdir / f"registry-{size}.sqlite3"
        sqlite.unlink(missing_ok=True)
        url = f"sqlite:///{sqlite}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wangge.settings",
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-registry-import-not-secret",
        "WANGGE_VAR_DIR": str(workdir),
    }
    out: dict[str, Any] = {"db": db, "size": size, "load_before": os.getloadavg()}
    t0 = time.perf_counter()
    setup = run_child(env, "setup", str(size))
    out["setup_seconds"] = time.perf_counter() - t0
    book = workdir / f"residents-{size}.xlsx"
    if not book.exists():
        t0 = time.perf_counter()
        addresses = workdir / f"addresses-{size}.json"
        addresses.write_text(json.dumps(setup["addresses"], ensure_ascii=False))
        out["file_rows"] = run_child(env, "write", str(book), str(size), str(addresses))
        out["write_seconds"] = time.perf_counter() - t0
    out["file_mb"] = book.stat().st_size / 1e6
    for phase in args.phases:
        print(f"  {db} {size:,}: {phase} …", flush=True)
        if phase == "read":
            out[phase] = run_child(env, "read", str(book))
        elif phase == "openpyxl":
            out[phase] = run_child(env, "read", str(book), "openpyxl")
        elif phase == "crypto":
            out[phase] = run_child(env, "crypto")
        elif phase in ("check", "import", "reimport"):
            out[phase] = run_child(env, "ledger", str(book), phase)
        print(f"    {json.dumps(out[phase], ensure_ascii=False)[:400]}", flush=True)
    if args.search:
        proc = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "registry_search.py"), "--json"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
        else:
            out["search"] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"    search: {json.dumps(out['search'], ensure_ascii=False)[:600]}", flush=True)
    out["load_after"] = os.getloadavg()
    if db == "postgres" and not args.keep_db:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument(
        "--phases", default="read,crypto,check,import,reimport", help="comma-separated"
    )
    parser.add_argument("--search", action="store_true", help="run bench/registry_search.py too")
    parser.add_argument("--workdir", default="", help="keep files here (default: a temp dir)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.child:
        phase, *rest = args.child
        result = {
            "setup": lambda: child_setup(int(rest[0])),
            "read": lambda: child_read(*rest),
            "crypto": child_crypto,
            "write": lambda: _write(rest[0], int(rest[1]), rest[2]),
            "ledger": lambda: child_ledger(rest[0], rest[1]),
        }[phase]()
        print(json.dumps(result, ensure_ascii=False, default=str))
        return
    args.phases = [p for p in args.phases.split(",") if p]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="wangge-registry-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            for db in args.db.split(","):
                results.append(bench(db, size, workdir, args))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("| db | residents | phase | rows | rows/s | seconds | rows per CPU s | peak RSS MB |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        for phase in args.phases:
            p = r.get(phase)
            if not p:
                continue
            if phase == "crypto":
                print(
                    f"| {r['db']} | {r['size']:,} | crypto: {p['us_per_resident']:.1f} µs a resident "
                    f"| | | | | {p['rss_mb']:.0f} |"
                )
                continue
            cpu = p.get("cpu_seconds", 0) + p.get("db_cpu_seconds", 0)
            print(
                f"| {r['db']} | {r['size']:,} | {phase} | {p['rows']:,} | {p['rows'] / p['seconds']:,.0f} "
                f"| {p['seconds']:.1f} | {p['rows'] / cpu if cpu else 0:,.0f} | {p['rss_mb']:.0f} |"
            )
        load = f"{r['load_before'][0]:.2f} / {r['load_after'][0]:.2f}"
        print(f"| {r['db']} | {r['size']:,} | load average before / after: {load} | | | | | |")
    print(json.dumps(results, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
