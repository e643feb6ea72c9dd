"""Validating and writing ledger rows: the registry's bulk write path.

A dry run and an import are one pass over the file, read as a stream in batches. The dry run
only reads the database; the import writes each batch (bulk_create / bulk_update) inside one
transaction and rolls it back if any cell was wrong: all or nothing. Rows are validated by the
same rules as the registry's actions (`clean_resident`, the GB 11643 / GB 32100 / mobile
validators) and only into buildings the actor may change (selectors.can_write). Re-importing
a file updates the records it names instead of adding them again: households by building +
unit + room, residents by ID number (through its keyed digest), enterprises by credit code.
"""

import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import IO, Any
from zipfile import BadZipFile

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.core.errors import DomainError, ValidationFailed
from wangge.core.sql import Insert
from wangge.core.validators import (
    ID_NUMBER_RE,
    MOBILE_RE,
    id_number_birth_date,
    id_number_check_char,
    id_number_sex,
    normalize_id_number,
    validate_credit_code,
    validate_mobile,
)
from wangge.registry import crypto, protection, selectors
from wangge.registry.actions import ResidentInput, _area, _text, clean_resident
from wangge.registry.ledgers import sheets
from wangge.registry.ledgers.sheets import CellProblem, Column, SheetLayout, SheetSpec
from wangge.registry.models import (
    BuildingUnit,
    ChangeKind,
    Enterprise,
    Household,
    PartyMemberLink,
    PoliticalStatus,
    Relation,
    ResidenceType,
    Resident,
    ResidentChange,
    ResidentTag,
    Sex,
    SpecialGroup,
)
from wangge.registry.selectors import PARTY_STATUSES

BATCH_SIZE = 2000
MAX_ROWS = 2_000_000
LISTED_ERRORS = 200
# Residents an import would move to another household or rename, listed for the uploader to
# check before importing (the counts are whole).
LISTED_NOTICES = 50
MAX_UNIT_NUMBER = 999


@dataclass(frozen=True)
class CellError:
    """One bad cell: where it is, what it holds (identifiers masked) and what to do."""

    sheet: str
    row: int
    column: str
    value: str
    message: str
    code: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RowNotice:
    """A row that is valid but changes what the uploader may not expect: a resident found by
    their ID number who would move to another household, or be renamed."""

    sheet: str
    row: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SheetCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Of the updated residents: how many move to another household, how many are renamed.
    moved: int = 0
    renamed: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class LedgerResult:
    rows: int = 0
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    counts: dict[str, SheetCounts] = field(default_factory=dict)
    notices: list[RowNotice] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0


ErrorCallback = Callable[[CellError], None]
# (rows read so far, rows the file announces or None)
ProgressCallback = Callable[[int, int | None], None]


# SQLite's page cache while a ledger is read or written (KiB; SQLite's default is 2 MB). The
# digests' indexes take random inserts: with a million residents their pages no longer fit in
# 2 MB and every row pays several page reads. Part of the process's memory, hence modest.
SQLITE_CACHE_KIB = 64 * 1024


@contextmanager
def _sqlite_cache() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


class _RollBack(Exception):
    """Raised inside the import's transaction when any cell was wrong."""


def check_ledger(
    *,
    actor: Any,
    source: str | IO[bytes],
    on_error: ErrorCallback | None = None,
    progress: ProgressCallback | None = None,
) -> LedgerResult:
    """The dry run: every bad cell of the file, and what an import would create and update.
    Reads the database, writes nothing."""
    run = _Run(actor=actor, write=False, on_error=on_error, progress=progress)
    run.process(source)
    return run.result


def import_ledger(
    *,
    actor: Any,
    source: str | IO[bytes],
    on_error: ErrorCallback | None = None,
    progress: ProgressCallback | None = None,
) -> LedgerResult:
    """Validate and write the whole file in one transaction; if any cell is wrong nothing is
    written (`result.written` is False and `result.errors` says why)."""
    run = _Run(actor=actor, write=True, on_error=on_error, progress=progress)
    try:
        with transaction.atomic():
            run.process(source)
            if run.result.error_count:
                raise _RollBack
    except _RollBack:
        run.result.written = False
    else:
        run.result.written = True
    return run.result


# --- keys -----------------------------------------------------------------------------------


def _key64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), signed=True)


def _household_key(building_id: int, unit: int, room: str) -> int:
    return _key64(f"{building_id}\x1f{unit}\x1f{room}")


class _KeyLog:
    """Every key of a sheet with its row, 12 bytes a row, so that rows repeating an earlier row
    are found at the end of the sheet without a dictionary of a million entries."""

    def __init__(self) -> None:
        self.keys = array("q")
        self.rows = array("l")

    def add(self, key: int, row: int) -> None:
        self.keys.append(key)
        self.rows.append(row)

    def repeats(self) -> list[tuple[int, int]]:
        """(row, first row with the same key) for every repeat, in row order."""
        if len(self.keys) < 2:
            return []
        keys = np.frombuffer(self.keys, dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
        first = np.maximum.accumulate(np.where(starts, np.arange(len(ordered)), 0))
        found = [(self.rows[order[i]], self.rows[order[first[i]]]) for i in np.flatnonzero(~starts)]
        return sorted(found)


# --- buildings in the actor's scope ---------------------------------------------------------


def _address_key(address: str) -> str:
    return "".join(address.split())


@dataclass(frozen=True)
class _Building:
    pk: int
    grid_code: str
    writable: bool


class _Buildings:
    """The buildings the actor sees, by address; which of them the actor may change."""

    def __init__(self, actor: Any) -> None:
        self.by_address: dict[str, list[_Building]] = {}
        self.writable_ids: set[int] = set()
        self.grid_of: dict[int, str] = {}
        self._found: dict[tuple[str, str], _Building | CellProblem] = {}
        for building in (
            selectors.building_list(user=actor).select_related(None).select_related("grid")
        ):
            writable = selectors.can_write(actor, building)
            entry = _Building(pk=building.pk, grid_code=building.grid.code, writable=writable)
            self.by_address.setdefault(_address_key(building.address), []).append(entry)
            self.grid_of[building.pk] = building.grid.code
            if writable:
                self.writable_ids.add(building.pk)

    def find(self, address: str, grid_code: str) -> _Building:
        """The building a row names (rows of one building follow each other: remembered)."""
        key = (address, grid_code)
        found = self._found.get(key)
        if found is None:
            try:
                found = self._find(address, grid_code)
            except CellProblem as problem:
                found = problem
            if len(self._found) > 100_000:
                self._found.clear()
            self._found[key] = found
        if isinstance(found, CellProblem):
            raise found
        return found

    def _find(self, address: str, grid_code: str) -> _Building:
        candidates = self.by_address.get(_address_key(address), [])
        if grid_code:
            candidates = [b for b in candidates if b.grid_code == grid_code]
        if not candidates:
            raise CellProblem(
                _(
                    "找不到楼栋「%(address)s」，或它不在您的管辖范围内：请核对地址和网格编码"
                    " (address: no such building in your area)"
                )
                % {"address": address},
                code="unknown_building",
            )
        if len(candidates) > 1:
            raise CellProblem(
                _(
                    "地址「%(address)s」对应多个楼栋，请填写网格编码"
                    " (address: several buildings have it; add the grid code)"
                )
                % {"address": address},
                code="ambiguous_building",
            )
        building = candidates[0]
        if not building.writable:
            raise CellProblem(
                _(
                    "无权修改楼栋「%(address)s」的人房数据"
                    " (no permission to change this building's registry)"
                )
                % {"address": address},
                code="forbidden",
            )
        return building


# --- one pass over a file -------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    raw: dict[str, Any]
    values: dict[str, Any]
    building_id: int = 0


class _Run:
    def __init__(
        self,
        *,
        actor: Any,
        write: bool,
        on_error: ErrorCallback | None,
        progress: ProgressCallback | None,
    ) -> None:
        self.actor = actor
        self.write = write
        self.on_error = on_error
        self.progress = progress
        self.result = LedgerResult()
        self.buildings: _Buildings | None = None
        # (building id, unit number) → unit id, filled per building as batches need them.
        self.units: dict[tuple[int, int], int] = {}
        self.units_loaded: set[int] = set()
        # Dry run: households the file's 住户 sheet would create, for its 居民 sheet.
        self.pending_households: set[int] = set()
        self.now = timezone.now()
        self.total: int | None = None
        self.today = timezone.localdate()
        self.inserters: dict[type[Model], _Inserter] = {}

    def _inserter(self, model: type[Model]) -> "_Inserter":
        inserter = self.inserters.get(model)
        if inserter is None:
            inserter = self.inserters[model] = _Inserter(model, self.now)
        return inserter

    # errors ---------------------------------------------------------------------------------

    def error(
        self, spec: SheetSpec | None, row: int, column: Column | None, raw: Any, problem: Any
    ) -> None:
        message = getattr(problem, "message", str(problem))
        code = getattr(problem, "code", "invalid") or "invalid"
        entry = CellError(
            sheet=spec.title if spec else "",
            row=row,
            column=column.header if column else "",
            value=sheets.display_value(column, raw) if column else "",
            message=message,
            code=code,
        )
        self.result.error_count += 1
        if len(self.result.errors) < LISTED_ERRORS:
            self.result.errors.append(entry)
        if self.on_error is not None:
            self.on_error(entry)

    # the file -------------------------------------------------------------------------------

    def process(self, source: str | IO[bytes]) -> None:
        with _sqlite_cache():
            self._process(source)

    def _process(self, source: str | IO[bytes]) -> None:
        try:
            workbook = sheets.open_workbook(source)
        except (BadZipFile, KeyError, ValueError, OSError, TypeError):
            self.error(
                None,
                0,
                None,
                "",
                CellProblem(
                    _(
                        "无法读取该文件：请上传 Excel 工作簿（.xlsx），可先下载模板填写"
                        " (the file is not an .xlsx workbook; start from the template)"
                    ),
                    code="not_xlsx",
                ),
            )
            return
        try:
            layouts = sheets.find_sheets(workbook)
            if not layouts:
                self.error(
                    None,
                    0,
                    None,
                    "",
                    CellProblem(
                        _(
                            "文件中没有「住户」「居民」或「企业」表，请使用下载的模板"
                            " (no 住户, 居民 or 企业 sheet: use the template)"
                        ),
                        code="no_sheets",
                    ),
                )
                return
            announced = [layout.announced_rows for layout in layouts]
            if all(n is not None for n in announced):
                self.total = sum(n or 0 for n in announced)
            self.buildings = _Buildings(self.actor)
            for layout in layouts:
                self.result.counts[layout.spec.key] = SheetCounts()
            for layout in layouts:
                self._sheet(layout)
        finally:
            workbook.close()

    def _sheet(self, layout: SheetLayout) -> None:
        spec = layout.spec
        for header in layout.duplicates:
            self.error(
                spec,
                1,
                None,
                "",
                CellProblem(
                    _("表头「%(header)s」出现了两次 (the column %(header)s appears twice)")
                    % {"header": header},
                    code="duplicate_column",
                ),
            )
        for column in layout.missing:
            self.error(
                spec,
                1,
                column,
                "",
                CellProblem(
                    _("缺少必填列「%(header)s」 (the required column %(header)s is missing)")
                    % {"header": column.header},
                    code="missing_column",
                ),
            )
        if layout.missing or layout.duplicates:
            return
        handler = {
            "households": self._households,
            "residents": self._residents,
            "enterprises": self._enterprises,
        }[spec.key]
        seen = _KeyLog()
        batch: list[_Row] = []
        for number, raw in layout.rows():
            if sheets.is_blank(raw.get("seq")) is False and str(raw["seq"]).strip() == (
                sheets.EXAMPLE_MARK
            ):
                continue
            self.result.rows += 1
            if self.result.rows > MAX_ROWS:
                self.error(
                    spec,
                    number,
                    None,
                    "",
                    CellProblem(
                        _(
                            "一个文件最多 %(n)d 行，请分成几个文件导入"
                            " (at most %(n)d rows a file: split it)"
                        )
                        % {"n": MAX_ROWS},
                        code="too_many_rows",
                    ),
                )
                return
            values = self._parse(spec, layout, number, raw)
            if values is not None:
                batch.append(_Row(number=number, raw=raw, values=values))
            if len(batch) >= BATCH_SIZE:
                handler(layout, batch, seen)
                batch = []
                self._progress()
        if batch:
            handler(layout, batch, seen)
        self._progress()
        for row, first in seen.repeats():
            key_column = spec.column(
                {"households": "room", "residents": "id_number", "enterprises": "credit_code"}[
                    spec.key
                ]
            )
            self.error(
                spec,
                row,
                key_column,
                "",
                CellProblem(
                    _(
                        "与第 %(first)d 行重复：同一%(what)s只能出现一次"
                        " (duplicates row %(first)d of this sheet)"
                    )
                    % {"first": first, "what": _duplicate_label(spec)},
                    code="duplicate_row",
                ),
            )

    def _progress(self) -> None:
        if self.progress is not None:
            self.progress(self.result.rows, self.total)

    def _parse(
        self, spec: SheetSpec, layout: SheetLayout, number: int, raw: dict[str, Any]
    ) -> dict[str, Any] | None:
        values: dict[str, Any] = {}
        ok = True
        for column, blank in layout.present:
            value = raw[column.key]
            if value is None and blank is not sheets.REQUIRED:
                values[column.key] = blank
                continue
            try:
                values[column.key] = sheets.parse_cell(column, value)
            except CellProblem as problem:
                self.error(spec, number, column, value, problem)
                ok = False
        if "address" in values:
            assert self.buildings is not None
            try:
                building = self.buildings.find(values["address"], values.get("grid_code", ""))
            except CellProblem as problem:
                at = "grid_code" if values.get("grid_code") else "address"
                self.error(spec, number, spec.column(at), raw.get(at), problem)
                ok = False
            else:
                values["building_id"] = building.pk
        return values if ok else None

    def _field_error(self, spec: SheetSpec, row: _Row, exc: DomainError) -> None:
        errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
        for error in errors:
            key = error.field if error.field in spec.keys else None
            column = spec.column(key) if key else None
            self.error(spec, row.number, column, row.raw.get(key) if key else "", error)

    # households ------------------------------------------------------------------------------

    def _load_units(self, building_ids: Iterable[int]) -> None:
        missing = set(building_ids) - self.units_loaded
        if not missing:
            return
        for unit_id, building_id, number in BuildingUnit.objects.filter(
            building_id__in=missing
        ).values_list("pk", "building_id", "number"):
            self.units[(building_id, number)] = unit_id
        self.units_loaded |= missing

    def _households(self, layout: SheetLayout, batch: list[_Row], seen: _KeyLog) -> None:
        spec = layout.spec
        counts = self.result.counts[spec.key]
        valid: list[_Row] = []
        for row in batch:
            v = row.values
            try:
                if not 1 <= v["unit"] <= MAX_UNIT_NUMBER:
                    raise DomainError(
                        _("单元号应为 1 到 999 (unit: a number from 1 to 999)"), field="unit"
                    )
                v["room"] = _text(
                    v["room"], field="room", label=_("房号"), max_length=20, required=True
                )
                v["floor_area_m2"] = _area(v.get("floor_area_m2"))
                move_in = v.get("move_in_date")
                if move_in and move_in > timezone.localdate():
                    raise DomainError(
                        _("入住日期不能晚于今天 (move_in_date: not in the future)"),
                        field="move_in_date",
                    )
            except DomainError as exc:
                self._field_error(spec, row, exc)
                continue
            row.building_id = v["building_id"]
            seen.add(_household_key(row.building_id, v["unit"], v["room"]), row.number)
            valid.append(row)
        self._load_units(r.building_id for r in valid)
        unit_ids = {
            self.units[(r.building_id, r.values["unit"])]
            for r in valid
            if (r.building_id, r.values["unit"]) in self.units
        }
        existing: dict[tuple[int, str], Any] = {
            (h["unit_id"], h["room"]): h
            for h in Household.objects.filter(
                unit_id__in=unit_ids, room__in={r.values["room"] for r in valid}
            ).values("pk", "unit_id", "room", "tenure", "floor_area_m2", "move_in_date")
        }
        creates: list[_Row] = []
        updates: list[Household] = []
        in_batch: set[tuple[int, int, str]] = set()
        # Once a cell is wrong nothing will be kept: stop writing, keep checking.
        writing = self.write and not self.result.error_count
        for row in valid:
            v = row.values
            key = (row.building_id, v["unit"], v["room"])
            if key in in_batch:
                continue  # a repeat: reported at the end of the sheet
            in_batch.add(key)
            unit_id = self.units.get((row.building_id, v["unit"]))
            current = existing.get((unit_id, v["room"])) if unit_id else None
            wanted = {
                "tenure": v["tenure"],
                "floor_area_m2": v.get("floor_area_m2"),
                "move_in_date": v.get("move_in_date"),
            }
            if current is None:
                counts.created += 1
                creates.append(row)
                if not writing:
                    self.pending_households.add(_household_key(*key))
            elif all(_same(current[k], wanted[k]) for k in wanted):
                counts.unchanged += 1
            else:
                counts.updated += 1
                updates.append(Household(pk=current["pk"], updated_at=self.now, **wanted))
        if not writing:
            return
        new_units = {
            (r.building_id, r.values["unit"])
            for r in creates
            if (r.building_id, r.values["unit"]) not in self.units
        }
        if new_units:
            BuildingUnit.objects.bulk_create(
                [BuildingUnit(building_id=b, number=n) for b, n in sorted(new_units)],
                ignore_conflicts=True,
            )
            self.units_loaded -= {b for b, _n in new_units}
            self._load_units(b for b, _n in new_units)
        self._inserter(Household)(
            [
                {
                    "building_id": r.building_id,
                    "unit_id": self.units[(r.building_id, r.values["unit"])],
                    "room": r.values["room"],
                    "tenure": r.values["tenure"],
                    "floor_area_m2": r.values.get("floor_area_m2"),
                    "move_in_date": r.values.get("move_in_date"),
                }
                for r in creates
            ]
        )
        if updates:
            Household.objects.bulk_update(
                updates, ["tenure", "floor_area_m2", "move_in_date", "updated_at"]
            )

    # residents -------------------------------------------------------------------------------

    def _residents(self, layout: SheetLayout, batch: list[_Row], seen: _KeyLog) -> None:
        spec = layout.spec
        counts = self.result.counts[spec.key]
        with_tags = "tags" in layout.positions
        valid: list[_Row] = []
        for row in batch:
            v = row.values
            try:
                cleaned = _plainly_valid(v, self.today) or clean_resident(
                    ResidentInput(
                        name=v["name"],
                        sex=v["sex"],
                        birth_date=v.get("birth_date"),
                        id_number=v["id_number"],
                        mobile=v.get("mobile", ""),
                        ethnicity=v.get("ethnicity") or "汉族",
                        political_status=v.get("political_status") or PoliticalStatus.MASSES,
                        residence_type=v["residence_type"],
                        relation_to_head=v["relation_to_head"],
                    )
                )
                if with_tags:
                    _check_disability(v.get("tags", ()), v.get("disability_level", ""))
            except DomainError as exc:
                self._field_error(spec, row, _without_derived_birth_date(exc, v))
                continue
            v["cleaned"] = cleaned
            digests = protection.lookup_digests(cleaned["id_number"], purpose=protection.ID_NUMBER)
            v["digests"] = digests
            seen.add(_key64(digests[0]), row.number)
            row.building_id = v["building_id"]
            valid.append(row)
        households = self._household_ids(valid)
        resolved: list[_Row] = []
        for row in valid:
            v = row.values
            key = (row.building_id, v["unit"], v["room"])
            household_id = households.get(key)
            if household_id is None and _household_key(*key) not in self.pending_households:
                self.error(
                    spec,
                    row.number,
                    spec.column("room"),
                    row.raw.get("room"),
                    CellProblem(
                        _(
                            "%(unit)s单元%(room)s室尚未登记为住户：请先在「住户」表中登记"
                            " (household not registered: add it in the 住户 sheet first)"
                        )
                        % {"unit": v["unit"], "room": v["room"]},
                        code="unknown_household",
                    ),
                )
                continue
            v["household_id"] = household_id
            resolved.append(row)
        all_digests = [d for r in resolved for d in r.values["digests"]]
        existing: dict[str, dict[str, Any]] = {}
        # The explicit "not blank" repeats the unique index's condition, so that both databases
        # use that partial index for a long IN list (they cannot prove it from the list).
        for record in (
            Resident.objects.filter(id_number_digest__in=all_digests)
            .exclude(id_number_digest="")
            .values("pk", "household__building_id", *RESIDENT_COMPARED, *RESIDENT_SEALED)
        ):
            existing[record["id_number_digest"]] = record
        # Paired party members (联户) may not leave party status or the community while paired.
        linked = (
            set(
                PartyMemberLink.objects.filter(
                    member_id__in=[e["pk"] for e in existing.values()]
                ).values_list("member_id", flat=True)
            )
            if existing
            else set()
        )
        history: list[ResidentChange] = []
        tags_now: dict[int, dict[str, tuple[int, str]]] = {}
        if with_tags and existing:
            for tag_id, resident_id, group, level in ResidentTag.objects.filter(
                resident_id__in=[e["pk"] for e in existing.values()]
            ).values_list("pk", "resident_id", "group", "disability_level"):
                tags_now.setdefault(resident_id, {})[group] = (tag_id, level)
        creates: list[tuple[_Row, dict[str, Any]]] = []
        updates: list[Resident] = []
        writing = self.write and not self.result.error_count
        changed_fields: set[str] = set()
        tag_plan = _TagPlan()
        # Residents moving to another building, by that building: their tags follow them.
        moved: dict[int, list[int]] = {}
        # (row, old name, new name, old household, new household) for the uploader to check.
        noticed: list[tuple[int, str, str, int, int]] = []
        in_batch: set[str] = set()
        for row in resolved:
            v = row.values
            digests = v["digests"]
            if digests[0] in in_batch:
                continue  # a repeat: reported at the end of the sheet
            in_batch.add(digests[0])
            current = next((existing[d] for d in digests if d in existing), None)
            if current is not None and current["household__building_id"] not in (
                self.buildings.writable_ids if self.buildings else set()
            ):
                self.error(
                    spec,
                    row.number,
                    spec.column("id_number"),
                    row.raw.get("id_number"),
                    CellProblem(
                        _(
                            "该身份证号已在您无权修改的楼栋登记，请联系上级核对"
                            " (id_number: registered in a building outside your area)"
                        ),
                        code="registered_elsewhere",
                    ),
                )
                continue
            wanted_tags = _wanted_tags(v) if with_tags else None
            if current is None:
                counts.created += 1
                if writing:  # sealing is for writing: a dry run need not encrypt
                    creates.append((row, _resident_fields(v, None)))
                continue
            fields = _resident_fields(v, current)
            changes = {k for k, value in fields.items() if not _same(current.get(k), value)}
            if current["pk"] in linked and self._leaves_party_work(spec, row, current, changes):
                continue
            tags_change = wanted_tags is not None and tag_plan.diff(
                current["pk"], row.building_id, tags_now.get(current["pk"], {}), wanted_tags
            )
            if not changes and not tags_change:
                counts.unchanged += 1
                continue
            counts.updated += 1
            if changes:
                counts.moved += "household_id" in changes
                counts.renamed += "name" in changes
                if ("household_id" in changes or "name" in changes) and len(
                    self.result.notices
                ) + len(noticed) < LISTED_NOTICES:
                    noticed.append(
                        (
                            row.number,
                            current["name"],
                            fields.get("name", current["name"]),
                            current["household_id"],
                            fields.get("household_id", current["household_id"]),
                        )
                    )
                changed_fields |= changes
                updates.append(Resident(pk=current["pk"], updated_at=self.now, **fields))
                if row.building_id != current["household__building_id"]:
                    moved.setdefault(row.building_id, []).append(current["pk"])
                history.extend(self._history(current, fields, changes, row.building_id))
        self._notice(spec, noticed)
        if not self.write or self.result.error_count:
            return
        self._inserter(Resident)([fields for _row, fields in creates])
        tagged = [(row, f) for row, f in creates if with_tags and row.values.get("tags")]
        if tagged:
            new_ids = dict(
                Resident.objects.filter(
                    id_number_digest__in=[f["id_number_digest"] for _, f in tagged]
                )
                .exclude(id_number_digest="")
                .values_list("id_number_digest", "pk")
            )
            for row, fields in tagged:
                tag_plan.diff(
                    new_ids[fields["id_number_digest"]],
                    row.building_id,
                    {},
                    _wanted_tags(row.values),
                )
        if updates:
            Resident.objects.bulk_update(updates, sorted(changed_fields | {"updated_at"}))
            ResidentChange.objects.bulk_create(history)
            for building_id, resident_ids in moved.items():
                ResidentTag.objects.filter(resident_id__in=resident_ids).update(
                    building_id=building_id
                )
        tag_plan.apply()

    def _notice(self, spec: SheetSpec, noticed: list[tuple[int, str, str, int, int]]) -> None:
        """The moves and renames of `noticed`, as messages naming the flats."""
        if not noticed:
            return
        flats = {
            h.pk: str(h)
            for h in Household.objects.filter(
                pk__in={i for n in noticed for i in (n[3], n[4])}
            ).select_related("unit__building")
        }
        for number, old_name, new_name, old_flat, new_flat in noticed:
            parts = []
            if old_flat != new_flat:
                parts.append(
                    _("%(name)s 将从 %(old)s 迁到 %(new)s")
                    % {
                        "name": old_name,
                        "old": flats.get(old_flat, ""),
                        "new": flats.get(new_flat, ""),
                    }
                )
            if old_name != new_name:
                parts.append(
                    _("姓名将由 %(old)s 改为 %(new)s") % {"old": old_name, "new": new_name}
                )
            self.result.notices.append(
                RowNotice(sheet=spec.title, row=number, message=_("；").join(parts))
            )

    def _leaves_party_work(
        self, spec: SheetSpec, row: _Row, current: dict[str, Any], changes: set[str]
    ) -> bool:
        """Report (and say True) when a row would take a paired party member out of the party
        or out of their community: the rules `edit_resident` and `move_resident` keep."""
        assert self.buildings is not None
        grid_of = self.buildings.grid_of
        leaving = (
            "political_status" in changes
            and current["political_status"] in PARTY_STATUSES
            and row.values["cleaned"]["political_status"] not in PARTY_STATUSES
        )
        moving = (
            "household_id" in changes
            and grid_of.get(current["household__building_id"], "")[:12]
            != grid_of.get(row.building_id, "")[:12]
        )
        if not (leaving or moving):
            return False
        column = spec.column("political_status" if leaving else "room")
        self.error(
            spec,
            row.number,
            column,
            row.raw.get(column.key),
            CellProblem(
                _(
                    "该居民是联户党员，请先在“党员联户”中解除联系户，再修改政治面貌或迁出社区"
                    " (a paired party member: unpair the households first)"
                ),
                code="linked_party_member",
            ),
        )
        return True

    def _history(
        self, current: dict[str, Any], fields: dict[str, Any], changes: set[str], building_id: int
    ) -> list[ResidentChange]:
        """The resident's change history for an imported update, as the edit and move actions
        write it: identifiers only masked."""
        assert self.buildings is not None
        logged: dict[str, list[str]] = {}
        for name in HISTORY_FIELDS:
            if name in changes:
                logged[name] = [str(current[name]), str(fields[name])]
        if "mobile_digest" in changes:
            logged["mobile"] = [current["mobile_masked"], fields["mobile_masked"]]
        common = {
            "resident_id": current["pk"],
            "resident_label": f"{fields['name']} ({fields['id_number_masked']})"[:100],
            "user": self.actor if getattr(self.actor, "pk", None) else None,
            "user_label": str(self.actor)[:100],
            # As the actions record it: the grid of the household after the change.
            "grid_code": self.buildings.grid_of.get(building_id, ""),
            "note": _("台账导入"),
        }
        entries = []
        if logged:
            entries.append(ResidentChange(kind=ChangeKind.EDIT, changes=logged, **common))
        if "household_id" in changes:
            entries.append(
                ResidentChange(
                    kind=ChangeKind.MOVE,
                    from_household_id=current["household_id"],
                    to_household_id=fields["household_id"],
                    **common,
                )
            )
        return entries

    def _household_ids(self, rows: list[_Row]) -> dict[tuple[int, int, str], int]:
        if not rows:
            return {}
        found: dict[tuple[int, int, str], int] = {}
        for pk, building_id, unit, room in Household.objects.filter(
            building_id__in={r.building_id for r in rows},
            room__in={r.values["room"] for r in rows},
        ).values_list("pk", "building_id", "unit__number", "room"):
            found[(building_id, unit, room)] = pk
        return found

    # enterprises -----------------------------------------------------------------------------

    def _enterprises(self, layout: SheetLayout, batch: list[_Row], seen: _KeyLog) -> None:
        spec = layout.spec
        counts = self.result.counts[spec.key]
        valid: list[_Row] = []
        for row in batch:
            v = row.values
            problems: list[DomainError] = []
            try:
                v["name"] = _text(
                    v["name"], field="name", label=_("企业名称"), max_length=200, required=True
                )
            except DomainError as exc:
                problems.append(exc)
            try:
                v["contact_name"] = _text(
                    v.get("contact_name", ""),
                    field="contact_name",
                    label=_("联系人"),
                    max_length=50,
                    required=False,
                )
            except DomainError as exc:
                problems.append(exc)
            for key, validator in (
                ("credit_code", validate_credit_code),
                ("contact_mobile", validate_mobile),
            ):
                if v.get(key):
                    try:
                        validator(v[key])
                    except ValidationError as exc:
                        problems.append(
                            DomainError(str(exc.messages[0]), field=key, code=exc.code or "")
                        )
            if (v.get("employee_count") or 0) > 10_000_000:
                problems.append(
                    DomainError(
                        _("从业人数过大，请核对 (employee_count: check the number)"),
                        field="employee_count",
                    )
                )
            if problems:
                self._field_error(spec, row, ValidationFailed(problems))
                continue
            row.building_id = v["building_id"]
            seen.add(_key64(v["credit_code"]), row.number)
            valid.append(row)
        existing = {
            e["credit_code"]: e
            for e in Enterprise.objects.filter(
                credit_code__in={r.values["credit_code"] for r in valid}
            ).values("pk", "credit_code", "building_id", *ENTERPRISE_COMPARED, *ENTERPRISE_SEALED)
        }
        creates: list[Enterprise] = []
        updates: list[Enterprise] = []
        changed_fields: set[str] = set()
        in_batch: set[str] = set()
        writable = self.buildings.writable_ids if self.buildings else set()
        for row in valid:
            v = row.values
            if v["credit_code"] in in_batch:
                continue
            in_batch.add(v["credit_code"])
            current = existing.get(v["credit_code"])
            if current is not None and current["building_id"] not in writable:
                self.error(
                    spec,
                    row.number,
                    spec.column("credit_code"),
                    row.raw.get("credit_code"),
                    CellProblem(
                        _(
                            "该统一社会信用代码已在您无权修改的楼宇登记，请联系上级核对"
                            " (credit_code: registered in a building outside your area)"
                        ),
                        code="registered_elsewhere",
                    ),
                )
                continue
            fields = _enterprise_fields(v, current)
            if current is None:
                counts.created += 1
                creates.append(Enterprise(**fields))
                continue
            changes = {k for k, value in fields.items() if not _same(current.get(k), value)}
            if not changes:
                counts.unchanged += 1
                continue
            counts.updated += 1
            changed_fields |= changes
            updates.append(Enterprise(pk=current["pk"], updated_at=self.now, **fields))
        if not self.write or self.result.error_count:
            return
        Enterprise.objects.bulk_create(creates)
        if updates:
            Enterprise.objects.bulk_update(updates, sorted(changed_fields | {"updated_at"}))


_CHOICES = {
    "sex": frozenset(Sex.values),
    "political_status": frozenset(PoliticalStatus.values),
    "residence_type": frozenset(ResidenceType.values),
    "relation_to_head": frozenset(Relation.values),
}


def _plainly_valid(values: dict[str, Any], today: date) -> dict[str, Any] | None:
    """`clean_resident`'s result for a row that is plainly valid, in a fraction of its time;
    None whenever anything is doubtful, and `clean_resident` then decides and words the errors.
    Never accepts what `clean_resident` refuses (a property test holds the two together)."""
    name = (values.get("name") or "").strip()
    ethnicity = (values.get("ethnicity") or "汉族").strip()
    id_number = normalize_id_number(values.get("id_number"))
    mobile = (values.get("mobile") or "").strip()
    political = values.get("political_status") or PoliticalStatus.MASSES
    if not (0 < len(name) <= 50 and 0 < len(ethnicity) <= 20):
        return None
    if not ID_NUMBER_RE.match(id_number) or id_number_check_char(id_number[:17]) != id_number[17]:
        return None
    born = id_number_birth_date(id_number)
    if born is None or born.year < 1880 or born > today:
        return None
    birth_date = values.get("birth_date") or born
    sex = values.get("sex")
    if birth_date != born or sex != id_number_sex(id_number):
        return None
    if mobile and not MOBILE_RE.match(mobile):
        return None
    chosen = {
        "sex": sex,
        "political_status": political,
        "residence_type": values.get("residence_type"),
        "relation_to_head": values.get("relation_to_head"),
    }
    if any(chosen[k] not in _CHOICES[k] for k in chosen):
        return None
    return {
        "name": name,
        **chosen,
        "ethnicity": ethnicity,
        "id_number": id_number,
        "mobile": mobile,
        "birth_date": birth_date,
    }


class _Inserter:
    """INSERT a batch's new rows from dicts of attribute values.

    bulk_create (and model instances) would prepare every value through its field: about
    120 µs a resident of Python, more than half of an import's budget. The columns are
    `core.sql.Insert`'s, those of `Model.objects.create()`; a value not given takes the field's
    default (auto_now fields: the time of the import), and dates, times and decimals still go
    through their field's `get_db_prep_save`.

    SQLite: executemany of the one-row statement (prepared once). PostgreSQL: COPY, which
    psycopg streams row by row; INSERTs cost either the server a parse and plan per row
    (executemany) or psycopg a Python parse of every long multi-row statement."""

    def __init__(self, model: type[Model], now: Any) -> None:
        insert = Insert(model)
        self.sql = insert.sql(returning=False)
        target = self.sql.split(" VALUES ", 1)[0].removeprefix("INSERT INTO ")
        self.copy = f"COPY {target} FROM STDIN"
        self.columns: list[tuple[str, Any, Any]] = []
        for model_field in insert.fields:
            if getattr(model_field, "auto_now", False) or getattr(
                model_field, "auto_now_add", False
            ):
                default: Any = now
            else:
                default = model_field.get_default()
            plain = model_field.get_internal_type() in PLAIN_TYPES
            # A default is the same for every row: prepared once, not per row (the import's
            # time, in created_at and updated_at, was prepared twice a row).
            if not plain and default is not None:
                default = model_field.get_db_prep_save(default, connection=connection)
            self.columns.append((model_field.attname, default, None if plain else model_field))

    def _values(self, row: dict[str, Any]) -> list[Any]:
        values = []
        for attname, default, prepared_by in self.columns:
            if attname not in row:
                values.append(default)
                continue
            value = row[attname]
            if prepared_by is not None and value is not None:
                value = prepared_by.get_db_prep_save(value, connection=connection)
            values.append(value)
        return values

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.executemany(self.sql, [self._values(row) for row in rows])
                return
            with cursor.cursor.copy(self.copy) as copy:
                for row in rows:
                    copy.write_row(self._values(row))


PLAIN_TYPES = frozenset(
    {"AutoField", "BigAutoField", "CharField", "TextField", "ForeignKey", "IntegerField"}
    | {"PositiveIntegerField", "PositiveSmallIntegerField", "BooleanField"}
)


def _without_derived_birth_date(exc: DomainError, values: dict[str, Any]) -> DomainError:
    """A blank birth date is taken from the ID number: while that number is wrong, say only
    what is wrong with it, not that the birth date is missing too."""
    errors = exc.errors if isinstance(exc, ValidationFailed) else [exc]
    if values.get("birth_date") is None and any(e.field == "id_number" for e in errors):
        kept = [e for e in errors if e.field != "birth_date"]
        if kept and len(kept) < len(errors):
            return ValidationFailed(kept)
    return exc


def _duplicate_label(spec: SheetSpec) -> str:
    return {
        "households": _("户（楼栋+单元+房号）"),
        "residents": _("身份证号"),
        "enterprises": _("统一社会信用代码"),
    }[spec.key]


def _same(old: Any, new: Any) -> bool:
    # Values read back compare equal to the ones about to be written: "" for blank text,
    # Decimal for areas (72.5 == 72.50), date for dates, None for blank numbers and dates.
    return bool(old == new)


# --- residents' fields, sealed identifiers and tags -----------------------------------------

RESIDENT_COMPARED = (
    "household_id",
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "political_status",
    "residence_type",
    "relation_to_head",
    "id_number_digest",
    "mobile_digest",
)
HISTORY_FIELDS = (
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "political_status",
    "residence_type",
    "relation_to_head",
)
RESIDENT_SEALED = (
    "id_number_encrypted",
    "id_number_last4_digest",
    "id_number_masked",
    "mobile_encrypted",
    "mobile_last4_digest",
    "mobile_masked",
)


def _reuse_or_seal(
    value: str, *, purpose: str, current: dict[str, Any] | None, prefix: str
) -> dict[str, str]:
    """The stored columns of an identifier: those already stored when the value (by its digest
    under the current key) has not changed, so that an unchanged row stays unchanged."""
    if current is not None:
        if not value and not current[f"{prefix}_digest"]:
            return {f"{prefix}_{part}": "" for part in SEALED_PARTS}
        if value and current[f"{prefix}_digest"] == crypto.digest(value, purpose=purpose):
            return {f"{prefix}_{part}": current[f"{prefix}_{part}"] for part in SEALED_PARTS}
    sealed = protection.seal(value, purpose=purpose)
    return {
        f"{prefix}_encrypted": sealed.encrypted,
        f"{prefix}_digest": sealed.digest,
        f"{prefix}_last4_digest": sealed.last4_digest,
        f"{prefix}_masked": sealed.masked,
    }


SEALED_PARTS = ("encrypted", "digest", "last4_digest", "masked")


def _resident_fields(values: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    cleaned = values["cleaned"]
    fields: dict[str, Any] = {
        "household_id": values["household_id"],
        "name": cleaned["name"],
        "sex": cleaned["sex"],
        "birth_date": cleaned["birth_date"],
        "ethnicity": cleaned["ethnicity"],
        "political_status": cleaned["political_status"],
        "residence_type": cleaned["residence_type"],
        "relation_to_head": cleaned["relation_to_head"],
    }
    fields.update(
        _reuse_or_seal(
            cleaned["id_number"], purpose=protection.ID_NUMBER, current=current, prefix="id_number"
        )
    )
    if current is not None and not cleaned["mobile"]:
        # An empty 手机号 cell keeps a stored number, as the edit form's empty field does (the
        # masked export cannot carry it back): a number is removed on the resident's page.
        fields.update({f"mobile_{part}": current[f"mobile_{part}"] for part in SEALED_PARTS})
    else:
        fields.update(
            _reuse_or_seal(
                cleaned["mobile"], purpose=protection.MOBILE, current=current, prefix="mobile"
            )
        )
    return fields


def _check_disability(groups: tuple[str, ...], level: str) -> None:
    if SpecialGroup.DISABILITY in groups and not level:
        raise DomainError(
            _("特殊人群含残疾人时请填写残疾等级 (disability_level: required for 残疾人)"),
            field="disability_level",
        )
    if level and SpecialGroup.DISABILITY not in groups:
        raise DomainError(
            _("只有残疾人标签可填残疾等级 (disability_level: only for the disability tag)"),
            field="disability_level",
        )


def _wanted_tags(values: dict[str, Any]) -> dict[str, str]:
    level = values.get("disability_level") or ""
    return {
        group: level if group == SpecialGroup.DISABILITY else "" for group in values.get("tags", ())
    }


class _TagPlan:
    """Tags to add, change and remove for a batch, written with three statements."""

    def __init__(self) -> None:
        self.create: list[ResidentTag] = []
        self.change: list[ResidentTag] = []
        self.delete: list[int] = []

    def diff(
        self,
        resident_id: int,
        building_id: int,
        now: dict[str, tuple[int, str]],
        wanted: dict[str, str],
    ) -> bool:
        """Plan the resident's tags; `building_id` is the resident's building after this batch
        (a moved resident's other tags are moved by `_residents`)."""
        changed = False
        for group, (tag_id, level) in now.items():
            if group not in wanted:
                self.delete.append(tag_id)
                changed = True
            elif wanted[group] != level:
                self.change.append(ResidentTag(pk=tag_id, disability_level=wanted[group]))
                changed = True
        for group, level in wanted.items():
            if group not in now:
                self.create.append(
                    ResidentTag(
                        resident_id=resident_id,
                        building_id=building_id,
                        group=group,
                        disability_level=level,
                    )
                )
                changed = True
        return changed

    def apply(self) -> None:
        if self.delete:
            ResidentTag.objects.filter(pk__in=self.delete).delete()
        if self.change:
            ResidentTag.objects.bulk_update(self.change, ["disability_level"])
        if self.create:
            ResidentTag.objects.bulk_create(self.create)


# --- enterprises' fields --------------------------------------------------------------------

ENTERPRISE_COMPARED = (
    "building_id",
    "name",
    "contact_name",
    "employee_count",
    "has_party_organization",
    "has_union",
    "contact_mobile_digest",
)
ENTERPRISE_SEALED = ("contact_mobile_encrypted", "contact_mobile_masked")


def _enterprise_fields(values: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    mobile = values.get("contact_mobile", "")
    fields: dict[str, Any] = {
        "building_id": values["building_id"],
        "name": values["name"],
        "credit_code": values["credit_code"],
        "contact_name": values.get("contact_name", ""),
        "employee_count": values.get("employee_count") or 0,
        "has_party_organization": bool(values.get("has_party_organization")),
        "has_union": bool(values.get("has_union")),
    }
    digest = crypto.digest(mobile, purpose=protection.ENTERPRISE_MOBILE) if mobile else ""
    if current is not None and current["contact_mobile_digest"] == digest:
        fields["contact_mobile_digest"] = digest
        fields["contact_mobile_encrypted"] = current["contact_mobile_encrypted"]
        fields["contact_mobile_masked"] = current["contact_mobile_masked"]
    else:
        sealed = protection.seal(mobile, purpose=protection.ENTERPRISE_MOBILE)
        fields["contact_mobile_digest"] = sealed.digest
        fields["contact_mobile_encrypted"] = sealed.encrypted
        fields["contact_mobile_masked"] = sealed.masked
    return fields
