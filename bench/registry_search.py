"""Resident search latency on an imported registry (bench/registry_import.py builds one): p50 and
p95 of `selectors.resident_search` over a spread of queries, as a district admin (every
resident in scope) and as community staff (one community of 48).

    DATABASE_URL=sqlite:///…/registry-1000000.sqlite3 .venv/bin/python bench/registry_search.py
    .venv/bin/python bench/registry_import.py --sizes 1000000 --search   # import, then this

Queries, each kind drawn from the data: a surname (one character, the commonest case), a full
name, the last four characters of an ID number, the last four digits of a mobile, a full mobile
and a full ID number (exact, through the keyed digest), an address fragment, a special-group
tag alone, and a tag with a surname. Times include fetching the 100 rows shown and their tags.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN_MOBILE = "13800000009"
STAFF_MOBILE = "13800000010"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=40, help="queries of each kind and user")
    parser.add_argument("--json", action="store_true", help="last line: the results as JSON")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    import django

    django.setup()
    from django.db import connection

    from wangge.accounts.models import Membership, Role, User
    from wangge.registry import protection, selectors
    from wangge.registry.models import Resident, ResidentTag
    from wangge.territory.models import Building, Level, OrgUnit

    rng = random.Random(7)
    admin = User.objects.get(mobile=ADMIN_MOBILE)
    staff = User.objects.filter(mobile=STAFF_MOBILE).first()
    community = OrgUnit.objects.filter(level=Level.COMMUNITY).order_by("code")[5]
    if staff is None:
        staff = User.objects.create_user(
            username="bench-staff", password=None, display_name="社区工作者", mobile=STAFF_MOBILE
        )
        Membership.objects.create(user=staff, role=Role.COMMUNITY_STAFF, unit=community)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would after a bulk load
    total = Resident.objects.count()

    # Query material drawn from the data (decrypting a sample, as only a bench may).
    sample = list(
        Resident.objects.filter(household__building__grid__code__startswith=community.code)
        .order_by("?")[: args.per_kind * 2]
        .values_list("name", "id_number_encrypted", "mobile_encrypted", "household__building_id")
    )
    plain = [
        (
            name,
            protection.open_value(i, purpose=protection.ID_NUMBER),
            protection.open_value(m, purpose=protection.MOBILE),
            b,
        )
        for name, i, m, b in sample
    ]
    addresses = dict(Building.objects.in_bulk([p[3] for p in plain]).items())
    tags = [g for g in ResidentTag.objects.values_list("group", flat=True).distinct()]

    def pick(n: int) -> list[Any]:
        return [plain[rng.randrange(len(plain))] for _ in range(n)]

    n = args.per_kind
    kinds: dict[str, list[tuple[str, str]]] = {
        "surname": [(p[0][0], "") for p in pick(n)],
        "full name": [(p[0], "") for p in pick(n)],
        "ID last 4": [(p[1][-4:], "") for p in pick(n)],
        "mobile last 4": [(p[2][-4:], "") for p in pick(n) if p[2]],
        "full mobile": [(p[2], "") for p in pick(n) if p[2]],
        "full ID": [(p[1], "") for p in pick(n)],
        "address": [(addresses[p[3]].address[-6:], "") for p in pick(n)],
        "tag": [("", rng.choice(tags)) for _ in range(n)] if tags else [],
        "tag + surname": [(p[0][0], rng.choice(tags)) for p in pick(n)] if tags else [],
    }
    results: dict[str, Any] = {"residents": total, "vendor": connection.vendor, "users": {}}
    load = os.getloadavg()
    for label, user in (("district admin", admin), ("community staff", staff)):
        # Warm up: the first query of a process pays for connections and caches.
        selectors.resident_search(user=user, query="王")
        per_kind: dict[str, Any] = {}
        everything: list[float] = []
        for kind, queries in kinds.items():
            times = []
            found = 0
            for query, group in queries:
                t0 = time.perf_counter()
                rows = selectors.resident_search(user=user, query=query, group=group)
                for r in rows:
                    list(r.tags.all())
                times.append((time.perf_counter() - t0) * 1000)
                found += len(rows)
            times.sort()
            everything += times
            per_kind[kind] = {
                "n": len(times),
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
                "max_ms": round(times[-1], 1),
                "mean_rows": round(found / len(times), 1),
            }
        everything.sort()
        results["users"][label] = {
            "kinds": per_kind,
            "p50_ms": round(statistics.median(everything), 1),
            "p95_ms": round(everything[int(0.95 * (len(everything) - 1))], 1),
        }
    results["load"] = [load[0], os.getloadavg()[0]]
    for label, r in results["users"].items():
        print(
            f"\n{label} — {total:,} residents on {connection.vendor}: p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms"
        )
        print("| query | n | p50 ms | p95 ms | max ms | rows |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for kind, k in r["kinds"].items():
            print(
                f"| {kind} | {k['n']} | {k['p50_ms']} | {k['p95_ms']} | {k['max_ms']} | {k['mean_rows']} |"
            )
    print(f"load average before/after: {results['load'][0]:.2f} / {results['load'][1]:.2f}")
    if args.json:
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
