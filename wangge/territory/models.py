"""The territory tree (区→街道→社区→网格→微网格), departments and buildings.

A unit's code is its materialised path: a child's code is its parent's code plus three digits
(DOMAIN.md §1), so a subtree is `code__codeprefix` (an index range, core/lookups.py) on one
indexed column and ancestors are the code's prefixes. See
docs/decisions/0002-unit-codes-are-the-materialised-path.md.
"""

from typing import Any

from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _

models.CharField.register_lookup(Length)


class Level(models.TextChoices):
    DISTRICT = "district", _("区/县")
    STREET = "street", _("街道/乡镇")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")
    MICROGRID = "microgrid", _("微网格")


LEVEL_ORDER: list[str] = [choice.value for choice in Level]
CODE_LENGTH: dict[str, int] = {
    Level.DISTRICT: 6,
    Level.STREET: 9,
    Level.COMMUNITY: 12,
    Level.GRID: 15,
    Level.MICROGRID: 18,
}


def parent_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index - 1] if index else None


def child_level(level: str) -> str | None:
    index = LEVEL_ORDER.index(level)
    return LEVEL_ORDER[index + 1] if index + 1 < len(LEVEL_ORDER) else None


def ancestor_codes(code: str) -> list[str]:
    """Codes of every ancestor of `code`, root first (the code itself excluded)."""
    lengths = sorted(length for length in CODE_LENGTH.values() if length < len(code))
    return [code[:length] for length in lengths]


class OrgUnit(models.Model):
    code = models.CharField(_("编码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    centroid_lon = models.FloatField(_("中心经度"), null=True, blank=True)
    centroid_lat = models.FloatField(_("中心纬度"), null=True, blank=True)
    bbox = models.JSONField(_("外包框"), null=True, blank=True)
    area_m2 = models.FloatField(_("面积 (m²)"), null=True, blank=True)
    population = models.PositiveIntegerField(_("常住人口"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("辖区单元")
        verbose_name_plural = _("辖区单元")
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "code"], name="orgunit_level_code")]
        constraints = [
            models.CheckConstraint(
                name="orgunit_code_length_matches_level",
                violation_error_message=_(
                    "编码位数与层级不符：区/县 6 位，街道 9 位，社区 12 位，网格 15 位，微网格 18 位 "
                    "(the code's length must match the level: 6, 9, 12, 15 or 18 digits)"
                ),
                condition=(
                    models.Q(level=Level.DISTRICT, code__length=6)
                    | models.Q(level=Level.STREET, code__length=9)
                    | models.Q(level=Level.COMMUNITY, code__length=12)
                    | models.Q(level=Level.GRID, code__length=15)
                    | models.Q(level=Level.MICROGRID, code__length=18)
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def depth(self) -> int:
        return LEVEL_ORDER.index(self.level)

    def is_ancestor_of(self, other: "OrgUnit") -> bool:
        return other.code.startswith(self.code) and other.code != self.code


class DepartmentKind(models.TextChoices):
    CITY_MANAGEMENT = "city_management", _("城管")
    HOUSING = "housing", _("住建")
    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    MARKET = "market", _("市场监管")
    ENVIRONMENT = "environment", _("生态环境")
    POLICE = "police", _("公安派出所")
    JUSTICE = "justice", _("司法所")
    HEALTH = "health", _("卫健")
    EDUCATION = "education", _("教育")
    HUMAN_RESOURCES = "human_resources", _("人社")
    TRANSPORT = "transport", _("交通")
    WATER = "water", _("供水")
    POWER = "power", _("供电")
    GAS = "gas", _("燃气")
    PROPERTY = "property", _("物业/小区")
    OTHER = "other", _("其他")


class Department(models.Model):
    """A handling unit (职能部门): not territory, but attached to a district or street."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=20, choices=DepartmentKind.choices)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属层级单位"),
        on_delete=models.PROTECT,
        related_name="departments",
        help_text=_("部门所在的区或街道"),
    )
    service_areas = models.ManyToManyField(
        OrgUnit,
        verbose_name=_("服务区域"),
        blank=True,
        related_name="serving_departments",
        help_text=_("留空表示服务所属单位的全部辖区"),
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["unit__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="department_unique_name_in_unit")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def level(self) -> str:
        return self.unit.level


class Building(models.Model):
    """A building (楼栋); its grid is derived from its location by the point → grid service."""

    name = models.CharField(_("楼栋名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200)
    lon = models.FloatField(_("经度"))
    lat = models.FloatField(_("纬度"))
    grid = models.ForeignKey(
        OrgUnit,
        verbose_name=_("所属网格"),
        on_delete=models.PROTECT,
        related_name="buildings",
    )
    unit_count = models.PositiveSmallIntegerField(_("单元数"), default=1)
    floors = models.PositiveSmallIntegerField(_("层数"), default=1)
    household_count = models.PositiveIntegerField(_("户数"), default=0)
    building_head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("楼栋长"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_buildings",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["grid__code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "address"], name="building_unique_address_in_grid"
            )
        ]

    def __str__(self) -> str:
        return self.address


class TerritoryState(models.Model):
    """One row: the boundary version, bumped in the same transaction as any boundary change, and
    the places version, bumped with any change to a unit's name or a building's address.

    Processes compare them with the versions their point → grid index and their address finder
    (`cases.matching.place_finder`) were built from.
    """

    boundary_version = models.PositiveBigIntegerField(default=0)
    places_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("辖区版本")

    def __str__(self) -> str:
        return f"boundary v{self.boundary_version}"

    @classmethod
    def current_versions(cls) -> tuple[int, int]:
        """(boundary version, places version), in one query."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT boundary_version, places_version FROM territory_territorystate WHERE id = 1"
            )
            row: Any = cursor.fetchone()
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)

    @classmethod
    def current_version(cls) -> int:
        # Asked on every point → grid lookup (case intake): plain SQL, no ORM query building.
        with connection.cursor() as cursor:
            cursor.execute("SELECT boundary_version FROM territory_territorystate WHERE id = 1")
            row: Any = cursor.fetchone()
        return int(row[0] or 0) if row else 0
