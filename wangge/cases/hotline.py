"""12345 hotline work orders (工单) taken in as cases: read a CSV or XLSX export, check every row,
then create all the new ones in one transaction, or nothing at all.

A work order's number becomes the case's external reference and idempotency key, so importing
the same file again creates nothing new.
"""

import codecs
import csv
import re
import zipfile
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from wangge.cases import actions
from wangge.cases.matching import CategoryMatcher, Place, PlaceFinder
from wangge.cases.models import Case, Category, Source
from wangge.core.errors import DomainError
from wangge.core.validators import MOBILE_RE, plain_phone
from wangge.territory.models import Level, OrgUnit

# The columns we read, and the headers hotline exports use for them (first match wins).
COLUMNS: dict[str, tuple[str, ...]] = {
    "number": ("工单编号", "工单号", "编号", "number", "order_no"),
    "received_at": ("来电时间", "受理时间", "派单时间", "时间", "received_at", "time"),
    "phone": ("来电号码", "主叫号码", "联系电话", "电话", "phone"),
    "content": ("诉求内容", "来电内容", "问题描述", "内容", "content", "description"),
    "address": ("事发地址", "诉求地址", "地址", "address"),
    "category": ("问题分类", "诉求分类", "分类", "类别", "category"),
    "name": ("来电人", "联系人", "姓名", "name"),
    "title": ("标题", "title"),
}
REQUIRED_COLUMNS = ("number", "received_at", "phone", "content", "address", "category")
IDEMPOTENCY_PREFIX = "hotline:"
NUMBER_RE = re.compile(r"^[\w\-./]{1,56}$")
_DATE_RE = re.compile(
    r"^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$"
)
# How far in the future a receiving time may lie (clock skew between the systems).
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class WorkOrder:
    row: int
    number: str
    received_at: datetime
    phone: str
    content: str
    title: str
    address: str
    name: str
    category: Category
    place: Place


@dataclass
class Report:
    rows: int = 0
    new: int = 0
    already: int = 0
    created: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Header text of each column read, as the file spells it (for the report).
    labels: dict[str, str] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without a BOM) if the whole file decodes as such, else GB18030 (what
    Chinese Excel saves as "CSV"). Reads in chunks: a large file is never held in memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 16):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def read_rows(path: Path) -> Generator[tuple[int, list[Any]]]:
    """(row number as a spreadsheet shows it, cells) for every row, streamed."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding=_csv_encoding(path), newline="") as f:
            reader = csv.reader(f)
            try:
                for number, cells in enumerate(reader, start=1):
                    yield number, list(cells)
            except csv.Error as exc:
                raise DomainError(
                    _("文件第 %(row)d 行无法读取：%(error)s (unreadable CSV)")
                    % {"row": reader.line_num, "error": exc},
                    field="file",
                ) from None
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            raise DomainError(
                _("文件不是有效的 .xlsx 工作簿 (not an .xlsx workbook)"), field="file"
            ) from None
        try:
            sheet = workbook.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(cells)
        finally:
            workbook.close()
    else:
        raise DomainError(
            _("只能导入 .csv 或 .xlsx 文件 (the file must be .csv or .xlsx)"), field="file"
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # Spreadsheets store long digit strings (numbers, phones) as floats.
        return str(int(value))
    # NUL characters mean nothing and no database column can store them.
    return str(value).replace("\x00", "").strip()


def _header_key(cell: Any) -> str:
    return re.sub(r"\s+", "", _text(cell)).lower()


def find_columns(header: list[Any]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """Column index and header text of each field we read, and the required fields missing."""
    keys = [_header_key(cell) for cell in header]
    index: dict[str, int] = {}
    label: dict[str, str] = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in keys:
                index[name] = keys.index(alias.lower())
                label[name] = _text(header[index[name]])
                break
    missing = [name for name in REQUIRED_COLUMNS if name not in index]
    return index, label, missing


# --- checking ------------------------------------------------------------------------------


def parse_time(value: Any, *, now: datetime) -> datetime:
    tz = timezone.get_current_timezone()
    if isinstance(value, datetime):
        result = value if timezone.is_aware(value) else value.replace(tzinfo=tz)
    elif isinstance(value, date):
        result = datetime.combine(value, time.min, tzinfo=tz)
    elif isinstance(value, int | float) and 20000 < value < 80000:
        from openpyxl.utils.datetime import from_excel

        result = from_excel(value).replace(tzinfo=tz)
    else:
        text = _text(value)
        if not text:
            raise ValueError(_("请填写来电时间 (required)"))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            m = _DATE_RE.match(text)
            if not m:
                raise ValueError(
                    _("时间格式不正确，应如 2026-05-01 10:23 (expected a date and time)")
                ) from None
            year, month, day, hour, minute, second = (int(p) if p else 0 for p in m.groups())
            try:
                parsed = datetime(year, month, day, hour, minute, second, tzinfo=tz)
            except ValueError:
                raise ValueError(_("日期不存在 (no such date)")) from None
        result = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=tz)
    if result > now + FUTURE_TOLERANCE:
        raise ValueError(_("时间晚于现在 (in the future)"))
    return result


def parse_phone(value: Any) -> str:
    phone = plain_phone(_text(value))
    if not phone or "*" in phone:
        # Hotlines often export masked numbers (138****5678): nothing to call back on.
        return ""
    if MOBILE_RE.match(phone) or (phone.replace("-", "").isdigit() and 5 <= len(phone) <= 20):
        return phone
    raise ValueError(_("电话号码格式不正确 (not a phone number)"))


class Checker:
    """Checks rows one by one; knows the categories, the fallback grid and the numbers seen."""

    def __init__(
        self,
        *,
        labels: dict[str, str],
        matcher: CategoryMatcher,
        fallback_grid: OrgUnit | None,
        now: datetime,
    ) -> None:
        self.labels = labels
        self.matcher = matcher
        self.fallback_grid = fallback_grid
        self.now = now
        self.places = PlaceFinder()
        self.seen: dict[str, int] = {}

    def check(
        self, row: int, cells: list[Any], index: dict[str, int]
    ) -> tuple[WorkOrder | None, list[Problem]]:
        def cell(name: str) -> Any:
            i = index.get(name)
            return cells[i] if i is not None and i < len(cells) else None

        problems: list[Problem] = []

        def bad(name: str, reason: str) -> None:
            problems.append(
                Problem(row, self.labels.get(name, name), _text(cell(name))[:60], reason)
            )

        number = _text(cell("number"))
        if not number:
            bad("number", _("请填写工单编号 (required)"))
        elif not NUMBER_RE.match(number):
            bad("number", _("工单编号只能包含字母、数字和 - _ . /，最长 56 个字符 (invalid)"))
        elif number in self.seen:
            bad(
                "number",
                _("工单编号与第 %(row)d 行重复 (duplicate in this file)")
                % {"row": self.seen[number]},
            )
        else:
            self.seen[number] = row
        received_at = None
        try:
            received_at = parse_time(cell("received_at"), now=self.now)
        except ValueError as exc:
            bad("received_at", str(exc))
        phone = ""
        try:
            phone = parse_phone(cell("phone"))
        except ValueError as exc:
            bad("phone", str(exc))
        content = _text(cell("content"))
        if not content:
            bad("content", _("请填写诉求内容 (required)"))
        elif len(content) > 2000:
            bad("content", _("诉求内容不能超过 2000 个字 (too long)"))
        title = _text(cell("title")) or actions.title_from(content)
        if len(title) > 100:
            bad("title", _("标题不能超过 100 个字 (too long)"))
        name = _text(cell("name"))
        if len(name) > 50:
            bad("name", _("来电人姓名不能超过 50 个字 (too long)"))
        category = None
        try:
            category = self.matcher.match(_text(cell("category")))
        except DomainError as exc:
            bad("category", exc.message)
        address = _text(cell("address"))
        place = None
        if len(address) > 200:
            bad("address", _("地址不能超过 200 个字 (too long)"))
        else:
            place = self.places.locate(address) if address else None
            if place is None and self.fallback_grid is not None:
                place = Place(self.fallback_grid, None, None, "fallback")
            if place is None:
                bad(
                    "address",
                    _(
                        "无法根据地址确定网格：请写明坐标、楼栋地址或社区名称，或用 --fallback-grid "
                        "指定网格 (address could not be located)"
                    ),
                )
        if problems or received_at is None or category is None or place is None:
            return None, problems
        return (
            WorkOrder(
                row=row,
                number=number,
                received_at=received_at,
                phone=phone,
                content=content,
                title=title,
                address=address,
                name=name,
                category=category,
                place=place,
            ),
            [],
        )


def read_category_map(path: Path) -> dict[str, str]:
    """A two-column CSV: the hotline's category text, our sub-category code."""
    mapping: dict[str, str] = {}
    for row, cells in read_rows(path):
        if len(cells) < 2 or not _text(cells[0]):
            continue
        text, code = _text(cells[0]), _text(cells[1])
        if row == 1 and code.lower() in ("code", "代码", "分类代码"):
            continue
        mapping[text] = code
    return mapping


def fallback_grid_for(code: str) -> OrgUnit:
    grid = OrgUnit.objects.filter(code=code, level__in=[Level.GRID, Level.MICROGRID]).first()
    if grid is None:
        raise DomainError(
            _("网格 %(code)s 不存在 (no grid with this code)") % {"code": code},
            field="fallback_grid",
        )
    return grid


# --- importing -----------------------------------------------------------------------------


def check_file(
    path: Path,
    *,
    category_map: dict[str, str] | None = None,
    fallback_grid: OrgUnit | None = None,
    now: datetime | None = None,
) -> tuple[list[WorkOrder], Report]:
    """Every row checked; the work orders not yet imported, and the report."""
    report = Report()
    orders: list[WorkOrder] = []
    rows = read_rows(path)
    index: dict[str, int] | None = None
    checker = None
    for row, cells in rows:
        if not any(_text(c) for c in cells):
            continue
        if index is None:
            index, report.labels, missing = find_columns(cells)
            for name in missing:
                report.problems.append(
                    Problem(
                        row,
                        COLUMNS[name][0],
                        "",
                        _("缺少这一列（也可写作：%(aliases)s）(missing column)")
                        % {"aliases": "、".join(COLUMNS[name][1:])},
                    )
                )
            if missing:
                rows.close()
                return [], report
            checker = Checker(
                labels=report.labels,
                matcher=CategoryMatcher(extra=category_map),
                fallback_grid=fallback_grid,
                now=now or timezone.now(),
            )
            continue
        assert checker is not None
        report.rows += 1
        order, problems = checker.check(row, cells, index)
        report.problems.extend(problems)
        if order is not None:
            orders.append(order)
    if index is None:
        report.problems.append(Problem(1, "", "", _("文件是空的 (the file is empty)")))
    existing = _already_imported([o.number for o in orders])
    fresh = [o for o in orders if o.number not in existing]
    report.already = len(orders) - len(fresh)
    report.new = len(fresh)
    return fresh, report


def _already_imported(numbers: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        keys = [IDEMPOTENCY_PREFIX + n for n in numbers[start : start + 500]]
        found.update(
            key.removeprefix(IDEMPOTENCY_PREFIX)
            for key in Case.objects.filter(idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
            if key
        )
    return found


# Which column a refusal of create_case points at.
_FIELD_COLUMNS = {
    "title": "title",
    "description": "content",
    "address": "address",
    "location": "address",
    "grid": "address",
    "reporter_phone": "phone",
    "reporter_name": "name",
    "category": "category",
}


class _RolledBack(Exception):
    pass


def import_orders(orders: list[WorkOrder], *, report: Report) -> None:
    """Create every work order's case in one transaction; on any refusal, none of them."""
    try:
        with transaction.atomic():
            for order in orders:
                try:
                    actions.create_case(
                        actor=None,
                        category=order.category,
                        title=order.title,
                        description=order.content,
                        lon=order.place.lon,
                        lat=order.place.lat,
                        grid=order.place.grid,
                        address=order.address,
                        source=Source.HOTLINE,
                        reporter_name=order.name,
                        reporter_phone=order.phone,
                        external_ref=order.number,
                        idempotency_key=IDEMPOTENCY_PREFIX + order.number,
                        created_at=order.received_at,
                    )
                except DomainError as exc:
                    for error in getattr(exc, "errors", None) or [exc]:
                        column = _FIELD_COLUMNS.get(str(error.field), "")
                        report.problems.append(
                            Problem(order.row, report.labels.get(column, column), "", error.message)
                        )
                    raise _RolledBack from exc
                report.created += 1
    except _RolledBack:
        report.created = 0


def import_file(
    path: Path,
    *,
    dry_run: bool = False,
    category_map: dict[str, str] | None = None,
    fallback_grid: OrgUnit | None = None,
    now: datetime | None = None,
) -> Report:
    """Check the whole file; unless it is a dry run and if nothing is wrong, import it."""
    orders, report = check_file(
        path, category_map=category_map, fallback_grid=fallback_grid, now=now
    )
    if dry_run or report.problems or not orders:
        return report
    import_orders(orders, report=report)
    return report
