"""Real public boundary data for tests (Beijing streets, MIT; NBS codes, WTFPL).

The files live beside the repository, in settings.WANGGE_SHARED_DATA / "geo" (../shared/data/geo).
Without them the tests that need them are skipped, except under CI, where that is a failure.
"""

import copy
import csv
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

GEO_DATA = Path(settings.WANGGE_SHARED_DATA) / "geo"
BOUNDARIES = GEO_DATA / "beijing_subdistricts"


def real_path(relative: str) -> Path:
    path = GEO_DATA / relative
    if not path.exists():
        reason = f"real boundary data missing: {path} (set WANGGE_SHARED_DATA)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@cache
def _load(relative: str) -> Any:
    return json.loads(real_path(relative).read_text(encoding="utf-8"))


def real_geojson(relative: str) -> Any:
    """A fresh copy of a real GeoJSON file: tests may change it freely."""
    return copy.deepcopy(_load(relative))


def dongcheng_streets() -> dict[str, Any]:
    """东城区's 17 streets: properties Name, code (12-digit int), parentCode; Polygons."""
    data: dict[str, Any] = real_geojson("beijing_subdistricts/subdistrict/dongcheng-all.geojson")
    return data


def dongcheng_outline() -> dict[str, Any]:
    """The geometry of 东城区's outline (a MultiPolygon)."""
    data = real_geojson("beijing_subdistricts/district/dongcheng-outline.geojson")
    geometry: dict[str, Any] = data["features"][0]["geometry"]
    return geometry


def nbs_streets(county_code: str) -> dict[str, str]:
    """NBS 2023 township-level codes (9 digits) and names of one county-level area."""
    path = real_path("admin_codes_nbs2023/streets.csv")
    with path.open(encoding="utf-8") as handle:
        return {
            row["code"]: row["name"]
            for row in csv.DictReader(handle)
            if row["areaCode"] == county_code
        }
