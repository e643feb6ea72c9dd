"""Reads for the residents' pages: the categories in the order people use them, the street
outlines drawn under the maps (public administrative boundaries) and the public map's cases."""

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from shapely.geometry import mapping, shape

from wangge.cases import selectors as case_selectors
from wangge.cases.models import Category, Status, category_label
from wangge.public.present import PLAIN_STATUS
from wangge.territory.geo import rounded_coordinates
from wangge.territory.models import Level, OrgUnit, TerritoryState

USAGE_DAYS = 90
USAGE_CACHE_SECONDS = 600
# Outlines simplified to about 10 m and rounded to 5 decimals (~1 m): a few dozen kilobytes.
OUTLINE_TOLERANCE = 0.0001
OUTLINE_DECIMALS = 5
MAP_FEATURES = 1500
MAP_CLOSED_DAYS = 30
MAP_DECIMALS = 4  # ~11 m north–south, ~9 m east–west at Beijing's latitude


@dataclass(frozen=True)
class CategoryChoice:
    pk: int
    code: str
    name: str
    icon: str
    group: str
    questions: tuple[dict[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """As Category.label: `name` is already in the reader's language."""
        return self.name


def report_categories() -> tuple[list[CategoryChoice], list[tuple[str, list[CategoryChoice]]]]:
    """(the most used sub-categories first, every sub-category grouped by class)."""
    usage = cache.get("public:category-usage")
    if usage is None:
        since = timezone.now() - timedelta(days=USAGE_DAYS)
        usage = case_selectors.category_usage(since=since)
        cache.set("public:category-usage", usage, USAGE_CACHE_SECONDS)
    groups: dict[int, tuple[str, list[CategoryChoice]]] = {}
    subs: list[CategoryChoice] = []
    for c in case_selectors.category_list():
        if c.parent_id is None:
            groups.setdefault(c.pk, (c.label, []))
            continue
        parent = c.parent
        if parent is None or not parent.is_active:
            continue
        choice = CategoryChoice(
            pk=c.pk,
            code=c.code,
            name=c.label,
            icon=c.icon or parent.icon,
            group=parent.label,
            questions=tuple(c.questions or ()),
        )
        groups.setdefault(parent.pk, (parent.label, []))[1].append(choice)
        subs.append(choice)
    order = {c.pk: i for i, c in enumerate(subs)}
    popular = sorted(subs, key=lambda c: (-usage.get(c.pk, 0), order[c.pk]))
    return popular, [(name, items) for name, items in groups.values() if items]


def map_classes() -> list[Category]:
    """The classes the residents' map can filter by: not the private ones, never on it."""
    private = case_selectors.private_category_ids()
    return list(case_selectors.category_list().filter(parent__isnull=True).exclude(pk__in=private))


def street_outlines() -> str:
    """The district's streets as GeoJSON text, simplified; cached per boundary version."""
    version = TerritoryState.current_version()
    key = f"public:street-outlines:{version}"
    text: str | None = cache.get(key)
    if text is not None:
        return text
    features = []
    for unit in OrgUnit.objects.filter(level=Level.STREET, boundary__isnull=False).only(
        "code", "name", "boundary"
    ):
        geometry = mapping(shape(unit.boundary).simplify(OUTLINE_TOLERANCE, preserve_topology=True))
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": rounded_coordinates(geometry["coordinates"], OUTLINE_DECIMALS),
                },
                "properties": {"name": unit.name},
            }
        )
    text = json.dumps(
        {"type": "FeatureCollection", "features": features},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    cache.set(key, text, 3600)
    return text


def district_center() -> tuple[float, float] | None:
    row = (
        OrgUnit.objects.filter(level=Level.DISTRICT, centroid_lon__isnull=False)
        .order_by("code")
        .values_list("centroid_lon", "centroid_lat")
        .first()
    )
    if row is None or row[0] is None or row[1] is None:
        return None
    return float(row[0]), float(row[1])


def map_features(*, category: str = "") -> dict[str, Any]:
    """Open cases and those closed in the last 30 days as GeoJSON points: rounded positions,
    class, sub-class, status and dates — nothing about the people or the text."""
    since = timezone.now() - timedelta(days=MAP_CLOSED_DAYS)
    rows = case_selectors.public_map_cases(
        category_codes=[category] if category else None, closed_since=since, limit=MAP_FEATURES + 1
    )
    truncated = len(rows) > MAP_FEATURES
    labels = {status: str(short) for status, (short, _sentence) in PLAIN_STATUS.items()}
    features = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [round(r["lon"], MAP_DECIMALS), round(r["lat"], MAP_DECIMALS)],
            },
            "properties": {
                "class": r["category__parent__code"] or "",
                "class_name": category_label(
                    r["category__parent__name"] or "", r["category__parent__name_en"]
                ),
                "icon": r["category__parent__icon"] or "",
                "category": category_label(r["category__name"], r["category__name_en"]),
                "open": r["status"] != Status.CLOSED,
                "status": labels.get(r["status"], r["status"]),
                "reported": timezone.localdate(r["created_at"]).isoformat(),
                "closed": timezone.localdate(r["closed_at"]).isoformat()
                if r["closed_at"] and r["status"] == Status.CLOSED
                else None,
            },
        }
        for r in rows[:MAP_FEATURES]
    ]
    return {"type": "FeatureCollection", "features": features, "truncated": truncated}
