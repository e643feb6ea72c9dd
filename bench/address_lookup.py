"""Address → place (an Open311 request placed by `address_string`): per-request cost.

Builds a fresh SQLite copy of the demo district (migrate + seed_demo, 3,000 buildings), then,
for each size, adds synthetic buildings (copies of the demo's with new house numbers) and times,
in the same run:
- before: a `PlaceFinder` built for each lookup (reads every building and unit name), as
  Open311 did until the finder was cached;
- after: `cases.matching.locate_text`, the process's finder, rebuilt only when
  `TerritoryState`'s versions move (one query per lookup to read them).
Every answer is checked against the uncached finder's.

Run: .venv/bin/python bench/address_lookup.py [--sizes 3000,30000] [--lookups 200]
"""

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="3000,30000")
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    tmp = tempfile.mkdtemp(prefix="wangge-address-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wangge.settings")
    os.environ.setdefault("WANGGE_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    import django

    django.setup()
    from django.core.management import call_command

    from wangge.cases.matching import PlaceFinder, locate_text
    from wangge.territory.actions import bump_places_version
    from wangge.territory.models import Building

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    rng = random.Random(7)
    demo = list(Building.objects.all())
    for size in sizes:
        extra = size - Building.objects.count()
        if extra > 0:
            Building.objects.bulk_create(
                [
                    Building(
                        name=f"{b.name}附{i}",
                        address=f"{b.address}附{i}号",
                        lon=b.lon,
                        lat=b.lat,
                        grid_id=b.grid_id,
                    )
                    for i, b in enumerate(rng.choices(demo, k=extra))
                ],
                batch_size=2000,
            )
            bump_places_version()
        addresses = [
            f"北京市东城区{a}门口"
            for a in rng.sample(list(Building.objects.values_list("address", flat=True)), 50)
        ]
        texts = [addresses[i % len(addresses)] for i in range(args.lookups)]

        before_n = max(10, args.lookups // 20)
        start = time.perf_counter()
        expected = [PlaceFinder().locate(t) for t in texts[:before_n]]
        before = (time.perf_counter() - start) / before_n * 1000

        locate_text(texts[0])  # the first lookup after a change builds the finder
        start = time.perf_counter()
        got = [locate_text(t) for t in texts]
        after = (time.perf_counter() - start) / len(texts) * 1000
        for e, g in zip(expected, got, strict=False):
            assert e is not None and g is not None
            assert (e.grid.pk, e.lon, e.lat, e.how) == (g.grid.pk, g.lon, g.lat, g.how)
        print(
            f"{Building.objects.count():>7,} buildings: finder per lookup {before:8.2f} ms,"
            f" cached {after:6.3f} ms per lookup ({before / after:,.0f}×)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
