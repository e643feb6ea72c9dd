"""Free text from other systems (12345 hotline work orders, Open311 clients) matched to our
categories and places: a category by its code, name or a synonym; a place by the coordinates,
building address or unit name written in an address."""

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from wangge.cases.models import Category
from wangge.core.errors import DomainError
from wangge.core.sql import fresh_copy
from wangge.territory.geo import VersionedCache, grid_locator
from wangge.territory.models import Building, Level, OrgUnit, TerritoryState

# Words that 12345 hotlines and residents use for our sub-categories (each word names one).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "elderly_care": ("养老", "助老", "为老服务", "老年人服务"),
    "employment": ("就业", "失业", "就业服务"),
    "medical": ("医疗", "卫生", "看病就医"),
    "property_service": ("物业", "物业管理", "物业服务问题"),
    "utilities": ("停水", "停电", "供暖", "暖气", "供水", "供电", "水电"),
    "livelihood_other": ("其他民生", "民生服务其他"),
    "policy_social_security": ("社保", "医保", "社保医保", "社会保障"),
    "policy_household": ("户籍", "户口", "证照办理", "身份证"),
    "policy_housing": ("住房", "保障房", "公租房", "廉租房"),
    "policy_subsidy": ("补贴", "补助", "补贴申请"),
    "dispute_neighbour": ("邻里矛盾", "邻居纠纷"),
    "dispute_labour": ("欠薪", "拖欠工资", "劳动纠纷"),
    "dispute_family": ("家庭纠纷", "婚姻纠纷", "家庭矛盾"),
    "fire_hazard": ("消防", "消防通道", "火灾隐患", "消防安全"),
    "gas_hazard": ("燃气", "煤气", "燃气泄漏", "天然气"),
    "building_safety": ("危房", "房屋安全隐患"),
    "ebike_charging": ("电动车充电", "飞线充电", "电动自行车充电"),
    "exposed_garbage": ("垃圾", "垃圾清运", "生活垃圾", "垃圾堆放", "环境卫生"),
    "debris": ("渣土", "建筑垃圾", "装修垃圾"),
    "dirty_road": ("路面脏", "道路保洁", "道路清扫"),
    "green_space": ("绿地", "绿化", "绿化养护"),
    "graffiti": ("涂鸦", "乱写乱画"),
    "illegal_flyers": ("小广告", "乱贴小广告"),
    "outdoor_ads": ("户外广告", "广告牌", "牌匾标识"),
    "construction_noise": ("施工噪音", "噪音扰民", "夜间施工", "噪声扰民"),
    "construction_dust": ("扬尘",),
    "road_occupation": ("占道施工", "占道挖掘"),
    "street_vendors": ("游商", "无照经营", "摆摊设点"),
    "outside_shop": ("占道经营", "出店经营"),
    "bike_parking": ("共享单车", "单车乱停", "非机动车停放"),
    "car_parking": ("乱停车", "违章停车", "违法停车", "停车"),
    "waterlogging": ("积水", "路面积水"),
    "manhole": ("井盖", "井盖丢失"),
    "road_collapse": ("塌陷", "路面塌陷问题"),
    "pipe_burst": ("水管破裂", "爆管", "管道漏水"),
    "other_issue": ("其他",),
}

# Separators between the levels of a category path such as "城市管理/市容环境/暴露垃圾".
_PATH_SPLIT = re.compile(r"[/／\\|｜>＞›»\-—–·、,，;；]+")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text or "")).lower()


def synonyms_for(code: str) -> tuple[str, ...]:
    return SYNONYMS.get(code, ())


class CategoryMatcher:
    """Built once (one query), then matches any number of texts in memory."""

    def __init__(self, *, extra: dict[str, str] | None = None) -> None:
        categories = list(Category.objects.select_related("parent"))
        by_code = {c.code: c for c in categories}
        self.sub: dict[str, Category] = {}
        self.classes: dict[str, Category] = {}
        for c in categories:
            target = self.sub if c.parent_id else self.classes
            for word in (c.code, c.name):
                target.setdefault(_norm(word), c)
            if c.parent_id and c.parent:
                self.sub.setdefault(_norm(f"{c.parent.name}{c.name}"), c)
        for code, words in SYNONYMS.items():
            if code in by_code:
                for word in words:
                    self.sub.setdefault(_norm(word), by_code[code])
        # A local mapping (a hotline's own taxonomy) wins over everything above.
        for text, code in (extra or {}).items():
            if code not in by_code or by_code[code].parent_id is None:
                raise DomainError(
                    _("对照表中的分类代码 %(code)s 不是一个小类 (unknown sub-category code)")
                    % {"code": code},
                    field="category_map",
                )
            self.sub[_norm(text)] = by_code[code]

    def match(self, text: str) -> Category:
        """The active sub-category `text` names; DomainError saying why not otherwise."""
        whole = _norm(text)
        if not whole:
            raise DomainError(_("分类为空 (category is empty)"), field="category", code="required")
        parts = [p for p in (_norm(p) for p in _PATH_SPLIT.split(str(text))) if p]
        # The whole text first, then its most specific part (the last) backwards.
        for candidate in [whole, *reversed(parts)]:
            found = self.sub.get(candidate)
            if found is not None:
                if not found.is_active:
                    raise DomainError(
                        _("分类“%(name)s”已停用 (category is inactive)") % {"name": found.name},
                        field="category",
                    )
                return found
        if whole in self.classes or any(p in self.classes for p in parts):
            raise DomainError(
                _("“%(text)s”是大类，请写明小类 (a class: name its sub-category)") % {"text": text},
                field="category",
            )
        raise DomainError(
            _(
                "无法识别分类“%(text)s”：请使用小类名称或代码，或用 --category-map 提供对照表 "
                "(unknown category)"
            )
            % {"text": text},
            field="category",
            code="unknown",
        )


# --- places --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where an address points: a grid, and the point when the text gave one."""

    grid: OrgUnit
    lon: float | None
    lat: float | None
    how: str  # coordinates | building | compound | unit | fallback


_NUMBER = r"(-?\d{1,3}\.\d{3,})"
_COORDINATE_PATTERNS = [
    # 经度116.40 纬度39.91 (either order)
    (re.compile(r"经度\s*[:：=]?\s*" + _NUMBER + r".{0,12}?纬度\s*[:：=]?\s*" + _NUMBER), "lonlat"),
    (re.compile(r"纬度\s*[:：=]?\s*" + _NUMBER + r".{0,12}?经度\s*[:：=]?\s*" + _NUMBER), "latlon"),
    # two decimals side by side: 116.40,39.91 or 39.91 116.40
    (re.compile(r"(?<![\d.])" + _NUMBER + r"\s*[,，\s]\s*" + _NUMBER + r"(?![\d.])"), "guess"),
]


def coordinates_in(text: str) -> tuple[float, float] | None:
    """(lon, lat) written in `text`, or None."""
    for pattern, order in _COORDINATE_PATTERNS:
        m = pattern.search(text or "")
        if not m:
            continue
        a, b = float(m.group(1)), float(m.group(2))
        if order == "latlon":
            a, b = b, a
        elif order == "guess" and (abs(a) <= 90 < abs(b) or (abs(b) <= 90 and abs(a) < abs(b))):
            # Latitude first when only the second can be a longitude; in China a longitude
            # (73–135) is always the larger of the two.
            a, b = b, a
        if -180 <= a <= 180 and -90 <= b <= 90:
            return a, b
    return None


# What create_case needs of a grid (boundaries are large: never loaded here).
_GRID_FIELDS = (
    "code",
    "name",
    "level",
    "parent",
    "parent__code",
    "parent__name",
    "parent__level",
    "parent__parent",
)
_KEY = 2  # needles are indexed by their first two characters


def _compact(text: str) -> str:
    # Addresses are stored with spaces between road, number and building ("王府井大街 12号院
    # 3号楼"); people write them without: compare both without any whitespace.
    return re.sub(r"\s+", "", str(text or ""))


# The last part of a building's address that names the building within its compound (3号楼,
# 2栋, 5幢, B座). Not a plain house number (王府井大街 12号): the rest would be the whole street.
_BUILDING_PART = re.compile(
    r"^[0-9０-９A-Za-z一二三四五六七八九十甲乙丙丁东西南北中-]+(号楼|栋|幢|座)$"
)


def _compound(address: str) -> str:
    """The compound (小区/院) a building's address names before the building: "王府井大街 12号院
    3号楼" → "王府井大街12号院" (compacted); "" when the address has no such part."""
    parts = str(address or "").split()
    if len(parts) < 2 or not _BUILDING_PART.match(parts[-1]):
        return ""
    compound = _compact("".join(parts[:-1]))
    return compound if len(compound) >= 4 else ""


class PlaceFinder:
    """Finds the place an address names. Built once (buildings and unit names in memory, indexed
    by their first two characters), then answers any number of addresses without a query per
    address, except to load each grid it returns once."""

    def __init__(self) -> None:
        # (needle, rank, kind, payload): the longest needle wins; among equal lengths a
        # building beats a unit and a smaller unit beats a larger one.
        self._index: dict[str, list[tuple[str, int, str, Any]]] = {}
        # compound ("王府井大街 12号院" of "王府井大街 12号院 3号楼") → grid → its buildings' points
        compounds: dict[str, dict[int, list[tuple[float, float]]]] = {}
        for address, lon, lat, grid_id in Building.objects.values_list(
            "address", "lon", "lat", "grid_id"
        ):
            self._add(_compact(address), 99, "building", (lon, lat, grid_id))
            compound = _compound(address)
            if compound:
                compounds.setdefault(compound, {}).setdefault(grid_id, []).append((lon, lat))
        for compound, grids in compounds.items():
            # A compound names the grid more than half of its buildings are in, at their
            # middle; one spread over grids without such a majority names none.
            grid_id, points = max(grids.items(), key=lambda item: (len(item[1]), -item[0]))
            if 2 * len(points) <= sum(len(p) for p in grids.values()):
                continue
            lon = sum(p[0] for p in points) / len(points)
            lat = sum(p[1] for p in points) / len(points)
            self._add(compound, 98, "compound", (lon, lat, grid_id))
        units = OrgUnit.objects.filter(
            level__in=[Level.STREET, Level.COMMUNITY, Level.GRID, Level.MICROGRID]
        ).values_list("name", "code", "level", "centroid_lon", "centroid_lat", "pk")
        for name, code, level, c_lon, c_lat, pk in units:
            self._add(_compact(name), len(code), "unit", (code, level, c_lon, c_lat, pk))
        self._grids: dict[int, OrgUnit | None] = {}
        self._unit_grids: dict[str, int | None] = {}

    def _add(self, needle: str, rank: int, kind: str, payload: Any) -> None:
        if len(needle) >= _KEY:
            self._index.setdefault(needle[:_KEY], []).append((needle, rank, kind, payload))

    def _grid(self, pk: int | None) -> OrgUnit | None:
        if pk is None:
            return None
        if pk not in self._grids:
            self._grids[pk] = (
                OrgUnit.objects.select_related("parent").only(*_GRID_FIELDS).filter(pk=pk).first()
            )
        return self._grids[pk]

    def _grid_of_unit(self, code: str, level: str, lon: Any, lat: Any, pk: int) -> int | None:
        """A grid standing for a street or community: the one at its centre, else its first."""
        if level in (Level.GRID, Level.MICROGRID):
            return pk
        if code not in self._unit_grids:
            found = None
            if lon is not None and lat is not None:
                grid_id = grid_locator().locate(lon, lat)
                if (
                    grid_id is not None
                    and OrgUnit.objects.filter(pk=grid_id, code__codeprefix=code).exists()
                ):
                    found = grid_id
            if found is None:
                found = (
                    OrgUnit.objects.filter(level=Level.GRID, code__codeprefix=code)
                    .order_by("code")
                    .values_list("pk", flat=True)
                    .first()
                )
            self._unit_grids[code] = found
        return self._unit_grids[code]

    def locate(self, text: str) -> Place | None:
        """Coordinates in the text if they fall in a grid; else the longest building address,
        compound (a building's address without the building: 王府井大街12号院), or street,
        community or grid name it contains; None when nothing matches."""
        point = coordinates_in(text)
        if point is not None:
            grid = self._grid(grid_locator().locate(*point))
            if grid is not None:
                return Place(grid, point[0], point[1], "coordinates")
        compact = _compact(text)
        best: tuple[int, int, str, Any] | None = None
        for i in range(len(compact) - _KEY + 1):
            for needle, rank, kind, payload in self._index.get(compact[i : i + _KEY], ()):
                if compact.startswith(needle, i) and (
                    best is None or (len(needle), rank) > (best[0], best[1])
                ):
                    best = (len(needle), rank, kind, payload)
        if best is None:
            return None
        _length, _rank, kind, payload = best
        if kind in ("building", "compound"):
            lon, lat, grid_id = payload
            grid = self._grid(grid_id)
            return Place(grid, lon, lat, kind) if grid is not None else None
        grid = self._grid(self._grid_of_unit(*payload))
        return Place(grid, None, None, "unit") if grid is not None else None


_finders: VersionedCache[PlaceFinder] = VersionedCache(PlaceFinder)


def place_finder() -> PlaceFinder:
    """The process's finder, rebuilt when the boundaries, a unit's name or a building's address
    changed (`TerritoryState`'s versions): building it reads every building and unit name, which
    is too much for each Open311 request at a city's scale."""
    return _finders.get(TerritoryState.current_versions())


def locate_text(text: str) -> Place | None:
    """One address (an Open311 address_string), from the process's finder; its grid is the
    caller's own copy (the finder's are shared by every request of the process)."""
    place = place_finder().locate(text)
    if place is None:
        return None
    return Place(fresh_copy(place.grid), place.lon, place.lat, place.how)


def place_of_address(address: str) -> Place:
    """Where a report without a point is (the residents' form and the patrol report without a
    map): placed by its address as `locate_text` places it, or refused naming the field."""
    place = locate_text(address)
    if place is None:
        raise DomainError(
            _(
                "没有找到这个地址：请写明小区和楼号（如 和平里小区3号楼）或社区名称，"
                "或在地图上选择位置 (address not found: write the estate and building, "
                "or pick the place on the map)"
            ),
            field="address",
            code="not_found",
        )
    return place


def address_problem(address: str) -> DomainError | None:
    """Why a report without a point cannot be placed by `address` (None: it can): for forms
    that name it with their other problems at once."""
    try:
        place_of_address(address)
    except DomainError as exc:
        return exc
    return None
