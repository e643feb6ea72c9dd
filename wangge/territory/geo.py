"""Geometry for territory: validate and repair GeoJSON boundaries, and answer point → grid.

Coordinates are WGS84 longitude/latitude. Areas use a local equal-area approximation around
the polygon's centroid, accurate to well under 0.1% at district scale.
"""

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity, make_valid

EARTH_RADIUS_M = 6_371_008.8


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
        raise GeometryError("边界不是 GeoJSON 几何对象 (boundary is not a GeoJSON geometry)")
    if geojson["type"] not in {"Polygon", "MultiPolygon"}:
        raise GeometryError(
            f"边界类型必须是 Polygon 或 MultiPolygon，而不是 {geojson['type']} "
            f"(boundary must be a Polygon or MultiPolygon, not {geojson['type']})"
        )
    try:
        geom = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.GEOSException) as exc:
        raise GeometryError(f"无法解析边界坐标 (cannot read the coordinates): {exc}") from None
    if geom.is_empty:
        raise GeometryError("边界为空 (boundary is empty)")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GeometryError("边界包含无效坐标 (boundary has non-finite coordinates)")
    if (
        (coords[:, 0] < -180).any()
        or (coords[:, 0] > 180).any()
        or (coords[:, 1] < -90).any()
        or (coords[:, 1] > 90).any()
    ):
        raise GeometryError(
            "坐标超出经纬度范围，须为 WGS84 经度/纬度 (coordinates must be WGS84 lon/lat)"
        )
    if geom.is_valid:
        return CleanBoundary(geom, repaired=False, note="")
    reason = explain_validity(geom)
    repaired = _polygonal_part(make_valid(geom))
    if repaired.is_empty or not repaired.is_valid or area_m2(repaired) < 1.0:
        raise GeometryError(
            f"边界无效且无法修复 (invalid geometry that cannot be repaired): {reason}"
        )
    return CleanBoundary(repaired, repaired=True, note=f"已自动修复 (repaired): {reason}")


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
    """Which grid contains a point: an STRtree over prepared grid polygons.

    A point on an edge shared by two grids belongs to the one with the smaller code, so the
    answer is the same however the index was built.
    """

    def __init__(self, grids: list[tuple[int, str, BaseGeometry]]):
        # Sorted by code: the first hit in index order is then the smallest code.
        grids = sorted(grids, key=lambda item: item[1])
        self.ids = np.array([g[0] for g in grids], dtype=np.int64)
        self.codes = [g[1] for g in grids]
        self.geometries = np.array([g[2] for g in grids], dtype=object)
        for geom in self.geometries:
            shapely.prepare(geom)
        self.tree = shapely.STRtree(self.geometries)

    def __len__(self) -> int:
        return len(self.ids)

    def locate(self, lon: float, lat: float) -> int | None:
        """The id of the grid covering (lon, lat), or None when outside every grid."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="covered_by")
        if len(hits) == 0:
            return None
        return int(self.ids[hits.min()])

    def locate_many(self, lons: Any, lats: Any) -> np.ndarray:
        """Grid ids for many points at once; -1 where a point is outside every grid."""
        points = shapely.points(np.asarray(lons, dtype=float), np.asarray(lats, dtype=float))
        result = np.full(len(points), -1, dtype=np.int64)
        if len(points) == 0 or len(self.ids) == 0:
            return result
        point_idx, grid_idx = self.tree.query(points, predicate="covered_by")
        if len(point_idx):
            # Several grids may cover a point on a shared edge: keep the smallest index (code).
            order = np.lexsort((grid_idx, point_idx))
            point_idx, grid_idx = point_idx[order], grid_idx[order]
            first = np.ones(len(point_idx), dtype=bool)
            first[1:] = point_idx[1:] != point_idx[:-1]
            result[point_idx[first]] = self.ids[grid_idx[first]]
        return result


_locator_lock = threading.Lock()
_locator_cache: dict[str, Any] = {"version": None, "locator": None}


def build_grid_locator() -> GridLocator:
    from wangge.territory.models import Level, OrgUnit

    rows = OrgUnit.objects.filter(level=Level.GRID, boundary__isnull=False).values_list(
        "id", "code", "boundary"
    )
    return GridLocator([(pk, code, shape(boundary)) for pk, code, boundary in rows])


def grid_locator() -> GridLocator:
    """The process's locator, rebuilt when the boundary version in the database moves on."""
    from wangge.territory.models import TerritoryState

    version = TerritoryState.current_version()
    with _locator_lock:
        if _locator_cache["version"] != version or _locator_cache["locator"] is None:
            _locator_cache["locator"] = build_grid_locator()
            _locator_cache["version"] = version
        locator: GridLocator = _locator_cache["locator"]
    return locator
