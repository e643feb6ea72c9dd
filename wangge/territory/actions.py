"""All writes to the territory: units, boundaries, departments and buildings."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import shapely
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from shapely.geometry import shape

from wangge.core.errors import DomainError
from wangge.territory.geo import GeometryError, area_m2, clean_boundary, grid_locator, summary
from wangge.territory.models import (
    CODE_LENGTH,
    Building,
    Department,
    Level,
    OrgUnit,
    TerritoryState,
    parent_level,
)

# A child may stick out of its parent by this share of its own area (traced boundaries of
# neighbouring levels never match exactly) before it counts as "outside the parent".
OUTSIDE_PARENT_TOLERANCE = 0.02


def bump_boundary_version() -> None:
    """Call inside the transaction that changes a boundary; locators rebuild after commit.

    The version moves on by a random stride, not by one: a process that built its point → grid
    index inside a transaction that then rolled back must never see that same number again for
    different boundaries (with +1 the next committed change would reuse it, and the process
    would keep answering from the rolled-back grids).
    """
    _bump("boundary_version")


def bump_places_version() -> None:
    """Call inside the transaction that adds, renames or removes a unit or a building, or
    changes a building's address or position: address finders rebuild after commit (the same
    random stride as the boundary version, for the same reason)."""
    _bump("places_version")


def _bump(field_name: str) -> None:
    stride = secrets.randbelow(1 << 32) + 1
    updated = TerritoryState.objects.filter(pk=1).update(**{field_name: F(field_name) + stride})
    if not updated:
        TerritoryState.objects.create(pk=1, **{field_name: stride})


def check_code(*, code: str, level: str, parent: OrgUnit | None) -> None:
    expected = CODE_LENGTH[level]
    if not code.isdigit() or len(code) != expected:
        raise DomainError(
            _("%(level)s编码须为 %(n)d 位数字，收到 “%(code)s” (%(level)s code: %(n)d digits)")
            % {"level": Level(level).label, "n": expected, "code": code},
            field="code",
        )
    if parent is not None and not code.startswith(parent.code):
        raise DomainError(
            _("编码 %(code)s 须以上级编码 %(parent)s 开头 (code must start with %(parent)s)")
            % {"code": code, "parent": parent.code},
            field="code",
        )


def check_parent(*, level: str, parent: OrgUnit | None) -> None:
    wanted = parent_level(level)
    if wanted is None and parent is not None:
        raise DomainError(_("区/县没有上级单元 (a district has no parent)"), field="parent")
    if wanted is not None and (parent is None or parent.level != wanted):
        raise DomainError(
            _("%(level)s的上级必须是%(wanted)s (the parent of a %(level)s must be a %(wanted)s)")
            % {"level": Level(level).label, "wanted": Level(wanted).label},
            field="parent",
        )


def share_outside(child: Any, parent_geom: Any) -> float:
    child_area = area_m2(child)
    if child_area <= 0:
        return 1.0
    return area_m2(child.difference(parent_geom)) / child_area


@transaction.atomic
def create_unit(
    *,
    code: str,
    name: str,
    level: str,
    parent: OrgUnit | None = None,
    boundary: dict[str, Any] | None = None,
    population: int | None = None,
) -> OrgUnit:
    check_parent(level=level, parent=parent)
    check_code(code=code, level=level, parent=parent)
    if not name.strip():
        raise DomainError(_("请填写名称 (name is required)"), field="name")
    if OrgUnit.objects.filter(code=code).exists():
        raise DomainError(
            _("编码 %(code)s 已存在 (code %(code)s already exists)") % {"code": code}, field="code"
        )
    unit = OrgUnit(code=code, name=name.strip(), level=level, parent=parent, population=population)
    if boundary is not None:
        _apply_boundary(unit, boundary)
        bump_boundary_version()
    bump_places_version()
    unit.save()
    return unit


def check_within_parent(geometry: Any, parent: OrgUnit | None) -> None:
    """A unit lies inside its parent (up to OUTSIDE_PARENT_TOLERANCE of its area): a grid drawn
    elsewhere would take reports from outside the district and stretch every map."""
    outline = _parent_shape(parent) if parent is not None else None
    if outline is None or outline.covers(geometry):
        return
    outside = share_outside(geometry, outline)
    if outside > OUTSIDE_PARENT_TOLERANCE:
        raise DomainError(
            _(
                "%(share)s 的面积在上级 %(parent)s 之外 "
                "(%(share)s of the area lies outside the parent %(parent)s)"
            )
            % {"share": f"{outside:.0%}", "parent": parent.name},  # type: ignore[union-attr]
            field="boundary",
        )


def _apply_boundary(unit: OrgUnit, boundary: dict[str, Any]) -> None:
    try:
        clean = clean_boundary(boundary)
    except GeometryError as exc:
        raise DomainError(str(exc), field="boundary") from None
    check_within_parent(clean.geometry, unit.parent)
    unit.boundary = clean.geojson
    for key, value in summary(clean.geometry).items():
        setattr(unit, key, value)


@transaction.atomic
def update_unit(
    *,
    unit: OrgUnit,
    name: str | None = None,
    boundary: dict[str, Any] | None = None,
    population: int | None = None,
) -> OrgUnit:
    unit = OrgUnit.objects.select_for_update().get(pk=unit.pk)
    fields = ["updated_at"]
    if name is not None:
        if not name.strip():
            raise DomainError(_("请填写名称 (name is required)"), field="name")
        if name.strip() != unit.name:
            bump_places_version()
        unit.name = name.strip()
        fields.append("name")
    if population is not None:
        unit.population = population
        fields.append("population")
    if boundary is not None:
        _apply_boundary(unit, boundary)
        fields += ["boundary", "centroid_lon", "centroid_lat", "bbox", "area_m2"]
        bump_boundary_version()
    unit.save(update_fields=fields)
    return unit


# --- GeoJSON import -------------------------------------------------------------------------

# Two units of one level may share this share of the smaller one's area (traced neighbours
# overlap by slivers: up to 0.2% in the Beijing street data) before they count as overlapping.
OVERLAP_TOLERANCE = 0.02
_CODE_KEYS = ("code", "Code", "CODE", "adcode", "gb")
_PARENT_KEYS = ("parentCode", "parent_code", "parent")
_NAME_KEYS = ("name", "Name", "NAME", "名称")
_NAME_MAX = OrgUnit._meta.get_field("name").max_length or 100
_BATCH = 500
STATISTICAL_CODE_LENGTH = 12


@dataclass
class ImportProblem:
    index: int
    code: str
    reason: str
    name: str = ""

    def describe(self) -> str:
        who = " ".join(part for part in (self.code or "?", self.name) if part)
        return f"#{self.index} ({who}): {self.reason}"


@dataclass
class ImportReport:
    level: str
    total: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    repaired: list[ImportProblem] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """The summary first, then every repaired and every rejected feature by index."""
        created, updated, repaired = len(self.created), len(self.updated), len(self.repaired)
        if self.problems:
            head = _(
                "未导入：%(total)d 个要素中 %(bad)d 个有问题，未写入任何数据 "
                "(rejected: %(bad)d of %(total)d features are bad; nothing was written)"
            ) % {"total": self.total, "bad": len(self.problems)}
        elif self.dry_run:
            head = _(
                "试运行：将新建 %(created)d、更新 %(updated)d、修复 %(repaired)d，未写入任何数据 "
                "(dry run: %(created)d to create, %(updated)d to update, %(repaired)d repaired; "
                "nothing was written)"
            ) % {"created": created, "updated": updated, "repaired": repaired}
        else:
            head = _(
                "已导入：新建 %(created)d、更新 %(updated)d、修复 %(repaired)d "
                "(imported: %(created)d created, %(updated)d updated, %(repaired)d repaired)"
            ) % {"created": created, "updated": updated, "repaired": repaired}
        out = [head]
        out += [f"  repaired {p.describe()}" for p in sorted(self.repaired, key=_by_index)]
        out += [f"  bad {p.describe()}" for p in sorted(self.problems, key=_by_index)]
        return out


def _by_index(problem: ImportProblem) -> int:
    return problem.index


class ImportRejected(DomainError):
    code = "import_rejected"

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(
            _("%(n)d 个要素有问题，未导入任何数据 (%(n)d bad features; nothing was imported)")
            % {"n": len(report.problems)},
            field="features",
        )


def _first_value(props: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = props.get(key)
        if value is None or value == "" or isinstance(value, bool):
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # codes that went through a spreadsheet: 110105001000.0
        return str(value).strip()
    return ""


def _trim_code(raw: str, length: int) -> str:
    """Statistical codes are padded with zeros to exactly 12 digits (110105001000 is street
    110105001, 110105000000 district 110105): drop that padding, keep anything else as it is
    so that a code of any other length is reported, not silently cut."""
    if (
        len(raw) == STATISTICAL_CODE_LENGTH > length
        and raw.isdigit()
        and set(raw[length:]) == {"0"}
    ):
        return raw[:length]
    return raw


@dataclass
class _Planned:
    index: int
    code: str
    name: str
    parent: OrgUnit
    geometry: Any
    geojson: dict[str, Any]


def _parse_features(
    features: list[Any], *, level: str, fixed_parent: OrgUnit | None, report: ImportReport
) -> list[tuple[int, str, str, str, Any]]:
    """First pass, no database: properties checked, (index, code, name, parent code, geometry)."""
    wanted = parent_level(level)
    assert wanted is not None
    parsed = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.problems.append(
                ImportProblem(index, "", _("不是 GeoJSON Feature 对象 (not a GeoJSON Feature)"))
            )
            continue
        props = feature.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            report.problems.append(
                ImportProblem(index, "", _("properties 须为对象 (properties must be an object)"))
            )
            continue
        code = _trim_code(_first_value(props, _CODE_KEYS), CODE_LENGTH[level])
        name = _first_value(props, _NAME_KEYS)
        if not code:
            report.problems.append(
                ImportProblem(index, "", _("缺少编码属性 code (missing property: code)"), name)
            )
            continue
        if code in seen:
            report.problems.append(
                ImportProblem(
                    index,
                    code,
                    _("编码与第 %(n)d 个要素重复 (duplicate code: same as #%(n)d)")
                    % {"n": seen[code]},
                    name,
                )
            )
            continue
        seen[code] = index
        if not name:
            report.problems.append(
                ImportProblem(index, code, _("缺少名称属性 name (missing property: name)"))
            )
            continue
        if len(name) > _NAME_MAX:
            report.problems.append(
                ImportProblem(
                    index,
                    code,
                    _("名称超过 %(n)d 个字 (name longer than %(n)d characters)") % {"n": _NAME_MAX},
                    name[:20],
                )
            )
            continue
        if not code.isdigit() or len(code) != CODE_LENGTH[level]:
            report.problems.append(
                ImportProblem(
                    index,
                    code,
                    _(
                        "%(level)s编码须为 %(n)d 位数字（或补零到 12 位的统计用区划代码） "
                        "(%(level)s code: %(n)d digits, or a statistical code padded to 12)"
                    )
                    % {"level": Level(level).label, "n": CODE_LENGTH[level]},
                    name,
                )
            )
            continue
        if code.endswith("000"):
            report.problems.append(
                ImportProblem(
                    index,
                    code,
                    _(
                        "编码末三位为 000，是上级编码补零而非%(level)s编码 "
                        "(the last three digits are 000: a padded parent code, not a %(level)s code)"
                    )
                    % {"level": Level(level).label},
                    name,
                )
            )
            continue
        declared = _trim_code(_first_value(props, _PARENT_KEYS), CODE_LENGTH[wanted])
        if fixed_parent is not None:
            if declared and declared != fixed_parent.code:
                report.problems.append(
                    ImportProblem(
                        index,
                        code,
                        _(
                            "属性中的上级编码 %(declared)s 与指定的上级 %(parent)s 不符 "
                            "(parentCode %(declared)s does not match the parent %(parent)s)"
                        )
                        % {"declared": declared, "parent": fixed_parent.code},
                        name,
                    )
                )
                continue
            pcode = fixed_parent.code
        else:
            # The code is a materialised path: without a parentCode its prefix names the parent.
            pcode = declared or code[: CODE_LENGTH[wanted]]
        parsed.append((index, code, name, pcode, feature.get("geometry")))
    return parsed


def _parent_shape(parent: OrgUnit) -> Any:
    if not parent.boundary:
        return None
    try:
        geom = clean_boundary(parent.boundary).geometry
    except GeometryError:
        return None  # a stored boundary that no longer parses: nothing to check against
    shapely.prepare(geom)
    return geom


def _check_overlaps(planned: list[_Planned], others: list[OrgUnit], report: ImportReport) -> None:
    """Units of one level must not overlap: a point in two grids would belong to either."""
    geoms = [p.geometry for p in planned] + [shape(u.boundary) for u in others]
    labels = [f"#{p.index}" for p in planned] + [f"{u.code} {u.name}" for u in others]
    tree = shapely.STRtree(geoms)
    pairs: set[tuple[int, int]] = set()
    # Neighbours that only share edges neither overlap nor contain one another.
    for predicate in ("overlaps", "contains"):
        left, right = tree.query(geoms, predicate=predicate)
        pairs.update((int(a), int(b)) for a, b in zip(left, right, strict=True) if a != b)
    flagged: set[int] = set()
    for a, b in sorted({(min(a, b), max(a, b)) for a, b in pairs}):
        later = b if b < len(planned) else a  # blame a feature of this file, the later one
        if later >= len(planned) or later in flagged:
            continue
        smaller = min(area_m2(geoms[a]), area_m2(geoms[b]))
        shared = area_m2(geoms[a].intersection(geoms[b]))
        share = shared / smaller if smaller > 0 else 1.0
        if share > OVERLAP_TOLERANCE:
            other = labels[a if later == b else b]
            p = planned[later]
            report.problems.append(
                ImportProblem(
                    p.index,
                    p.code,
                    _(
                        "与 %(other)s 重叠 %(share)s (overlaps %(other)s by %(share)s of the smaller area)"
                    )
                    % {"other": other, "share": f"{share:.0%}"},
                    p.name,
                )
            )
            flagged.add(later)


def _existing_units(codes: list[str]) -> dict[str, OrgUnit]:
    """Units by code; their old boundaries are not loaded (they are about to be replaced)."""
    found: dict[str, OrgUnit] = {}
    for start in range(0, len(codes), _BATCH):  # SQLite caps the parameters of one query
        batch = OrgUnit.objects.filter(code__in=codes[start : start + _BATCH])
        for unit in batch.defer("boundary", "bbox"):
            found[unit.code] = unit
    return found


@transaction.atomic
def import_boundaries(
    *,
    features: Iterable[Any],
    level: str,
    parent_code: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Create or update units of one level from GeoJSON features: all or nothing.

    Every feature is checked before anything is written: properties (code, name, parent),
    geometry (validated, repaired where possible), containment in the parent, overlap with its
    siblings. Raises ImportRejected carrying the report if any feature is bad; with dry_run
    nothing is written either way. Returns the report.
    """
    if level not in CODE_LENGTH or level == Level.DISTRICT:
        raise DomainError(
            _(
                "层级须为 street、community、grid 或 microgrid "
                "(level must be street, community, grid or microgrid)"
            ),
            field="level",
        )
    wanted = parent_level(level)
    assert wanted is not None
    features = list(features)
    report = ImportReport(level=level, total=len(features), dry_run=dry_run)
    fixed_parent: OrgUnit | None = None
    if parent_code:
        fixed_parent = OrgUnit.objects.filter(code=parent_code).first()
        if fixed_parent is None:
            raise DomainError(
                _("上级编码 %(code)s 不存在 (unknown parent %(code)s)") % {"code": parent_code},
                field="parent",
            )
        if fixed_parent.level != wanted:
            raise DomainError(
                _(
                    "%(code)s 是%(is)s，不能作为%(level)s的上级（须为%(wanted)s） "
                    "(%(code)s is a %(is)s; the parent of a %(level)s must be a %(wanted)s)"
                )
                % {
                    "code": parent_code,
                    "is": fixed_parent.get_level_display(),
                    "level": Level(level).label,
                    "wanted": Level(wanted).label,
                },
                field="parent",
            )

    parsed = _parse_features(features, level=level, fixed_parent=fixed_parent, report=report)
    pcodes = sorted({pcode for _i, _c, _n, pcode, _g in parsed})
    parents = {code: unit for code, unit in _existing_units(pcodes).items() if unit.level == wanted}
    parent_shapes: dict[str, Any] = {}
    planned: list[_Planned] = []
    for index, code, name, pcode, geometry in parsed:
        parent = parents.get(pcode)
        if parent is None:
            report.problems.append(
                ImportProblem(
                    index,
                    code,
                    _("上级%(level)s %(code)s 不存在 (unknown parent %(level)s %(code)s)")
                    % {"level": Level(wanted).label, "code": pcode},
                    name,
                )
            )
            continue
        if not code.startswith(parent.code):
            report.problems.append(
                ImportProblem(
                    index,
                    code,
                    _("编码须以上级编码 %(parent)s 开头 (code must start with %(parent)s)")
                    % {"parent": parent.code},
                    name,
                )
            )
            continue
        try:
            clean = clean_boundary(geometry)
        except GeometryError as exc:
            report.problems.append(ImportProblem(index, code, str(exc), name))
            continue
        if parent.code not in parent_shapes:
            parent_shapes[parent.code] = _parent_shape(parent)
        outline = parent_shapes[parent.code]
        if outline is not None and not outline.covers(clean.geometry):
            outside = share_outside(clean.geometry, outline)
            if outside > OUTSIDE_PARENT_TOLERANCE:
                report.problems.append(
                    ImportProblem(
                        index,
                        code,
                        _(
                            "%(share)s 的面积在上级 %(parent)s 之外 "
                            "(%(share)s of the area lies outside the parent %(parent)s)"
                        )
                        % {"share": f"{outside:.0%}", "parent": parent.name},
                        name,
                    )
                )
                continue
        if clean.repaired:
            report.repaired.append(ImportProblem(index, code, clean.note, name))
        planned.append(_Planned(index, code, name, parent, clean.geometry, clean.geojson))

    existing = _existing_units([p.code for p in planned])
    for p in planned:
        unit = existing.get(p.code)
        if unit is not None and unit.level != level:
            # The code-length constraint makes this unreachable today; keep the guard explicit.
            report.problems.append(
                ImportProblem(
                    p.index,
                    p.code,
                    _("编码已被%(level)s %(name)s 占用 (code already used by %(level)s %(name)s)")
                    % {"level": unit.get_level_display(), "name": unit.name},
                    p.name,
                )
            )
    if planned:
        # Siblings already stored and not replaced by this file must not be overlapped either.
        codes = {p.code for p in planned}
        others = OrgUnit.objects.filter(
            level=level, parent__in={p.parent.pk for p in planned}, boundary__isnull=False
        )
        kept = [pk for pk, code in others.values_list("pk", "code") if code not in codes]
        siblings = [
            unit
            for start in range(0, len(kept), _BATCH)
            for unit in OrgUnit.objects.filter(pk__in=kept[start : start + _BATCH])
        ]
        _check_overlaps(planned, siblings, report)
    for p in planned:
        (report.updated if p.code in existing else report.created).append(p.code)
    if report.problems:
        raise ImportRejected(report)
    if dry_run or not planned:
        return report

    fields = ["name", "parent", "boundary", "centroid_lon", "centroid_lat", "bbox", "area_m2"]
    to_create: list[OrgUnit] = []
    for p in planned:
        values = {"name": p.name, "parent": p.parent, "boundary": p.geojson, **summary(p.geometry)}
        unit = existing.get(p.code)
        if unit is None:
            to_create.append(OrgUnit(code=p.code, level=level, **values))
            continue
        for key, value in values.items():
            setattr(unit, key, value)
        # One UPDATE per unit: bulk_update's CASE expressions cost ten times more to build.
        unit.save(update_fields=[*fields, "updated_at"])
    OrgUnit.objects.bulk_create(to_create, batch_size=_BATCH)
    bump_boundary_version()
    bump_places_version()
    return report


# --- departments and buildings --------------------------------------------------------------


@transaction.atomic
def create_department(
    *,
    name: str,
    kind: str,
    unit: OrgUnit,
    service_areas: Iterable[OrgUnit] = (),
    phone: str = "",
) -> Department:
    if unit.level not in {Level.DISTRICT, Level.STREET}:
        raise DomainError(
            _("职能部门只能设在区或街道 (a department belongs to a district or a street)"),
            field="unit",
        )
    areas = list(service_areas)
    for area in areas:
        if not area.code.startswith(unit.code):
            raise DomainError(
                _("服务区域 %(area)s 不在 %(unit)s 辖区内 (%(area)s is outside %(unit)s)")
                % {"area": area.name, "unit": unit.name},
                field="service_areas",
            )
    if Department.objects.filter(unit=unit, name=name).exists():
        raise DomainError(
            _("%(unit)s已有部门“%(name)s” (department already exists)")
            % {"unit": unit.name, "name": name},
            field="name",
        )
    department = Department.objects.create(name=name, kind=kind, unit=unit, phone=phone)
    if areas:
        department.service_areas.set(areas)
    return department


def locate_grid(*, lon: float, lat: float) -> OrgUnit | None:
    grid_id = grid_locator().locate(lon, lat)
    return OrgUnit.objects.get(pk=grid_id) if grid_id is not None else None


def check_building_place(
    *, lon: float, lat: float, address: str, building: Building | None = None
) -> OrgUnit:
    """The grid a new building at (lon, lat) belongs to; refused outside every grid or where
    that grid already has a building at `address`. A `building` that moves stays in its grid
    (its households, head and records belong to that grid)."""
    grid = locate_grid(lon=lon, lat=lat)
    if grid is None:
        raise DomainError(
            _("位置 %(point)s 不在任何网格内，请检查坐标 (the location is outside every grid)")
            % {"point": f"({lon:.6f}, {lat:.6f})"},
            field="lon",
        )
    if building is not None:
        if grid.pk != building.grid_id:
            raise DomainError(
                _(
                    "位置 %(point)s 在%(other)s，不在本楼所属的%(grid)s，请核对坐标 "
                    "(the position is in another grid: %(other)s)"
                )
                % {
                    "point": f"({lon:.6f}, {lat:.6f})",
                    "other": grid.name,
                    "grid": building.grid.name,
                },
                field="lon",
            )
        return grid
    if Building.objects.filter(grid=grid, address=address).exists():
        raise DomainError(
            _("%(grid)s已有地址为“%(address)s”的楼栋 (address exists)")
            % {"grid": grid.name, "address": address},
            field="address",
        )
    return grid


@transaction.atomic
def create_building(
    *,
    name: str,
    address: str,
    lon: float,
    lat: float,
    unit_count: int = 1,
    floors: int = 1,
    household_count: int = 0,
    building_head: Any = None,
) -> Building:
    grid = check_building_place(lon=lon, lat=lat, address=address)
    bump_places_version()
    return Building.objects.create(
        name=name,
        address=address,
        lon=lon,
        lat=lat,
        grid=grid,
        unit_count=unit_count,
        floors=floors,
        household_count=household_count,
        building_head=building_head,
    )


# --- buildings after new boundaries (网格调整) -------------------------------------------------


@dataclass(frozen=True)
class BuildingMove:
    """A building whose position lies in another grid than the one it belongs to (after new
    boundaries were imported), and why it cannot move now if it cannot."""

    building_id: int
    address: str
    from_grid: str  # code
    to_grid: str | None  # code; None: the position is outside every grid now
    problem: str = ""
    # 党员联户 pairs of this building's households or residents that the move would take
    # across a community boundary (the pairs stay; the community should pair them again).
    cross_community_links: int = 0

    @property
    def movable(self) -> bool:
        return self.to_grid is not None and not self.problem


def plan_building_moves() -> list[BuildingMove]:
    """Every building whose position the current boundaries place in another grid (or in none),
    and whether it can move there now: a grid holds one building per address, and a building
    does not move into a grid that holds its address now, even one about to leave (run again
    once that one has moved)."""
    locator = grid_locator()
    codes = dict(
        OrgUnit.objects.filter(level__in=[Level.GRID, Level.MICROGRID]).values_list("pk", "code")
    )
    found: list[tuple[int, str, int, int | None]] = []
    rows = Building.objects.values_list("pk", "address", "lon", "lat", "grid_id")
    for pk, address, lon, lat, grid_id in rows.order_by("grid__code", "address", "pk"):
        target = locator.locate(lon, lat)
        if target != grid_id:
            found.append((pk, address, grid_id, target))
    if not found:
        return []
    taken = set(
        Building.objects.filter(
            grid_id__in={t for _p, _a, _g, t in found if t is not None}
        ).values_list("grid_id", "address")
    )
    origins = {pk: grid_id for pk, _a, grid_id, _t in found}
    targets = {pk: target for pk, _a, _g, target in found}
    community_length = CODE_LENGTH[Level.COMMUNITY]
    moves = []
    for pk, address, grid_id, target in found:
        problem = ""
        if target is None:
            problem = _("位置不在任何网格内，请核对坐标 (the position is outside every grid)")
        elif (target, address) in taken:
            problem = _(
                "目标网格已有地址相同的楼栋 (the grid already has a building at this address)"
            )
        else:
            taken.add((target, address))
        moves.append(
            BuildingMove(
                building_id=pk,
                address=address,
                from_grid=codes.get(grid_id, ""),
                to_grid=codes.get(target) if target is not None else None,
                problem=problem,
            )
        )
    # Pairs taken across a community (the other side's community after the plan's moves too).
    movable = {m.building_id: targets[m.building_id] for m in moves if m.movable}

    def community(grid_id: int | None) -> str:
        return codes.get(grid_id or 0, "")[:community_length]

    crossing: dict[int, int] = {}
    for mine, other_building, other_grid in _pairs_of(list(movable)):
        if other_building == mine:
            continue  # both sides in the building: they move together
        other_after = movable.get(other_building, other_grid)
        before = community(origins[mine])
        if community(movable[mine]) != community(other_after) and community(other_grid) == before:
            crossing[mine] = crossing.get(mine, 0) + 1
    return [replace(m, cross_community_links=crossing.get(m.building_id, 0)) for m in moves]


def _pairs_of(building_ids: list[int]) -> list[tuple[int, int, int]]:
    """(one of `building_ids`, the building and grid of the pair's other side) for each 党员联户
    pair with a side in one of them (a pair with both sides in two of them: once for each)."""
    # (Pairs are the registry's; the registry depends on the territory, so asked here only.)
    from wangge.registry.models import PartyMemberLink

    wanted = set(building_ids)
    out = []
    for (
        member_building,
        member_grid,
        household_building,
        household_grid,
    ) in PartyMemberLink.objects.filter(
        Q(member__household__building_id__in=wanted) | Q(household__building_id__in=wanted)
    ).values_list(
        "member__household__building_id",
        "member__household__building__grid_id",
        "household__building_id",
        "household__building__grid_id",
    ):
        if member_building in wanted:
            out.append((member_building, household_building, household_grid))
        if household_building in wanted and household_building != member_building:
            out.append((household_building, member_building, member_grid))
    return out


@dataclass
class MoveResult:
    moved: list[int] = field(default_factory=list)
    # Buildings of the plan left where they are (changed since the plan, or their new grid
    # took their address meanwhile).
    skipped: list[int] = field(default_factory=list)
    # Building heads given their building's new grid (a head reads only buildings they head,
    # within the grids of their memberships).
    heads_added: list[int] = field(default_factory=list)


@transaction.atomic
def move_buildings(moves: Iterable[BuildingMove]) -> MoveResult:
    """Move the movable buildings of a plan into the grids their positions are in. Their
    households, residents and records follow (scopes are read through the building's grid);
    what was recorded before keeps the grid it was recorded in. Each is checked again under
    lock: one changed since the plan, or whose new grid took its address meanwhile, is left
    where it is (`skipped`). A building head gets a membership of the new grid, so that they
    keep their building."""
    from django.db import IntegrityError

    from wangge.accounts.models import Membership, Role

    result = MoveResult()
    wanted = {m.building_id: m.to_grid for m in moves if m.movable}
    if not wanted:
        return result
    grids = {u.code: u for u in OrgUnit.objects.filter(code__in=set(wanted.values()))}
    locator = grid_locator()
    now = timezone.now()
    buildings = list(Building.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
    # The units of their heads' building-head memberships, to add the new grid where missing.
    head_units: dict[int, list[str]] = {}
    for user_id, code in Membership.objects.filter(
        user_id__in={b.building_head_id for b in buildings if b.building_head_id},
        role=Role.BUILDING_HEAD,
        unit__isnull=False,
    ).values_list("user_id", "unit__code"):
        head_units.setdefault(user_id, []).append(code)
    for building in buildings:
        target = grids.get(wanted[building.pk] or "")
        if (
            target is None
            or locator.locate(building.lon, building.lat) != target.pk
            or Building.objects.filter(grid=target, address=building.address).exists()
        ):
            result.skipped.append(building.pk)
            continue
        try:
            with transaction.atomic():  # a building added there just now: this one only
                Building.objects.filter(pk=building.pk).update(grid=target, updated_at=now)
        except IntegrityError:
            result.skipped.append(building.pk)
            continue
        result.moved.append(building.pk)
        head = building.building_head_id
        if head is not None and not any(
            target.code.startswith(code) for code in head_units.get(head, [])
        ):
            Membership.objects.create(user_id=head, role=Role.BUILDING_HEAD, unit=target)
            head_units.setdefault(head, []).append(target.code)
            result.heads_added.append(head)
    if result.moved:
        bump_places_version()
    return result
