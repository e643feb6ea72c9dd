"""Grid polygons for the dashboard's map: simplified as one coverage (neighbours keep their shared
edges, so no gaps open between grids), rounded, and cached per boundary version."""

import threading
from typing import Any

import shapely
from shapely.geometry import mapping, shape

from wangge.territory.geo import rounded_coordinates
from wangge.territory.models import OrgUnit, TerritoryState

# About 5 m: invisible at district zoom, and a grid keeps a few dozen vertices instead of hundreds.
TOLERANCE_DEG = 0.00005
DECIMALS = 6

_lock = threading.Lock()
_cache: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}


def simplified_grids(prefix: str) -> dict[str, dict[str, Any]]:
    """{grid code: simplified GeoJSON geometry} of the grids under `prefix` that have one."""
    version = TerritoryState.current_version()
    key = (version, prefix)
    with _lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    rows = list(
        OrgUnit.objects.filter(code__codeprefix=prefix, level="grid", boundary__isnull=False)
        .order_by("code")
        .values_list("code", "boundary")
    )
    geoms = [shape(b) for _c, b in rows]
    if geoms:
        try:
            simple = list(shapely.coverage_simplify(geoms, TOLERANCE_DEG))
        except shapely.errors.GEOSException:
            # Not a clean coverage (overlapping imports): simplify each grid on its own.
            simple = [g.simplify(TOLERANCE_DEG, preserve_topology=True) for g in geoms]
    else:
        simple = []
    result: dict[str, dict[str, Any]] = {}
    for (code, _b), geom in zip(rows, simple, strict=True):
        data = mapping(geom)
        result[code] = {
            "type": data["type"],
            "coordinates": rounded_coordinates(data["coordinates"], DECIMALS),
        }
    with _lock:
        if len(_cache) > 64:
            _cache.clear()
        _cache[key] = result
    return result
