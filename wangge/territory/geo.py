"""Geometry for territory: validate and repair GeoJSON boundaries, and answer point → grid.

Coordinates are WGS84 longitude/latitude. Areas use a local equal-area approximation around
the polygon's centroid, accurate to well under 0.1% at district scale.
"""

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity, make_valid

EARTH_RADIUS_M = 6_371_008.8
# Smaller than any real grid or building: below this a boundary is a degenerate sliver.
MIN_AREA_M2 = 1.0


class GeometryError(ValueError):
    """A boundary that cannot be used, with the reason in words a person can act on."""


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry:
    """Keep only the polygons of a repaired geometry (make_valid may add lines or points)."""
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        return geom
    if geom.geom_type == "GeometryCollection":
        polygons = [g for g in geom.geoms if g.geom_type in {"Polygon", "MultiPolygon"}]
        if polygons:
            return shapely.union_all(polygons)
    return shapely.Polygon()


@dataclass(frozen=True)
class CleanBoundary:
    geometry: BaseGeometry
    repaired: bool
    note: str

    @property
    def geojson(self) -> dict[str, Any]:
        return dict(mapping(self.geometry))


def clean_boundary(geojson: Any) -> CleanBoundary:
    """Parse a GeoJSON Polygon/MultiPolygon, repair it if possible, or raise GeometryError."""
    if not isinstance(geojson, dict) or "type" not in geojson:
        raise GeometryError(_("边界不是 GeoJSON 几何对象 (boundary is not a GeoJSON geometry)"))
    kind = geojson["type"]
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            _(
                "边界类型必须是 Polygon 或 MultiPolygon，而不是 %(kind)s "
                "(boundary must be a Polygon or MultiPolygon, not %(kind)s)"
            )
            % {"kind": kind}
        )
    if "coordinates" not in geojson:
        raise GeometryError(_("边界缺少坐标 coordinates (the boundary has no coordinates)"))
    try:
        # Heights, if any, mean nothing here: keep longitude and latitude only.
        with np.errstate(invalid="ignore"):  # NaN is refused below, in words
            geom = shapely.force_2d(shape(geojson))
    except (
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        shapely.errors.GEOSException,
    ) as exc:
        raise GeometryError(
            _("无法解析边界坐标：%(error)s (cannot read the coordinates: %(error)s)")
            % {"error": exc}
        ) from None
    if geom.is_empty:
        raise GeometryError(_("边界为空 (boundary is empty)"))
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GeometryError(_("边界包含无效坐标 (boundary has non-finite coordinates)"))
    if (
        (coords[:, 0] < -180).any()
        or (coords[:, 0] > 180).any()
        or (coords[:, 1] < -90).any()
        or (coords[:, 1] > 90).any()
    ):
        raise GeometryError(
            _("坐标超出经纬度范围，须为 WGS84 经度/纬度 (coordinates must be WGS84 lon/lat)")
        )
    if geom.is_valid:
        # GEOS calls a ring collapsed onto a line valid: it still encloses nothing.
        if area_m2(geom) < MIN_AREA_M2:
            raise GeometryError(
                _(
                    "边界面积几乎为零（各点共线或重合） "
                    "(the boundary encloses almost no area: its points are collinear or repeated)"
                )
            )
        return CleanBoundary(geom, repaired=False, note="")
    reason = explain_validity(geom)
    repaired = _polygonal_part(make_valid(geom))
    if repaired.is_empty or not repaired.is_valid or area_m2(repaired) < MIN_AREA_M2:
        raise GeometryError(
            _(
                "边界无效且无法修复：%(reason)s (invalid geometry that cannot be repaired: %(reason)s)"
            )
            % {"reason": reason}
        )
    return CleanBoundary(
        repaired,
        repaired=True,
        note=_("已自动修复：%(reason)s (repaired: %(reason)s)") % {"reason": reason},
    )


def rounded_coordinates(coords: Any, decimals: int) -> Any:
    """GeoJSON coordinates (nested lists of positions) with every number rounded: for maps
    sent to browsers, where a metre (5 decimals) or ten (4) is plenty."""
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
        return [round(float(c), decimals) for c in coords]
    return [rounded_coordinates(c, decimals) for c in coords]


def area_m2(geom: BaseGeometry) -> float:
    if geom.is_empty:
        return 0.0
    centroid = geom.centroid
    lat0 = math.radians(centroid.y)
    kx = EARTH_RADIUS_M * math.cos(lat0) * math.pi / 180
    ky = EARTH_RADIUS_M * math.pi / 180
    projected = shapely.transform(geom, lambda xy: xy * np.array([kx, ky]))
    return float(projected.area)


def summary(geom: BaseGeometry) -> dict[str, Any]:
    """Centroid, bbox and area for storing beside the boundary."""
    point = geom.representative_point() if not geom.centroid.within(geom) else geom.centroid
    minx, miny, maxx, maxy = geom.bounds
    return {
        "centroid_lon": round(point.x, 7),
        "centroid_lat": round(point.y, 7),
        "bbox": [minx, miny, maxx, maxy],
        "area_m2": round(area_m2(geom), 1),
    }


class GridLocator:
    """Which grid covers a point: a uniform bucket grid over prepared grid polygons.

    The grids' extent is cut into buckets half the size of a typical grid's bounding box; each
    bucket lists, in code order, the grids whose bounding boxes touch it. A lookup is then
    arithmetic, a few bounding-box comparisons and usually one GEOS point-in-polygon test on a
    prepared polygon, with no shapely.Point built: about 5 µs at 10,000 grids, where an STRtree
    query took 12 µs; `locate_many` runs at about 2 million points/s (docs/performance.md).

    A point on an edge shared by two grids (or on a shared vertex) belongs to the grid with the
    smallest code, so the answer is the same however the index was built.
    """

    # A bucket's side as a share of the median grid's bounding box: smaller buckets mean fewer
    # candidates per point but more index entries.
    BUCKET_SCALE = 0.5
    # Buckets per grid at most: bounds the index's memory when grids differ a lot in size.
    MAX_BUCKETS_PER_GRID = 16
    # Points per locate_many chunk: bounds the temporary arrays (about 100 bytes per point).
    CHUNK = 1 << 18

    def __init__(self, grids: list[tuple[int, str, BaseGeometry]]):
        # Sorted by code: index order is code order, so the first hit is the smallest code.
        grids = sorted(grids, key=lambda item: item[1])
        self.ids = np.array([g[0] for g in grids], dtype=np.int64)
        self.codes = [g[1] for g in grids]
        self.geometries = np.array([g[2] for g in grids], dtype=object)
        shapely.prepare(self.geometries)
        bounds = shapely.bounds(self.geometries).reshape(-1, 4)
        usable = np.flatnonzero(np.isfinite(bounds).all(axis=1))  # empty geometries never match
        self._bounds = bounds
        self._id_list: list[int] = self.ids.tolist()
        self._geom_list: list[BaseGeometry] = list(self.geometries)
        self._box_list: list[tuple[float, float, float, float]] = [
            (b[0], b[1], b[2], b[3]) for b in bounds.tolist()
        ]
        self._index(bounds, usable)

    def _index(self, bounds: np.ndarray, usable: np.ndarray) -> None:
        if len(usable) == 0:
            self._x0 = self._y0 = 0.0
            self._x1 = self._y1 = -1.0  # nothing is ever inside
            self._cw = self._ch = 1.0
            self._nx = self._ny = 1
            self._starts = np.zeros(2, dtype=np.int64)
            self._members = np.zeros(0, dtype=np.int64)
            self._start_list: list[int] = [0, 0]
            self._member_list: list[int] = []
            return
        b = bounds[usable]
        x0, y0 = float(b[:, 0].min()), float(b[:, 1].min())
        x1, y1 = float(b[:, 2].max()), float(b[:, 3].max())
        cw = float(np.median(b[:, 2] - b[:, 0])) * self.BUCKET_SCALE or (x1 - x0) or 1.0
        ch = float(np.median(b[:, 3] - b[:, 1])) * self.BUCKET_SCALE or (y1 - y0) or 1.0
        cap = max(16, self.MAX_BUCKETS_PER_GRID * len(usable))
        while True:
            nx = int((x1 - x0) / cw) + 1
            ny = int((y1 - y0) / ch) + 1
            if nx * ny <= cap:
                break
            factor = math.sqrt(nx * ny / cap) * 1.01
            cw, ch = cw * factor, ch * factor
        self._x0, self._y0, self._x1, self._y1 = x0, y0, x1, y1
        self._cw, self._ch, self._nx, self._ny = cw, ch, nx, ny

        # Bucket ranges of each bounding box: the same arithmetic as a lookup, so a point inside
        # a box always falls in one of the box's buckets (IEEE division and floor are monotonic).
        ix0, iy0 = self._cells(b[:, 0], b[:, 1])
        ix1, iy1 = self._cells(b[:, 2], b[:, 3])
        width = ix1 - ix0 + 1
        counts = width * (iy1 - iy0 + 1)
        owner = np.repeat(np.arange(len(usable)), counts)
        local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        keys = (iy0[owner] + local // width[owner]) * nx + ix0[owner] + local % width[owner]
        grid_index = usable[owner]
        order = np.lexsort((grid_index, keys))  # by bucket, then by code
        self._members = grid_index[order]
        self._starts = np.searchsorted(keys[order], np.arange(nx * ny + 1))
        self._start_list = self._starts.tolist()
        self._member_list = self._members.tolist()

    def _cells(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ix = np.minimum(((xs - self._x0) / self._cw).astype(np.int64), self._nx - 1)
        iy = np.minimum(((ys - self._y0) / self._ch).astype(np.int64), self._ny - 1)
        return ix, iy

    def __len__(self) -> int:
        return len(self.ids)

    def locate(self, lon: float, lat: float) -> int | None:
        """The id of the grid covering (lon, lat), or None when outside every grid."""
        x, y = float(lon), float(lat)
        # Written so that NaN compares false and falls out as "outside".
        if not (self._x0 <= x <= self._x1 and self._y0 <= y <= self._y1):
            return None
        ix = min(int((x - self._x0) / self._cw), self._nx - 1)
        iy = min(int((y - self._y0) / self._ch), self._ny - 1)
        key = iy * self._nx + ix
        boxes, members = self._box_list, self._member_list
        for k in range(self._start_list[key], self._start_list[key + 1]):
            i = members[k]
            west, south, east, north = boxes[i]
            if (
                west <= x <= east
                and south <= y <= north
                and shapely.intersects_xy(self._geom_list[i], x, y)
            ):
                return self._id_list[i]
        return None

    def locate_many(self, lons: Any, lats: Any) -> np.ndarray:
        """Grid ids for many points at once; -1 where a point is outside every grid."""
        xs = np.asarray(lons, dtype=float).ravel()
        ys = np.asarray(lats, dtype=float).ravel()
        if xs.shape != ys.shape:
            raise ValueError("lons and lats must have the same length")
        result = np.full(len(xs), -1, dtype=np.int64)
        for start in range(0, len(xs), self.CHUNK):
            stop = start + self.CHUNK
            result[start:stop] = self._locate_chunk(xs[start:stop], ys[start:stop])
        return result

    def _locate_chunk(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        result = np.full(len(xs), -1, dtype=np.int64)
        inside = (xs >= self._x0) & (xs <= self._x1) & (ys >= self._y0) & (ys <= self._y1)
        points = np.flatnonzero(inside)
        if len(points) == 0:
            return result
        px, py = xs[points], ys[points]
        ix, iy = self._cells(px, py)
        keys = iy * self._nx + ix
        first = self._starts[keys]
        counts = self._starts[keys + 1] - first
        # Every (point, candidate) pair, grouped by point, candidates in code order.
        point = np.repeat(np.arange(len(points)), counts)
        offset = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        grid = self._members[np.repeat(first, counts) + offset]
        x, y = px[point], py[point]
        box = self._bounds[grid]
        near = (box[:, 0] <= x) & (x <= box[:, 2]) & (box[:, 1] <= y) & (y <= box[:, 3])
        point, grid, x, y = point[near], grid[near], x[near], y[near]
        # GEOS is an order of magnitude faster when consecutive tests share a polygon.
        order = np.argsort(grid, kind="stable")
        point, grid = point[order], grid[order]
        hit = shapely.intersects_xy(self.geometries[grid], x[order], y[order])
        point, grid = point[hit], grid[hit]
        # Several grids may cover a point on a shared edge: the smallest index (code) wins.
        best = np.full(len(points), len(self.ids), dtype=np.int64)
        np.minimum.at(best, point, grid)
        found = best < len(self.ids)
        result[points[found]] = self.ids[best[found]]
        return result


class VersionedCache[T]:
    """One value per process, built again when the version it was built for moves on (the
    versions are read from the database by the caller: `TerritoryState`)."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._version: Any = None
        self._value: T | None = None

    def get(self, version: Any) -> T:
        with self._lock:
            if self._value is None or self._version != version:
                self._value = self._build()
                self._version = version
            return self._value

    def peek(self) -> tuple[Any, T] | None:
        """(version, value) as last built, without building."""
        with self._lock:
            return None if self._value is None else (self._version, self._value)


_locators: VersionedCache[GridLocator] = VersionedCache(lambda: build_grid_locator())


def build_grid_locator() -> GridLocator:
    from wangge.territory.models import Level, OrgUnit

    rows = OrgUnit.objects.filter(level=Level.GRID, boundary__isnull=False).values_list(
        "id", "code", "boundary"
    )
    return GridLocator([(pk, code, shape(boundary)) for pk, code, boundary in rows])


def cached_grid_locator() -> tuple[int, GridLocator] | None:
    """(boundary version, locator) as this process last built it, without asking the database:
    the caller checks the version (case intake reads it in the statement that reads the grid)."""
    return _locators.peek()


def grid_locator(*, version: int | None = None) -> GridLocator:
    """The process's locator, rebuilt when the boundary version in the database moves on (or
    when it differs from `version`, the caller's reading of it)."""
    from wangge.territory.models import TerritoryState

    if version is None:
        version = TerritoryState.current_version()
    return _locators.get(version)
