"""Point → grid throughput: GridLocator against a brute-force scan, on synthetic grid tilings.

Builds, in memory (no database), tilings of 360, 10,000 and 50,000 grids shaped like real ones:
jittered quadrilaterals whose edges carry 4–14 extra wobbling vertices shared with the
neighbour (20–60 vertices per grid), so the grids tile the district exactly and many points sit
on shared edges. For each size it prints single lookups/s (`locate` in a loop), batch points/s
(`locate_many`) and a brute-force baseline (every polygon tested with shapely `covers`), and
checks that batch, single and brute-force answers agree, shared-edge rule included.

Run: .venv/bin/python bench/point_in_grid.py [--sizes 360,10000,50000] [--batch 1000000]
"""

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wangge.territory.geo import GridLocator

# A district-sized extent around Dongcheng (lon/lat); cells shrink as the count grows.
WEST, SOUTH, EAST, NORTH = 116.35, 39.85, 116.45, 39.95


def tiling(count: int, seed: int = 1) -> list[tuple[int, str, BaseGeometry]]:
    """`count` grids (rounded to a near-square lattice) that tile the extent exactly."""
    rng = np.random.default_rng(seed)
    cols = round(math.sqrt(count * (EAST - WEST) / (NORTH - SOUTH)))
    rows = math.ceil(count / cols)
    dx, dy = (EAST - WEST) / cols, (NORTH - SOUTH) / rows
    # Lattice corners, jittered inside (the outer frame stays straight).
    xs = WEST + np.arange(cols + 1) * dx
    ys = NORTH - np.arange(rows + 1) * dy
    corner_x = np.tile(xs, (rows + 1, 1))
    corner_y = np.tile(ys[:, None], (1, cols + 1))
    corner_x[1:-1, 1:-1] += rng.uniform(-0.15, 0.15, (rows - 1, cols - 1)) * dx
    corner_y[1:-1, 1:-1] += rng.uniform(-0.15, 0.15, (rows - 1, cols - 1)) * dy

    edges: dict[tuple[tuple[int, int], tuple[int, int]], np.ndarray] = {}

    def edge(a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
        """Vertices from corner a to corner b, excluding b; shared (reversed) with the neighbour."""
        key = (a, b) if a < b else (b, a)
        if key not in edges:
            p, q = key
            start = np.array([corner_x[p], corner_y[p]])
            end = np.array([corner_x[q], corner_y[q]])
            extra = int(rng.integers(4, 15))
            t = np.sort(rng.uniform(0.1, 0.9, extra))
            points = start + t[:, None] * (end - start)
            outer = (p[0] == q[0] and p[0] in (0, rows)) or (p[1] == q[1] and p[1] in (0, cols))
            if not outer:
                normal = np.array([-(end - start)[1], (end - start)[0]])
                wobble = rng.uniform(-0.04, 0.04, extra)[:, None]
                points = points + wobble * normal
            edges[key] = np.vstack([start, points, end])
        line = edges[key]
        return line[:-1] if key == (a, b) else line[::-1][:-1]

    grids = []
    serial = 0
    for r in range(rows):
        for c in range(cols):
            if serial == count:
                break
            ring = np.vstack(
                [
                    edge((r, c), (r, c + 1)),
                    edge((r, c + 1), (r + 1, c + 1)),
                    edge((r + 1, c + 1), (r + 1, c)),
                    edge((r + 1, c), (r, c)),
                ]
            )
            serial += 1
            # Code order is shuffled against the lattice so the edge rule is really exercised.
            code = f"110101{int(rng.integers(1, 999)):03d}{serial:06d}"
            grids.append((serial, code, shapely.Polygon(ring)))
    return grids


def brute_force(
    grids: list[tuple[int, str, BaseGeometry]], lons: np.ndarray, lats: np.ndarray
) -> np.ndarray:
    """The obvious answer: test every polygon, keep the smallest code among those covering.

    Works on fresh, unprepared copies of the polygons, as a first implementation would.
    """
    ordered = sorted(grids, key=lambda g: g[1])
    geoms = shapely.from_wkb(shapely.to_wkb(np.array([g[2] for g in ordered], dtype=object)))
    ids = np.array([g[0] for g in ordered], dtype=np.int64)
    out = np.full(len(lons), -1, dtype=np.int64)
    for k, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        hits = np.flatnonzero(shapely.covers(geoms, shapely.Point(lon, lat)))
        if len(hits):
            out[k] = ids[hits[0]]
    return out


def sample_points(
    rng: np.random.Generator, grids: list[tuple[int, str, BaseGeometry]], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random points over (and a little beyond) the extent, a tenth of them on grid vertices."""
    margin = 0.01
    lons = rng.uniform(WEST - margin, EAST + margin, n)
    lats = rng.uniform(SOUTH - margin, NORTH + margin, n)
    on_edge = n // 10
    picks = rng.integers(0, len(grids), on_edge)
    for k, pick in enumerate(picks):
        ring = np.asarray(grids[pick][2].exterior.coords)
        lons[k], lats[k] = ring[rng.integers(0, len(ring) - 1)]
    return lons, lats


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}"


def as_array(found: list[int | None]) -> np.ndarray:
    return np.array([-1 if f is None else f for f in found], dtype=np.int64)


def run(size: int, batch: int, brute_n: int, rng: np.random.Generator) -> dict[str, str]:
    grids = tiling(size)
    assert all(g[2].is_valid for g in grids), "synthetic tiling produced an invalid polygon"
    vertices = np.mean([shapely.get_num_coordinates(g[2]) for g in grids])
    started = time.perf_counter()
    locator = GridLocator(grids)
    build_s = time.perf_counter() - started

    # Single lookups: a plain Python loop, as a request handler calls it.
    single_n = 100_000
    lons, lats = sample_points(rng, grids, single_n)
    pairs = list(zip(lons.tolist(), lats.tolist(), strict=True))
    started = time.perf_counter()
    singles = [locator.locate(lon, lat) for lon, lat in pairs]
    single_s = time.perf_counter() - started

    # Batch: one call with every point.
    blons, blats = sample_points(rng, grids, batch)
    started = time.perf_counter()
    batched = locator.locate_many(blons, blats)
    batch_s = time.perf_counter() - started

    # Brute force on the first points of the single-lookup sample (a tenth on vertices).
    started = time.perf_counter()
    expected = brute_force(grids, lons[:brute_n], lats[:brute_n])
    brute_s = time.perf_counter() - started

    # Correctness: batch = brute force, single = brute force, batch = single on every point.
    wrong_batch = int((locator.locate_many(lons[:brute_n], lats[:brute_n]) != expected).sum())
    wrong_single = int((as_array(singles[:brute_n]) != expected).sum())
    disagree = int((as_array(singles) != locator.locate_many(lons, lats)).sum())
    check = slice(0, 20_000)
    disagree += int(
        (
            as_array(
                [locator.locate(x, y) for x, y in zip(blons[check], blats[check], strict=True)]
            )
            != batched[check]
        ).sum()
    )
    ok = wrong_batch == wrong_single == disagree == 0
    return {
        "grids": f"{len(grids):,}",
        "vertices/grid": f"{vertices:.0f}",
        "index build s": f"{build_s:.2f}",
        "single lookups/s": rate(single_n, single_s),
        f"batch points/s ({batch:,})": rate(batch, batch_s),
        "brute force lookups/s": rate(brute_n, brute_s),
        "single vs brute": f"{(single_n / single_s) / (brute_n / brute_s):,.0f}×",
        "correct": (
            f"{'yes' if ok else 'NO'} ({brute_n:,} pts = brute force; "
            f"{single_n + 20_000:,} single = batch)"
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="360,10000,50000")
    parser.add_argument("--batch", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(
        f"Python {platform.python_version()}, shapely {shapely.__version__} "
        f"(GEOS {'.'.join(map(str, shapely.geos_version))}), numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        # Brute force costs one GEOS call per grid per point: keep its sample proportionate.
        brute_n = max(100, min(2000, 2_000_000 // size))
        started = time.perf_counter()
        row = run(size, args.batch, brute_n, rng)
        row["total s"] = f"{time.perf_counter() - started:.1f}"
        rows.append(row)
        print(" | ".join(f"{k}: {v}" for k, v in row.items()), flush=True)
    headers = list(rows[0])
    print()
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join(" --- " for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(row[h] for h in headers) + " |")
    return 0 if all(row["correct"].startswith("yes") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
