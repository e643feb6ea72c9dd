"""All writes to the territory: units, boundaries, departments and buildings."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
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
    """Call inside the transaction that changes a boundary; locators rebuild after commit."""
    updated = TerritoryState.objects.filter(pk=1).update(boundary_version=F("boundary_version") + 1)
    if not updated:
        TerritoryState.objects.create(pk=1, boundary_version=1)


def check_code(*, code: str, level: str, parent: OrgUnit | None) -> None:
    expected = CODE_LENGTH[level]
    if not code.isdigit() or len(code) != expected:
        raise DomainError(
            f"{Level(level).label}编码须为 {expected} 位数字，收到 “{code}” "
            f"({level} code must be {expected} digits)",
            field="code",
        )
    if parent is not None and not code.startswith(parent.code):
        raise DomainError(
            f"编码 {code} 须以上级编码 {parent.code} 开头 (code must start with the parent's code)",
            field="code",
        )


def check_parent(*, level: str, parent: OrgUnit | None) -> None:
    wanted = parent_level(level)
    if wanted is None and parent is not None:
        raise DomainError("区/县没有上级单元 (a district has no parent)", field="parent")
    if wanted is not None and (parent is None or parent.level != wanted):
        raise DomainError(
            f"{Level(level).label}的上级必须是{Level(wanted).label} "
            f"(the parent of a {level} must be a {wanted})",
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
        raise DomainError("请填写名称 (name is required)", field="name")
    if OrgUnit.objects.filter(code=code).exists():
        raise DomainError(f"编码 {code} 已存在 (code already exists)", field="code")
    unit = OrgUnit(code=code, name=name.strip(), level=level, parent=parent, population=population)
    if boundary is not None:
        _apply_boundary(unit, boundary)
        bump_boundary_version()
    unit.save()
    return unit


def _apply_boundary(unit: OrgUnit, boundary: dict[str, Any]) -> None:
    try:
        clean = clean_boundary(boundary)
    except GeometryError as exc:
        raise DomainError(str(exc), field="boundary") from None
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
            raise DomainError("请填写名称 (name is required)", field="name")
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


@dataclass
class ImportProblem:
    index: int
    code: str
    reason: str


@dataclass
class ImportReport:
    level: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    repaired: list[ImportProblem] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        out = [
            f"{len(self.created)} to create, {len(self.updated)} to update, "
            f"{len(self.repaired)} repaired, {len(self.problems)} rejected"
        ]
        out += [f"  repaired feature #{p.index} ({p.code}): {p.reason}" for p in self.repaired]
        out += [f"  bad feature #{p.index} ({p.code or '?'}): {p.reason}" for p in self.problems]
        return out


class ImportRejected(DomainError):
    code = "import_rejected"

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(
            f"{len(report.problems)} 个要素有问题，未导入任何数据 "
            f"({len(report.problems)} bad features; nothing was imported)",
            field="features",
        )


def _feature_code(props: dict[str, Any], level: str) -> str:
    for key in ("code", "Code", "CODE", "adcode", "gb"):
        if props.get(key) not in (None, ""):
            raw = str(props[key]).strip()
            break
    else:
        return ""
    length = CODE_LENGTH[level]
    # Statistical codes are padded with zeros to 12 digits (110105001000): trim the padding.
    if len(raw) > length and raw.isdigit() and set(raw[length:]) <= {"0"}:
        return raw[:length]
    return raw


def _feature_parent_code(props: dict[str, Any], level: str) -> str:
    wanted = parent_level(level)
    raw = str(props.get("parentCode") or props.get("parent_code") or props.get("parent") or "")
    if not raw or wanted is None:
        return ""
    length = CODE_LENGTH[wanted]
    if len(raw) > length and raw.isdigit() and set(raw[length:]) <= {"0"}:
        return raw[:length]
    return raw.strip()


def _feature_name(props: dict[str, Any]) -> str:
    for key in ("name", "Name", "NAME", "名称"):
        if props.get(key):
            return str(props[key]).strip()
    return ""


def import_boundaries(
    *,
    features: Iterable[Any],
    level: str,
    parent_code: str | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Create or update units of one level from GeoJSON features: all or nothing.

    Raises ImportRejected (carrying the report) if any feature is bad; with dry_run nothing is
    written either way.
    """
    if level not in CODE_LENGTH or level == Level.DISTRICT:
        raise DomainError(
            "层级须为 street、community、grid 或 microgrid (level must be street|community|grid|microgrid)",
            field="level",
        )
    report = ImportReport(level=level, dry_run=dry_run)
    fixed_parent: OrgUnit | None = None
    if parent_code:
        fixed_parent = OrgUnit.objects.filter(code=parent_code).first()
        if fixed_parent is None:
            raise DomainError(f"上级编码 {parent_code} 不存在 (unknown parent)", field="parent")
        if fixed_parent.level != parent_level(level):
            raise DomainError(
                f"{parent_code} 是{fixed_parent.get_level_display()}，不能作为{Level(level).label}的上级 "
                f"(wrong parent level)",
                field="parent",
            )

    planned: list[tuple[str, str, OrgUnit, dict[str, Any], Any]] = []
    seen: dict[str, int] = {}
    parents: dict[str, OrgUnit | None] = {}
    parent_shapes: dict[str, Any] = {}
    for index, feature in enumerate(features):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            report.problems.append(ImportProblem(index, "", "不是 GeoJSON Feature (not a Feature)"))
            continue
        props = feature.get("properties") or {}
        code = _feature_code(props, level)
        name = _feature_name(props)
        if not code:
            report.problems.append(ImportProblem(index, "", "缺少编码属性 code (missing code)"))
            continue
        if code in seen:
            report.problems.append(
                ImportProblem(index, code, f"编码与第 {seen[code]} 个要素重复 (duplicate code)")
            )
            continue
        seen[code] = index
        if not name:
            report.problems.append(ImportProblem(index, code, "缺少名称属性 name (missing name)"))
            continue
        parent = fixed_parent
        if parent is None:
            pcode = (
                _feature_parent_code(props, level)
                or code[: CODE_LENGTH[parent_level(level) or level]]
            )
            if pcode not in parents:
                parents[pcode] = OrgUnit.objects.filter(
                    code=pcode, level=parent_level(level)
                ).first()
            parent = parents[pcode]
            if parent is None:
                report.problems.append(
                    ImportProblem(index, code, f"上级 {pcode} 不存在 (unknown parent {pcode})")
                )
                continue
        try:
            check_code(code=code, level=level, parent=parent)
        except DomainError as exc:
            report.problems.append(ImportProblem(index, code, exc.message))
            continue
        try:
            clean = clean_boundary(feature.get("geometry"))
        except GeometryError as exc:
            report.problems.append(ImportProblem(index, code, str(exc)))
            continue
        if clean.repaired:
            report.repaired.append(ImportProblem(index, code, clean.note))
        if parent.boundary:
            if parent.code not in parent_shapes:
                parent_shapes[parent.code] = shape(parent.boundary).buffer(0)
            outside = share_outside(clean.geometry, parent_shapes[parent.code])
            if outside > OUTSIDE_PARENT_TOLERANCE:
                report.problems.append(
                    ImportProblem(
                        index,
                        code,
                        f"{outside:.0%} 的面积在上级 {parent.name} 之外 "
                        f"({outside:.0%} of the area lies outside the parent)",
                    )
                )
                continue
        planned.append((code, name, parent, clean.geojson, clean.geometry))

    existing = {u.code: u for u in OrgUnit.objects.filter(code__in=[p[0] for p in planned])}
    for code, *_rest in planned:
        if code in existing and existing[code].level != level:
            report.problems.append(
                ImportProblem(seen[code], code, f"编码已被{existing[code].get_level_display()}占用")
            )
    for code, *_rest in planned:
        (report.updated if code in existing else report.created).append(code)
    if report.problems:
        raise ImportRejected(report)
    if dry_run:
        return report
    with transaction.atomic():
        for code, name, parent, geojson, geom in planned:
            values = {"name": name, "parent": parent, "boundary": geojson, **summary(geom)}
            if code in existing:
                unit = existing[code]
                for key, value in values.items():
                    setattr(unit, key, value)
                unit.save(update_fields=[*values.keys(), "updated_at"])
            else:
                OrgUnit.objects.create(code=code, level=level, **values)
        bump_boundary_version()
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
            "职能部门只能设在区或街道 (a department belongs to a district or a street)",
            field="unit",
        )
    areas = list(service_areas)
    for area in areas:
        if not area.code.startswith(unit.code):
            raise DomainError(
                f"服务区域 {area.name} 不在 {unit.name} 辖区内 (service area outside the unit)",
                field="service_areas",
            )
    if Department.objects.filter(unit=unit, name=name).exists():
        raise DomainError(f"{unit.name}已有部门“{name}” (department already exists)", field="name")
    department = Department.objects.create(name=name, kind=kind, unit=unit, phone=phone)
    if areas:
        department.service_areas.set(areas)
    return department


def locate_grid(*, lon: float, lat: float) -> OrgUnit | None:
    grid_id = grid_locator().locate(lon, lat)
    return OrgUnit.objects.get(pk=grid_id) if grid_id is not None else None


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
    grid = locate_grid(lon=lon, lat=lat)
    if grid is None:
        raise DomainError(
            f"位置 ({lon:.6f}, {lat:.6f}) 不在任何网格内，请检查坐标 (the location is outside every grid)",
            field="location",
        )
    if Building.objects.filter(grid=grid, address=address).exists():
        raise DomainError(
            f"{grid.name}已有地址为“{address}”的楼栋 (address exists)", field="address"
        )
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
