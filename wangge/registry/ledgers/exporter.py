"""Exporting the ledgers of a user's scope to .xlsx, streamed (openpyxl write-only, rows read in
chunks). ID and phone numbers are masked; the full numbers only for a user who may reveal them
in those buildings, with a reason, and every revealing export writes one audit row per grid
before the file is made."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import batched
from typing import IO, Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from wangge.core.errors import DomainError, PermissionDenied
from wangge.registry import protection, selectors
from wangge.registry.actions import MIN_REASON_LENGTH
from wangge.registry.ledgers import sheets
from wangge.registry.ledgers.sheets import SheetSpec
from wangge.registry.models import (
    AccessAction,
    AccessAudit,
    DisabilityLevel,
    Enterprise,
    Household,
    PoliticalStatus,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Sex,
    SpecialGroup,
    Tenure,
)
from wangge.territory.models import Building, OrgUnit

CHUNK = 2000
KINDS = ("households", "residents", "enterprises")


@dataclass
class ExportSummary:
    rows: dict[str, int] = field(default_factory=dict)
    revealed: bool = False
    audits: int = 0


def _buildings(actor: Any, *, building_id: int | None, reveal: bool) -> QuerySet[Building]:
    buildings = selectors.building_list(user=actor).select_related(None)
    if building_id is not None:
        buildings = buildings.filter(pk=building_id)
    if reveal:
        # Full numbers only where the actor may reveal them (community staff or above).
        allowed = [b.pk for b in buildings.select_related("grid") if selectors.can_reveal(actor, b)]
        buildings = Building.objects.filter(pk__in=allowed)
    return buildings


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise DomainError(
            _("请说明导出完整信息的事由，至少 %(n)d 个字 (reason: at least %(n)d characters)")
            % {"n": MIN_REASON_LENGTH},
            field="reason",
        )
    if len(reason) > 500:
        raise DomainError(_("事由最多 500 个字 (reason: at most 500 characters)"), field="reason")
    return reason


@transaction.atomic
def _audit(actor: Any, buildings: QuerySet[Building], kinds: tuple[str, ...], reason: str) -> int:
    """One audit row per grid whose full numbers leave in the file."""
    per_grid: dict[int, dict[str, int]] = defaultdict(dict)
    if "residents" in kinds:
        for grid_id, n in (
            Resident.objects.filter(household__building__in=buildings)
            .values("household__building__grid_id")
            .annotate(n=Count("pk"))
            .values_list("household__building__grid_id", "n")
        ):
            per_grid[grid_id]["residents"] = n
    if "enterprises" in kinds:
        for grid_id, n in (
            Enterprise.objects.filter(building__in=buildings)
            .values("building__grid_id")
            .annotate(n=Count("pk"))
            .values_list("building__grid_id", "n")
        ):
            per_grid[grid_id]["enterprises"] = n
    grids = OrgUnit.objects.in_bulk(list(per_grid))
    fields = ",".join(
        f
        for k, f in (("residents", "id_number,mobile"), ("enterprises", "contact_mobile"))
        if k in kinds
    )
    audits = [
        AccessAudit(
            user=actor,
            user_label=str(actor)[:100],
            action=AccessAction.EXPORT,
            object_type="grid",
            object_id=grid_id,
            object_label=_("%(grid)s 台账导出：居民 %(r)d 人，企业 %(e)d 家")
            % {
                "grid": grids[grid_id].name,
                "r": counts.get("residents", 0),
                "e": counts.get("enterprises", 0),
            },
            fields=fields[:100],
            grid_code=grids[grid_id].code,
            reason=reason,
        )
        for grid_id, counts in sorted(per_grid.items())
    ]
    AccessAudit.objects.bulk_create(audits)
    return len(audits)


def export_ledgers(
    *,
    actor: Any,
    out: IO[bytes],
    kinds: tuple[str, ...] = KINDS,
    building_id: int | None = None,
    reveal_reason: str = "",
) -> ExportSummary:
    """Write the actor's households, residents and enterprises (those of `kinds`) to `out` in
    the template's layout. Masked unless `reveal_reason` is given; then only buildings where
    the actor may reveal, and audited (PermissionDenied if there are none)."""
    reveal = bool(reveal_reason)
    summary = ExportSummary(revealed=reveal)
    if reveal:
        reveal_reason = _check_reason(reveal_reason)
    buildings = _buildings(actor, building_id=building_id, reveal=reveal)
    if reveal:
        if not buildings.exists():
            raise PermissionDenied(
                _(
                    "导出完整信息需要社区工作者及以上权限 (a full export needs community staff or above)"
                )
            )
        summary.audits = _audit(actor, buildings, kinds, reveal_reason)
    workbook = Workbook(write_only=True)
    for spec in sheets.SHEETS:
        if spec.key not in kinds:
            continue
        rows, count = _ROWS[spec.key](buildings, reveal)
        summary.rows[spec.key] = _write_sheet(workbook, spec, rows, count)
    _write_notes(workbook, actor, summary, reveal_reason)
    workbook.save(out)
    return summary


def _write_sheet(workbook: Any, spec: SheetSpec, rows: Iterator[list[Any]], count: int) -> int:
    sheet = workbook.create_sheet(spec.title)
    last = get_column_letter(len(spec.columns))
    # openpyxl's write-only sheets leave out <dimension>; readers without it (openpyxl itself)
    # parse the whole sheet twice. The count is read just before the rows: close enough.
    sheet.calculate_dimension = lambda: f"A1:{last}{count + 1}"
    for index, column in enumerate(spec.columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = column.width + 2
    bold = Font(bold=True)
    header = []
    for column in spec.columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    written = 0
    for row in rows:
        sheet.append(row)
        written += 1
    return written


def _label(choices: Any, value: str) -> str:
    return sheets.chinese_label(choices, value) if value else ""


def _households(buildings: QuerySet[Building], reveal: bool) -> tuple[Iterator[list[Any]], int]:
    qs = Household.objects.filter(building__in=buildings).order_by(
        "building__grid__code", "building_id", "unit__number", "room"
    )
    count = qs.count()

    def rows() -> Iterator[list[Any]]:
        for h in qs.values_list(
            "building__address",
            "building__grid__code",
            "unit__number",
            "room",
            "tenure",
            "floor_area_m2",
            "move_in_date",
        ).iterator(chunk_size=CHUNK):
            address, grid, unit, room, tenure, area, move_in = h
            yield [
                None,
                address,
                grid,
                unit,
                room,
                _label(Tenure, tenure),
                float(area) if area is not None else None,
                move_in,
            ]

    return rows(), count


def _residents(buildings: QuerySet[Building], reveal: bool) -> tuple[Iterator[list[Any]], int]:
    qs = Resident.objects.filter(household__building__in=buildings).order_by(
        "household__building__grid__code",
        "household__building_id",
        "household__unit__number",
        "household__room",
        "pk",
    )
    count = qs.count()
    id_field, mobile_field = (
        ("id_number_encrypted", "mobile_encrypted")
        if reveal
        else ("id_number_masked", "mobile_masked")
    )

    def rows() -> Iterator[list[Any]]:
        values = qs.values_list(
            "pk",
            "household__building__address",
            "household__building__grid__code",
            "household__unit__number",
            "household__room",
            "name",
            "sex",
            "birth_date",
            id_field,
            mobile_field,
            "ethnicity",
            "political_status",
            "residence_type",
            "relation_to_head",
        ).iterator(chunk_size=CHUNK)
        for chunk in batched(values, CHUNK):
            tags: dict[int, list[tuple[str, str]]] = defaultdict(list)
            for resident_id, group, level in (
                ResidentTag.objects.filter(resident_id__in=[r[0] for r in chunk])
                .order_by("resident_id", "group")
                .values_list("resident_id", "group", "disability_level")
            ):
                tags[resident_id].append((group, level))
            for r in chunk:
                (pk, address, grid, unit, room, name, sex, birth, id_number, mobile) = r[:10]
                ethnicity, political, residence, relation = r[10:]
                if reveal:
                    id_number = protection.open_value(id_number, purpose=protection.ID_NUMBER)
                    mobile = protection.open_value(mobile, purpose=protection.MOBILE)
                own = tags.get(pk, [])
                level = next((lv for g, lv in own if g == SpecialGroup.DISABILITY), "")
                yield [
                    None,
                    address,
                    grid,
                    unit,
                    room,
                    name,
                    _label(Sex, sex),
                    birth,
                    id_number,
                    mobile,
                    ethnicity,
                    _label(PoliticalStatus, political),
                    _label(ResidenceType, residence),
                    _label(Relation, relation),
                    "、".join(_label(SpecialGroup, g) for g, _lv in own),
                    _label(DisabilityLevel, level),
                ]

    return rows(), count


def _enterprises(buildings: QuerySet[Building], reveal: bool) -> tuple[Iterator[list[Any]], int]:
    qs = Enterprise.objects.filter(building__in=buildings).order_by(
        "building__grid__code", "building_id", "name", "pk"
    )
    count = qs.count()
    mobile_field = "contact_mobile_encrypted" if reveal else "contact_mobile_masked"
    yes, no = "是", "否"

    def rows() -> Iterator[list[Any]]:
        for e in qs.values_list(
            "name",
            "credit_code",
            "building__address",
            "building__grid__code",
            "contact_name",
            mobile_field,
            "employee_count",
            "has_party_organization",
            "has_union",
        ).iterator(chunk_size=CHUNK):
            name, code, address, grid, contact, mobile, employees, party, union = e
            if reveal:
                mobile = protection.open_value(mobile, purpose=protection.ENTERPRISE_MOBILE)
            yield [
                None,
                name,
                code,
                address,
                grid,
                contact,
                mobile,
                employees,
                yes if party else no,
                yes if union else no,
            ]

    return rows(), count


_ROWS = {"households": _households, "residents": _residents, "enterprises": _enterprises}


def _write_notes(workbook: Any, actor: Any, summary: ExportSummary, reason: str) -> None:
    sheet = workbook.create_sheet(sheets.NOTES_TITLE)
    sheet.append([str(_("人房数据台账导出"))])
    sheet.append([str(_("导出人")), str(actor)])
    sheet.append([str(_("导出时间")), timezone.localtime().strftime("%Y-%m-%d %H:%M")])
    if summary.revealed:
        sheet.append([str(_("号码")), str(_("完整（已记录查看事由）"))])
        sheet.append([str(_("事由")), reason])
    else:
        sheet.append(
            [
                str(_("号码")),
                str(_("身份证号、手机号已脱敏；脱敏的身份证号不能再导入，请另行填写完整号码")),
            ]
        )
    for spec in sheets.SHEETS:
        if spec.key in summary.rows:
            sheet.append([str(spec.label), summary.rows[spec.key]])
