"""Geometry: boundary validation and repair, and the point → grid service."""

import math
import random
from typing import Any

import numpy as np
import pytest
import shapely
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from wangge.territory import actions
from wangge.territory.geo import (
    GeometryError,
    GridLocator,
    area_m2,
    clean_boundary,
    grid_locator,
)
from wangge.territory.models import Level, TerritoryState
from wangge.territory.tests.factories import box, make_tree
from wangge.territory.tests.realdata import dongcheng_outline, dongcheng_streets

# --- a small tiling with every awkward case ---------------------------------------------------
# Cells of 1/8 degree (exact in binary, so points on shared edges are exactly on them):
# 4 columns × 3 rows near Dongcheng. Codes are shuffled against positions and ids against codes,
# so neither input order nor id order can pass for the smallest-code rule.
X0, Y0, STEP = 116.0, 39.75, 0.125
COLS, ROWS = 4, 3
EDGE_XS = [X0 + i * STEP for i in range(COLS + 1)]
EDGE_YS = [Y0 + j * STEP for j in range(ROWS + 1)]
HOLED = (1, 1)  # this cell has a square hole ...
HOLE = (X0 + 1.25 * STEP, Y0 + 1.25 * STEP, X0 + 1.75 * STEP, Y0 + 1.75 * STEP)
EMPTY = (3, 0)  # ... this cell belongs to no grid ...
MULTI = [(0, 0), (3, 2)]  # ... and these two cells are one grid (a MultiPolygon).


def cell(i: int, j: int) -> BaseGeometry:
    # Extra vertices along every edge, as traced boundaries have.
    return shapely.box(*cell_bounds(i, j)).segmentize(STEP / 8)


def cell_bounds(i: int, j: int) -> tuple[float, float, float, float]:
    return (X0 + i * STEP, Y0 + j * STEP, X0 + (i + 1) * STEP, Y0 + (j + 1) * STEP)


def tiling(with_island: bool = True) -> list[tuple[int, str, BaseGeometry]]:
    """(id, code, geometry) of the grids; the island grid fills the hole of the holed cell."""
    rng = random.Random(4)
    cells = [(i, j) for j in range(ROWS) for i in range(COLS) if (i, j) not in (EMPTY, *MULTI)]
    shapes = [
        shapely.Polygon(cell(*c).exterior, [shapely.box(*HOLE).exterior.coords[::-1]])
        if c == HOLED
        else cell(*c)
        for c in cells
    ]
    shapes.append(shapely.MultiPolygon([cell(*c) for c in MULTI]))
    if with_island:
        shapes.append(shapely.box(*HOLE))
    codes = [f"110101001001{k:03d}" for k in range(1, len(shapes) + 1)]
    rng.shuffle(codes)
    ids = rng.sample(range(100, 999), len(shapes))
    return list(zip(ids, codes, shapes, strict=True))


GRIDS = tiling()
LOCATOR = GridLocator(GRIDS)


def by_cell(i: int, j: int) -> tuple[int, str]:
    """The (id, code) of the grid drawn at cell (i, j)."""
    x, y = X0 + (i + 0.5) * STEP, Y0 + (j + 0.1) * STEP
    (hit,) = [(pk, code) for pk, code, g in GRIDS if g.covers(shapely.Point(x, y))]
    return hit


def brute_force(grids: list[tuple[int, str, BaseGeometry]], x: float, y: float) -> int | None:
    """Every grid covering the point, the one with the smallest code."""
    point = shapely.Point(x, y)
    hits = sorted((code, pk) for pk, code, g in grids if g.covers(point))
    return hits[0][1] if hits else None


def smaller(*cells: tuple[int, int]) -> int:
    """The id of the grid with the smallest code among those drawn at these cells."""
    return min(by_cell(*c)[::-1] for c in cells)[1]


# --- GridLocator -----------------------------------------------------------------------------


def test_a_point_inside_a_grid_is_in_that_grid() -> None:
    pk, _code = by_cell(2, 1)
    assert LOCATOR.locate(X0 + 2.3 * STEP, Y0 + 1.6 * STEP) == pk


def test_a_point_on_a_shared_edge_belongs_to_the_smaller_code() -> None:
    x, y = EDGE_XS[2], Y0 + 0.5 * STEP  # between cells (1, 0) and (2, 0)
    expected = smaller((1, 0), (2, 0))

    assert LOCATOR.locate(x, y) == expected
    assert LOCATOR.locate_many([x], [y]).tolist() == [expected]
    # However the index was built.
    for seed in range(5):
        shuffled = GRIDS.copy()
        random.Random(seed).shuffle(shuffled)
        assert GridLocator(shuffled).locate(x, y) == expected


def test_a_point_on_a_vertex_shared_by_four_grids_belongs_to_the_smallest_code() -> None:
    x, y = EDGE_XS[2], EDGE_YS[2]
    expected = smaller((1, 1), (2, 1), (1, 2), (2, 2))

    assert LOCATOR.locate(x, y) == expected
    assert LOCATOR.locate_many([x], [y]).tolist() == [expected]


def test_a_point_on_an_outer_vertex_or_edge_is_inside() -> None:
    north_west = (EDGE_XS[0], EDGE_YS[-1])
    west_edge = (EDGE_XS[0], Y0 + 1.5 * STEP)

    assert LOCATOR.locate(*north_west) == by_cell(0, ROWS - 1)[0]
    assert LOCATOR.locate(*west_edge) == by_cell(0, 1)[0]


def test_a_point_in_a_hole_is_outside_the_grid_with_the_hole() -> None:
    alone = GridLocator([g for g in GRIDS if g[2].geom_type == "Polygon" and len(g[2].interiors)])
    holed_pk = by_cell(*HOLED)[0]
    centre = ((HOLE[0] + HOLE[2]) / 2, (HOLE[1] + HOLE[3]) / 2)

    assert alone.locate(*centre) is None
    assert alone.locate_many([centre[0]], [centre[1]]).tolist() == [-1]
    # The hole's edge is the grid's boundary, which belongs to it.
    assert alone.locate(HOLE[0], centre[1]) == holed_pk
    # With an island grid filling the hole, the point is the island's.
    island_pk = next(pk for pk, _c, g in GRIDS if g.equals(shapely.box(*HOLE)))
    assert LOCATOR.locate(*centre) == island_pk


def test_a_point_outside_every_grid_is_nowhere() -> None:
    empty_cell = (X0 + (EMPTY[0] + 0.5) * STEP, Y0 + (EMPTY[1] + 0.5) * STEP)
    far_away = (121.47, 31.23)

    for x, y in (empty_cell, far_away):
        assert LOCATOR.locate(x, y) is None
    assert LOCATOR.locate_many(
        [empty_cell[0], far_away[0]], [empty_cell[1], far_away[1]]
    ).tolist() == [-1, -1]


def test_each_part_of_a_multipolygon_grid_is_that_grid() -> None:
    multi_pk = next(pk for pk, _c, g in GRIDS if g.geom_type == "MultiPolygon")
    centres = [(X0 + (i + 0.5) * STEP, Y0 + (j + 0.5) * STEP) for i, j in MULTI]

    assert [LOCATOR.locate(x, y) for x, y in centres] == [multi_pk, multi_pk]
    assert LOCATOR.locate_many(*zip(*centres, strict=True)).tolist() == [multi_pk, multi_pk]


def test_nonsense_coordinates_are_nowhere() -> None:
    values = [math.nan, math.inf, -math.inf]
    for bad in values:
        assert LOCATOR.locate(bad, 39.9) is None
        assert LOCATOR.locate(116.1, bad) is None
    assert LOCATOR.locate_many(values, [39.9] * 3).tolist() == [-1, -1, -1]


def test_an_empty_locator_finds_nothing() -> None:
    empty = GridLocator([])

    assert len(empty) == 0
    assert empty.locate(116.1, 39.9) is None
    assert empty.locate_many([116.1], [39.9]).tolist() == [-1]
    assert empty.locate_many([], []).tolist() == []


def test_locate_many_wants_as_many_latitudes_as_longitudes() -> None:
    with pytest.raises(ValueError, match="same length"):
        LOCATOR.locate_many([116.1, 116.2], [39.9])


COORD_X = st.one_of(
    st.floats(X0 - STEP / 2, EDGE_XS[-1] + STEP / 2),
    st.sampled_from([*EDGE_XS, HOLE[0], HOLE[2]]),  # exactly on edges and vertices
)
COORD_Y = st.one_of(
    st.floats(Y0 - STEP / 2, EDGE_YS[-1] + STEP / 2),
    st.sampled_from([*EDGE_YS, HOLE[1], HOLE[3]]),
)


@given(st.lists(st.tuples(COORD_X, COORD_Y), min_size=1, max_size=60))
@settings(max_examples=150, deadline=None)
def test_batch_lookups_equal_single_lookups_and_brute_force(
    points: list[tuple[float, float]],
) -> None:
    xs, ys = zip(*points, strict=True)

    batch = LOCATOR.locate_many(np.array(xs), np.array(ys)).tolist()
    single = [LOCATOR.locate(x, y) for x, y in points]

    assert batch == [-1 if s is None else s for s in single]
    assert single == [brute_force(GRIDS, x, y) for x, y in points]


def test_batch_lookups_are_chunked_without_losing_points(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    xs = rng.uniform(X0, EDGE_XS[-1], 1000)
    ys = rng.uniform(Y0, EDGE_YS[-1], 1000)
    whole = LOCATOR.locate_many(xs, ys)

    monkeypatch.setattr(GridLocator, "CHUNK", 7)

    assert LOCATOR.locate_many(xs, ys).tolist() == whole.tolist()


def test_it_finds_the_real_dongcheng_streets() -> None:
    streets = [
        (k, str(f["properties"]["code"])[:9], shape(f["geometry"]))
        for k, f in enumerate(dongcheng_streets()["features"])
    ]
    locator = GridLocator(streets)
    for k, _code, geom in streets:
        point = geom.representative_point()
        assert locator.locate(point.x, point.y) == k
    # A lattice over the district (real traced edges, slivers of overlap included).
    west, south, east, north = shapely.total_bounds([g for _k, _c, g in streets])
    xs, ys = np.meshgrid(np.linspace(west, east, 60), np.linspace(south, north, 60))
    found = locator.locate_many(xs.ravel(), ys.ravel()).tolist()
    assert found == [
        -1 if (hit := brute_force(streets, x, y)) is None else hit
        for x, y in zip(xs.ravel(), ys.ravel(), strict=True)
    ]


# --- the process's locator follows the database ----------------------------------------------


@pytest.mark.django_db
def test_the_locator_is_reused_until_a_boundary_changes() -> None:
    units = make_tree()
    grid = units["110101001001001"]  # the north-west grid: 116.0–116.1, 39.9–40.0
    first = grid_locator()
    assert grid_locator() is first
    assert first.locate(116.01, 39.95) == grid.pk
    version = TerritoryState.current_version()

    actions.update_unit(unit=grid, boundary=box(116.02, 39.9, 116.1, 40.0))

    assert TerritoryState.current_version() > version
    fresh = grid_locator()
    assert fresh is not first
    assert fresh.locate(116.01, 39.95) is None  # the strip given up belongs to no grid now
    assert fresh.locate(116.05, 39.95) == grid.pk


@pytest.mark.django_db
def test_a_new_grid_is_found_at_once() -> None:
    units = make_tree()
    before = grid_locator()
    community = units["110101001001"]  # its grids: 116.0–116.1 and 116.1–116.2
    actions.update_unit(unit=units["110101001001002"], boundary=box(116.1, 39.9, 116.15, 40.0))

    grid = actions.create_unit(
        code="110101001001003",
        name="新网格",
        level=Level.GRID,
        parent=community,
        boundary=box(116.15, 39.9, 116.2, 40.0),
    )

    assert len(grid_locator()) == len(before) + 1
    assert grid_locator().locate(116.17, 39.95) == grid.pk


@pytest.mark.django_db
def test_a_rolled_back_boundary_change_is_never_mistaken_for_a_later_one() -> None:
    units = make_tree()
    grid = units["110101001001001"]
    grid_locator()

    with pytest.raises(RuntimeError), transaction.atomic():
        actions.update_unit(unit=grid, boundary=box(116.0, 39.9, 116.01, 40.0))
        assert grid_locator().locate(116.03, 39.95) is None  # built from uncommitted grids
        raise RuntimeError("roll back")
    # A different change, committed after the rollback, must not reuse that index.
    actions.update_unit(unit=grid, boundary=box(116.0, 39.9, 116.04, 40.0))

    assert grid_locator().locate(116.03, 39.95) == grid.pk


# --- clean_boundary ----------------------------------------------------------------------------


def real_street() -> dict[str, Any]:
    geometry: dict[str, Any] = dongcheng_streets()["features"][5]["geometry"]
    return geometry


def test_a_valid_boundary_is_kept_as_it_is() -> None:
    geometry = real_street()

    clean = clean_boundary(geometry)

    assert not clean.repaired
    assert clean.note == ""
    assert clean.geometry.equals(shape(geometry))


def test_a_bow_tie_is_repaired_into_its_two_triangles() -> None:
    bow_tie = {
        "type": "Polygon",
        "coordinates": [
            [[116.0, 39.9], [116.01, 39.91], [116.01, 39.9], [116.0, 39.91], [116.0, 39.9]]
        ],
    }

    clean = clean_boundary(bow_tie)

    assert clean.repaired
    assert "Self-intersection" in clean.note
    assert clean.geometry.is_valid
    assert clean.geometry.geom_type == "MultiPolygon"
    assert len(clean.geometry.geoms) == 2
    # Each triangle is a quarter of the 0.01° square.
    assert clean.geometry.area == pytest.approx(0.01 * 0.01 / 2)
    assert clean_boundary(clean.geojson).repaired is False  # stored form is clean


def test_overlapping_parts_of_a_multipolygon_are_merged() -> None:
    parts = {
        "type": "MultiPolygon",
        "coordinates": [
            box(116.0, 39.9, 116.02, 39.92)["coordinates"],
            box(116.01, 39.9, 116.03, 39.92)["coordinates"],
        ],
    }

    clean = clean_boundary(parts)

    assert clean.repaired
    assert clean.geometry.area == pytest.approx(0.03 * 0.02)


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        # A real street folded onto one latitude: nothing left to repair.
        (
            "flattened",
            "无法修复",
        ),
        (
            {"type": "Polygon", "coordinates": [[[116.0, 39.9], [116.01, 39.91], [116.0, 39.9]]]},
            "无法修复",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.0, 39.9], [116.01, 39.91], [116.02, 39.92], [116.0, 39.9]]],
            },
            "边界面积几乎为零",
        ),
        ({"type": "Polygon", "coordinates": [[1, 2]]}, "无法解析边界坐标"),
        ({"type": "Polygon"}, "边界缺少坐标"),
        ({"type": "Polygon", "coordinates": []}, "边界为空"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.0, 39.9], [116.01, math.nan], [116.0, 39.91], [116.0, 39.9]]],
            },
            "边界包含无效坐标",
        ),
    ],
    ids=[
        "flattened-real-street",
        "too-few-points",
        "collinear",
        "not-rings",
        "no-coordinates",
        "empty",
        "nan",
    ],
)
def test_a_boundary_that_cannot_be_repaired_is_refused(geometry: Any, reason: str) -> None:
    if geometry == "flattened":
        ring = real_street()["coordinates"][0]
        geometry = {"type": "Polygon", "coordinates": [[[x, ring[0][1]] for x, _y in ring]]}

    with pytest.raises(GeometryError, match=reason):
        clean_boundary(geometry)


@pytest.mark.parametrize(
    "scale",
    [(111_000, 111_000), (1, 3)],
    ids=["projected-metres", "latitude-over-90"],
)
def test_coordinates_out_of_lon_lat_range_are_refused(scale: tuple[float, float]) -> None:
    ring = real_street()["coordinates"][0]
    moved = {"type": "Polygon", "coordinates": [[[x * scale[0], y * scale[1]] for x, y in ring]]}

    with pytest.raises(GeometryError, match="WGS84"):
        clean_boundary(moved)


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (
            {"type": "LineString", "coordinates": [[116.0, 39.9], [116.1, 39.9]]},
            "而不是 LineString",
        ),
        ({"type": "Point", "coordinates": [116.0, 39.9]}, "而不是 Point"),
        ({"type": "GeometryCollection", "geometries": []}, "而不是 GeometryCollection"),
        ({"type": "Feature", "geometry": box(116.0, 39.9, 116.1, 40.0)}, "而不是 Feature"),
        (None, "不是 GeoJSON 几何对象"),
        ("POLYGON ((116 39.9, 116.1 39.9, 116.1 40, 116 39.9))", "不是 GeoJSON 几何对象"),
        ({"coordinates": []}, "不是 GeoJSON 几何对象"),
        ({"type": ["Polygon"]}, "必须是 Polygon 或 MultiPolygon"),
    ],
    ids=["linestring", "point", "collection", "feature", "none", "wkt", "no-type", "odd-type"],
)
def test_anything_but_a_polygon_is_refused(geometry: Any, reason: str) -> None:
    with pytest.raises(GeometryError, match=reason):
        clean_boundary(geometry)


def test_heights_are_dropped() -> None:
    ring = [[116.0, 39.9, 50.0], [116.01, 39.9, 50.0], [116.01, 39.91, 50.0], [116.0, 39.9, 50.0]]

    clean = clean_boundary({"type": "Polygon", "coordinates": [ring]})

    assert not clean.geometry.has_z
    assert len(mapping(clean.geometry)["coordinates"][0][0]) == 2


def test_the_area_of_dongcheng_is_its_published_area() -> None:
    # 东城区 is 41.84 km² (Beijing statistics); the traced outline is close to that.
    assert area_m2(shape(dongcheng_outline())) / 1e6 == pytest.approx(41.84, rel=0.01)
