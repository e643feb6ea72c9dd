"""The ledger sheets: their columns (Chinese headers, as district offices write them), turning a
cell into a value or a message that says what to write instead, reading a workbook as a stream
of rows (the sheet's XML read with expat; openpyxl for the workbook's structure and styles), and
the template to download."""

import contextlib
import io
import re
import threading
import warnings
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from queue import Empty, Queue
from typing import IO, Any
from xml.parsers import expat

from django.db import models
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH, from_excel, from_ISO8601
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.constants import SHARED_STRINGS

from wangge.registry.models import (
    DisabilityLevel,
    PoliticalStatus,
    Relation,
    ResidenceType,
    Sex,
    SpecialGroup,
    Tenure,
)

TEXT = "text"
CODE = "code"  # identifiers: ID, mobile and credit-code numbers, grid codes (no spaces, upper case)
INT = "int"
DECIMAL = "decimal"
DATE = "date"
CHOICE = "choice"
TAGS = "tags"
BOOL = "bool"

EXAMPLE_MARK = "示例"
NOTES_TITLE = "说明"
# The data validation of a template column reaches this far down (Excel's last row).
LAST_ROW = 1_048_576


class CellProblem(Exception):
    """A cell that cannot be read as its column's kind of value."""

    def __init__(self, message: str, *, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = TEXT
    required: bool = False
    choices: type[models.TextChoices] | None = None
    width: int = 12
    example: Any = None
    hint: str | Promise = ""


@dataclass(frozen=True)
class SheetSpec:
    key: str
    title: str
    label: str | Promise
    columns: tuple[Column, ...]
    # A header only this sheet has: how a renamed sheet is still recognised.
    signature: str

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)


_SEQ = Column(
    "seq",
    "序号",
    width=6,
    example=EXAMPLE_MARK,
    hint=gettext_lazy("可不填；序号为「示例」的行不导入"),
)
_ADDRESS = Column(
    "address",
    "楼栋地址",
    required=True,
    width=30,
    example="安定门大街 12号院 3号楼",
    hint=gettext_lazy("与系统中楼栋的地址一致（空格可省略）"),
)
_GRID = Column(
    "grid_code",
    "网格编码",
    kind=CODE,
    width=18,
    hint=gettext_lazy("同一地址有多个楼栋时填写 15 位网格编码"),
)
_UNIT = Column(
    "unit", "单元", kind=INT, required=True, width=6, example=1, hint=gettext_lazy("数字，如 1")
)
_ROOM = Column("room", "房号", required=True, width=8, example="502", hint=gettext_lazy("如 502"))

HOUSEHOLDS = SheetSpec(
    key="households",
    title="住户",
    label=gettext_lazy("住户"),
    signature="产权",
    columns=(
        _SEQ,
        _ADDRESS,
        _GRID,
        _UNIT,
        _ROOM,
        Column("tenure", "产权", kind=CHOICE, required=True, choices=Tenure, example="自有"),
        Column(
            "floor_area_m2",
            "建筑面积(m²)",
            kind=DECIMAL,
            width=12,
            example=86.5,
            hint=gettext_lazy("数字，单位平方米"),
        ),
        Column(
            "move_in_date",
            "入住日期",
            kind=DATE,
            example=date(2018, 5, 1),
            hint=gettext_lazy("如 2018-05-01"),
        ),
    ),
)

RESIDENTS = SheetSpec(
    key="residents",
    title="居民",
    label=gettext_lazy("居民"),
    signature="身份证号",
    columns=(
        _SEQ,
        _ADDRESS,
        _GRID,
        _UNIT,
        _ROOM,
        Column("name", "姓名", required=True, width=10, example="王秀英"),
        Column("sex", "性别", kind=CHOICE, required=True, choices=Sex, width=6, example="女"),
        Column(
            "birth_date",
            "出生日期",
            kind=DATE,
            example=date(1949, 12, 31),
            hint=gettext_lazy("可不填，按身份证号第 7–14 位计算"),
        ),
        Column(
            "id_number",
            "身份证号",
            kind=CODE,
            required=True,
            width=21,
            example="11010519491231002X",
            hint=gettext_lazy("18 位，末位可为 X；请保持文本格式，否则 Excel 会丢掉末几位"),
        ),
        Column("mobile", "手机号", kind=CODE, width=14, example="13812345678", hint="11 位"),
        Column("ethnicity", "民族", width=8, example="汉族", hint=gettext_lazy("不填为汉族")),
        Column(
            "political_status",
            "政治面貌",
            kind=CHOICE,
            choices=PoliticalStatus,
            example="群众",
            hint=gettext_lazy("不填为群众"),
        ),
        Column(
            "residence_type",
            "人口类型",
            kind=CHOICE,
            required=True,
            choices=ResidenceType,
            example="户籍",
        ),
        Column(
            "relation_to_head",
            "与户主关系",
            kind=CHOICE,
            required=True,
            choices=Relation,
            example="户主",
        ),
        Column(
            "tags",
            "特殊人群",
            kind=TAGS,
            width=20,
            example="独居老人、残疾人",
            hint=gettext_lazy(
                "可填多个，用顿号或逗号分隔；导入后居民的特殊人群与此列一致，留空即清除"
            ),
        ),
        Column(
            "disability_level",
            "残疾等级",
            kind=CHOICE,
            choices=DisabilityLevel,
            width=8,
            example="二级",
            hint=gettext_lazy("只在特殊人群含残疾人时填写"),
        ),
    ),
)

ENTERPRISES = SheetSpec(
    key="enterprises",
    title="企业",
    label=gettext_lazy("企业"),
    signature="统一社会信用代码",
    columns=(
        _SEQ,
        Column("name", "企业名称", required=True, width=28, example="北京示例科技有限公司"),
        Column(
            "credit_code",
            "统一社会信用代码",
            kind=CODE,
            required=True,
            width=21,
            example="91110000600037341L",
            hint=gettext_lazy("18 位数字和大写字母"),
        ),
        _ADDRESS,
        _GRID,
        Column("contact_name", "联系人", width=10, example="李明"),
        Column("contact_mobile", "联系电话", kind=CODE, width=14, example="13900001111"),
        Column("employee_count", "从业人数", kind=INT, width=9, example=35),
        Column(
            "has_party_organization", "已建党组织", kind=BOOL, width=10, example="是", hint="是/否"
        ),
        Column("has_union", "已建工会", kind=BOOL, width=9, example="否", hint="是/否"),
    ),
)

SHEETS: tuple[SheetSpec, ...] = (HOUSEHOLDS, RESIDENTS, ENTERPRISES)
SHEETS_BY_KEY = {s.key: s for s in SHEETS}


# --- parsing cells --------------------------------------------------------------------------


@cache
def _choice_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    """Chinese label, English label or identifier → identifier."""
    lookup: dict[str, str] = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for value, label in choices.choices:
                lookup[str(label).strip().lower()] = value
    for value in choices.values:
        lookup[value.lower()] = value
    return lookup


@cache
def choice_labels(choices: type[models.TextChoices]) -> tuple[str, ...]:
    """The Chinese labels a template offers for a column."""
    with translation.override("zh-hans"):
        return tuple(str(label) for label in choices.labels)


def chinese_label(choices: type[models.TextChoices], value: str) -> str:
    with translation.override("zh-hans"):
        return str(choices(value).label) if value in choices.values else value


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _code(value: Any, column: Column) -> str:
    if isinstance(value, float):
        if value >= 1e15 or not value.is_integer():
            # Excel keeps 15 significant digits: an ID number typed as a number has lost its tail.
            raise CellProblem(
                _(
                    "%(header)s被 Excel 存成了数字，末几位已丢失：请把该列设为文本格式后重新填写"
                    " (%(header)s was stored as a number and lost digits: format the column as text)"
                )
                % {"header": column.header},
                code="stored_as_number",
            )
        value = int(value)
    return re.sub(r"\s+", "", str(value)).upper()


def _int(value: Any, column: Column) -> int:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if column.key == "unit":
        text = text.removesuffix("单元")
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    raise CellProblem(
        _("%(header)s应为整数 (%(header)s: a whole number)") % {"header": column.header},
        code="not_integer",
    )


def _decimal(value: Any, column: Column) -> Decimal:
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise CellProblem(
            _("%(header)s应为数字 (%(header)s: a number)") % {"header": column.header},
            code="not_number",
        ) from None


DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)


def _date(value: Any, column: Column) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 100000:
        # A date cell that lost its date format shows Excel's serial day number.
        serial = from_excel(value)
        if isinstance(serial, datetime):
            return serial.date()
    text = _text(value).split(" ")[0]
    for pattern in DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                break
    raise CellProblem(
        _("%(header)s不是有效日期，请写成 2018-05-01 (%(header)s: a date such as 2018-05-01)")
        % {"header": column.header},
        code="invalid_date",
    )


def _choice(value: Any, column: Column) -> str:
    assert column.choices is not None
    found = _choice_lookup(column.choices).get(_text(value).lower())
    if found is None:
        raise CellProblem(
            _("%(header)s只能填：%(allowed)s (%(header)s: one of the listed values)")
            % {"header": column.header, "allowed": "、".join(choice_labels(column.choices))},
            code="invalid_choice",
        )
    return found


TAG_SEPARATORS = re.compile(r"[、,，;；/\s]+")


def _tags(value: Any, column: Column) -> tuple[str, ...]:
    lookup = _choice_lookup(SpecialGroup)
    groups: list[str] = []
    for part in TAG_SEPARATORS.split(_text(value)):
        if not part:
            continue
        group = lookup.get(part.lower())
        if group is None:
            raise CellProblem(
                _(
                    "特殊人群「%(part)s」不在列表中，可填：%(allowed)s"
                    " (tags: unknown group; use the listed names)"
                )
                % {"part": part, "allowed": "、".join(choice_labels(SpecialGroup))},
                code="invalid_choice",
            )
        if group not in groups:
            groups.append(group)
    return tuple(groups)


TRUE_WORDS = frozenset({"是", "有", "已建", "y", "yes", "true", "1", "√"})
FALSE_WORDS = frozenset({"否", "无", "没有", "未建", "n", "no", "false", "0", "×"})


def _bool(value: Any, column: Column) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellProblem(
        _("%(header)s请填「是」或「否」 (%(header)s: yes or no)") % {"header": column.header},
        code="invalid_choice",
    )


REQUIRED = object()
BLANKS: dict[str, Any] = {TAGS: (), INT: None, DECIMAL: None, DATE: None, BOOL: False}


def blank_value(column: Column) -> Any:
    """What a blank cell of the column means, or REQUIRED."""
    return REQUIRED if column.required else BLANKS.get(column.kind, "")


def parse_cell(column: Column, value: Any) -> Any:
    """The cell's value as the column's kind; blank cells give "" (or None for numbers and
    dates, () for tags). Raises CellProblem."""
    if is_blank(value):
        if column.required:
            raise CellProblem(
                _("请填写%(header)s (%(header)s is required)") % {"header": column.header},
                code="required",
            )
        return BLANKS.get(column.kind, "")
    match column.kind:
        case "code":
            return _code(value, column)
        case "int":
            return _int(value, column)
        case "decimal":
            return _decimal(value, column)
        case "date":
            return _date(value, column)
        case "choice":
            return _choice(value, column)
        case "tags":
            return _tags(value, column)
        case "bool":
            return _bool(value, column)
    return _text(value)


def display_value(column: Column, value: Any) -> str:
    """A cell's value as shown in an error list: ID and phone numbers masked, at most 60
    characters (the person has their own file; the page need not repeat identifiers)."""
    if is_blank(value):
        return ""
    text = _text(value)
    if column.key in {"id_number", "mobile", "contact_mobile"}:
        keep = 6 if column.key == "id_number" else 3
        if len(text) > keep + 4:
            return f"{text[:keep]}{'*' * (len(text) - keep - 4)}{text[-4:]}"
        return "*" * len(text)
    return text[:60]


# --- reading a workbook ---------------------------------------------------------------------


class CompactStrings:
    """A workbook's shared strings, UTF-8 in one buffer. Excel files keep every distinct text,
    ID and phone number there: a million residents make two million strings, which as Python
    objects would take about 150 MB; here about 50."""

    __slots__ = ("_data", "_ends")

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")

    def append(self, text: str) -> None:
        self._data += text.encode()
        self._ends.append(len(self._data))

    def __len__(self) -> int:
        return len(self._ends)

    def __getitem__(self, index: int) -> str:
        end = self._ends[index]
        start = self._ends[index - 1] if index else 0
        return self._data[start:end].decode()


def read_shared_strings(source: IO[bytes]) -> CompactStrings:
    """The shared-string table with expat: what openpyxl's reader does (text runs joined,
    phonetic runs left out, `x005F_` removed) at a quarter of its time."""
    strings = CompactStrings()
    parts: list[str] = []
    state = {"si": False, "t": False, "rph": 0}

    def start(name: str, _attrs: dict[str, str]) -> None:
        local = name.rpartition("}")[2]
        if local == "si":
            state["si"] = True
            parts.clear()
        elif local == "t" and state["si"] and not state["rph"]:
            state["t"] = True
        elif local == "rPh":
            state["rph"] += 1

    def end(name: str) -> None:
        local = name.rpartition("}")[2]
        if local == "si":
            strings.append("".join(parts).replace("x005F_", ""))
            state["si"] = False
        elif local == "t":
            state["t"] = False
        elif local == "rPh":
            state["rph"] -= 1

    def text(data: str) -> None:
        if state["t"]:
            parts.append(data)

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.ParseFile(source)
    return strings


class _LedgerReader(ExcelReader):  # type: ignore[misc]
    def read_strings(self) -> None:
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = read_shared_strings(source)


def open_workbook(source: str | IO[bytes]) -> Any:
    """A read-only workbook: rows are parsed as they are iterated, never all at once.
    Raises ValueError (and subclasses) for a file that is not an .xlsx workbook."""
    reader = _LedgerReader(source, read_only=True, data_only=True)
    with warnings.catch_warnings():
        # Files from WPS and from generators often lack a default style: harmless.
        warnings.simplefilter("ignore", UserWarning)
        reader.read()
    return reader.wb


@dataclass
class SheetLayout:
    spec: SheetSpec
    worksheet: Any
    # Position of each known column in a row; None where the sheet lacks it.
    positions: dict[str, int]
    # Rows announced by the sheet (its <dimension>), for progress; None if not given.
    announced_rows: int | None
    missing: tuple[Column, ...]
    duplicates: tuple[str, ...]

    @cached_property
    def present(self) -> list[tuple[Column, Any]]:
        """The sheet's known columns with what a blank cell means (REQUIRED if it may not)."""
        return [(c, blank_value(c)) for c in self.spec.columns if c.key in self.positions]

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(row number, {column key: raw value}) for each non-empty data row, read by a thread
        of its own a few thousand rows ahead of the caller (read_ahead)."""
        return read_ahead(self._rows())

    def _rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        columns = {i + 1: key for key, i in self.positions.items()}
        blank = dict.fromkeys(self.positions)
        for number, cells in lean_rows(self.worksheet):
            if number < 2:
                continue
            raw = dict(blank)
            filled = False
            for column, value in cells:
                key = columns.get(column)
                if key is not None:
                    raw[key] = value
                    # The reader leaves out empty cells: only text of spaces is blank here.
                    filled = filled or not isinstance(value, str) or bool(value.strip())
            if filled:
                yield number, raw


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_CHUNK = 1 << 16


def _column_number(letters: str) -> int:
    """1-based column of a cell reference's letters ("AB" → 28)."""
    column = 0
    for letter in letters.upper():
        column = column * 26 + _LETTERS.index(letter) + 1
    return column


def _cell_value(
    kind: str,
    text: str,
    style: str,
    strings: Any,
    date_styles: frozenset[str],
    timedelta_styles: frozenset[str],
    epoch: datetime,
) -> Any:
    """A cell's value from its type (`t`), its <v> text and its style, as openpyxl's
    WorkSheetParser makes it with data_only: numbers as int or float, dates as datetimes,
    shared strings resolved, booleans as bool."""
    if kind == "n":
        number: int | float = (
            float(text) if "." in text or "E" in text or "e" in text else int(text)
        )
        if style in date_styles:
            try:
                return from_excel(number, epoch, timedelta=style in timedelta_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"
        return number
    if kind == "s":
        return strings[int(text)]
    if kind == "b":
        return bool(int(text))
    if kind == "d":
        return from_ISO8601(text)
    return text  # "str" (a formula's text result), "e" (an error such as #N/A)


def read_sheet_rows(
    source: IO[bytes],
    *,
    strings: Any,
    date_styles: frozenset[str] = frozenset(),
    timedelta_styles: frozenset[str] = frozenset(),
    epoch: datetime = WINDOWS_EPOCH,
) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """(row number, [(column, value), …]) for each <row> of a worksheet's XML, in file order,
    streamed with expat: the values openpyxl's read-only mode gives (a compare test holds them
    together) in about a third of its time, never holding more than a chunk of rows. Blank
    cells are left out; a row or cell without its `r` follows the one before it. `strings` is
    the shared-string table; `date_styles` the style ids (as text) whose number format is a
    date, which openpyxl reads from styles.xml. See docs/decisions/0007."""
    done: list[tuple[int, list[tuple[int, Any]]]] = []
    columns: dict[str, int] = {}
    in_data = False
    row_number = 0
    column = 0
    cells: list[tuple[int, Any]] = []
    in_cell = False
    kind = "n"
    style = ""
    parts: list[str] = []
    collecting = False
    inline = False
    phonetic = 0

    # One branch per element name, the frequent ones first: a million residents make some
    # twenty million cells, each with its start, value and end.
    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row_number, column, cells, in_cell, kind, style, collecting, inline
        nonlocal in_data, phonetic
        if name == "c":
            if in_data:
                in_cell = True
                reference = attrs.get("r")
                if reference:
                    letters = reference.rstrip(_DIGITS)
                    column = columns.get(letters) or columns.setdefault(
                        letters, _column_number(letters)
                    )
                else:
                    column += 1
                kind = attrs.get("t", "n")
                style = attrs.get("s", "")
                inline = False
                parts.clear()
        elif name == "v":
            collecting = in_cell and kind != "inlineStr"
        elif name == "row":
            if in_data:
                number = attrs.get("r")
                if number is None:
                    row_number += 1
                else:
                    try:
                        row_number = int(number)
                    except ValueError:
                        as_float = float(number)
                        if not as_float.is_integer():
                            raise ValueError(f"{number} is not a valid row number") from None
                        row_number = int(as_float)
                column = 0
                cells = []
        elif name == "t":
            collecting = inline and not phonetic
        elif name == "is":
            inline = in_cell and kind == "inlineStr"
        elif name == "rPh":
            phonetic += 1
        elif name == "sheetData":
            in_data = True

    def end(name: str) -> None:
        nonlocal in_cell, collecting, in_data, phonetic
        if name == "c":
            if not in_cell:
                return
            in_cell = collecting = False
            if kind == "inlineStr":
                if inline:
                    cells.append((column, "".join(parts)))
                return
            text = "".join(parts)
            if not text:
                return
            if kind == "s":
                cells.append((column, strings[int(text)]))
            elif kind == "n" and style not in date_styles:
                if "." in text or "E" in text or "e" in text:
                    cells.append((column, float(text)))
                else:
                    cells.append((column, int(text)))
            else:
                value = _cell_value(
                    kind, text, style, strings, date_styles, timedelta_styles, epoch
                )
                cells.append((column, value))
        elif name == "v" or name == "t":
            collecting = False
        elif name == "row":
            if in_data:
                done.append((row_number, cells))
        elif name == "rPh":
            phonetic -= 1
        elif name == "sheetData":
            in_data = False

    def text(data: str) -> None:
        if collecting:
            parts.append(data)

    def local_start(name: str, attrs: dict[str, str]) -> None:
        start(name.rpartition(":")[2], attrs)

    def local_end(name: str) -> None:
        end(name.rpartition(":")[2])

    def root(name: str, attrs: dict[str, str]) -> None:
        # A file that prefixes SpreadsheetML's namespace (`<x:worksheet>`, from some .NET
        # generators) has every name prefixed: those are stripped first, for the whole file.
        if ":" in name:
            parser.StartElementHandler, parser.EndElementHandler = local_start, local_end
        else:
            parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.StartElementHandler(name, attrs)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = root
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    while True:
        chunk = source.read(_CHUNK)
        parser.Parse(chunk, not chunk)
        if done:
            yield from done
            done.clear()
        if not chunk:
            return


def lean_rows(worksheet: Any) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """(row number, [(column, value), …]) of a read-only worksheet, streamed from its XML by
    `read_sheet_rows` with the workbook's shared strings, date styles and epoch."""
    workbook = worksheet.parent
    with workbook._archive.open(worksheet._worksheet_path) as source:
        yield from read_sheet_rows(
            source,
            strings=worksheet._shared_strings,
            date_styles=frozenset(str(i) for i in workbook._date_formats),
            timedelta_styles=frozenset(str(i) for i in workbook._timedelta_formats),
            epoch=workbook.epoch,
        )


_DONE = object()


def read_ahead[T](items: Iterator[T], *, chunk: int = 500, depth: int = 4) -> Iterator[T]:
    """`items`, produced by a thread of their own up to `depth` chunks ahead of the consumer.

    Reading the sheet is pure Python; an import spends much of its time waiting for the
    database (PostgreSQL's server, or SQLite's C code, both without the GIL): meanwhile this
    thread reads on. Exceptions reach the consumer where they would have been raised; a
    consumer that stops early stops the thread and waits for it (the workbook is closed next)."""
    queue: Queue[Any] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        batch: list[T] = []
        try:
            for item in items:
                batch.append(item)
                if len(batch) >= chunk:
                    queue.put(batch)
                    batch = []
                    if stop.is_set():
                        return
            queue.put(batch)
            queue.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised after the rows before it
            queue.put(batch)
            queue.put(exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # its file in the workbook's zip, in this thread

    thread = threading.Thread(target=produce, name="ledger-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            batch = queue.get()
            if batch is _DONE:
                return
            if isinstance(batch, BaseException):
                raise batch
            yield from batch
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.05)  # unblock a producer waiting to put
        thread.join()


def _header_text(value: Any) -> str:
    return re.sub(r"[\s*＊]", "", str(value)) if value is not None else ""


def layout_of(worksheet: Any, spec: SheetSpec, header: tuple[Any, ...]) -> SheetLayout:
    by_header = {c.header: c for c in spec.columns}
    by_header.update({c.key: c for c in spec.columns})
    positions: dict[str, int] = {}
    duplicates: list[str] = []
    for index, cell in enumerate(header):
        column = by_header.get(_header_text(cell))
        if column is None:
            continue
        if column.key in positions:
            duplicates.append(column.header)
        else:
            positions[column.key] = index
    missing = tuple(c for c in spec.columns if c.required and c.key not in positions)
    announced = worksheet.max_row
    # The dimension only estimates progress: every row present is read, whatever it says.
    worksheet.reset_dimensions()
    return SheetLayout(
        spec=spec,
        worksheet=worksheet,
        positions=positions,
        announced_rows=announced - 1 if announced else None,
        missing=missing,
        duplicates=tuple(duplicates),
    )


def find_sheets(workbook: Any) -> list[SheetLayout]:
    """The ledger sheets of a workbook in import order (households before the residents living
    in them), found by name or, for a renamed sheet, by a header only that sheet has."""
    found: dict[str, SheetLayout] = {}
    for worksheet in workbook.worksheets:
        title = worksheet.title.strip()
        if title == NOTES_TITLE:
            continue
        header = next(worksheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
        headers = {_header_text(h) for h in header}
        spec = next((s for s in SHEETS if s.title == title), None)
        if spec is None:
            spec = next((s for s in SHEETS if s.signature in headers), None)
        if spec is None or spec.key in found:
            continue
        found[spec.key] = layout_of(worksheet, spec, tuple(header))
    return [found[s.key] for s in SHEETS if s.key in found]


# --- the template ---------------------------------------------------------------------------

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
REQUIRED_FONT = Font(bold=True, color="C00000")
HEADER_FONT = Font(bold=True)
EXAMPLE_FONT = Font(italic=True, color="808080")
TEXT_FORMAT = "@"
DATE_FORMAT = "yyyy-mm-dd"


def _allowed(column: Column) -> str:
    if column.kind == TAGS:
        return "、".join(choice_labels(SpecialGroup))
    if column.choices is not None:
        return "、".join(choice_labels(column.choices))
    if column.kind == BOOL:
        return "是、否"
    return ""


def write_template(out: IO[bytes] | None = None) -> bytes:
    """The import template: one sheet per ledger with Chinese headers (required ones in red),
    drop-down lists for the enumerations, text format for identifiers, an example row, and the
    notes sheet. Small, so written in normal (not write-only) mode."""
    workbook = Workbook()
    notes = workbook.active
    notes.title = NOTES_TITLE
    for spec in SHEETS:
        sheet = workbook.create_sheet(spec.title)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(spec.columns, start=1):
            letter = get_column_letter(index)
            cell = sheet.cell(row=1, column=index, value=column.header)
            cell.font = REQUIRED_FONT if column.required else HEADER_FONT
            cell.fill = HEADER_FILL
            cell.alignment = Alignment(horizontal="center")
            if column.hint:
                cell.comment = Comment(str(column.hint), "Wangge")
            sheet.column_dimensions[letter].width = column.width + 2
            if column.kind in (TEXT, CODE):
                sheet.column_dimensions[letter].number_format = TEXT_FORMAT
            example = sheet.cell(row=2, column=index, value=column.example)
            example.font = EXAMPLE_FONT
            if column.kind in (TEXT, CODE):
                example.number_format = TEXT_FORMAT
            elif column.kind == DATE:
                example.number_format = DATE_FORMAT
            allowed = _allowed(column)
            if allowed and column.kind != TAGS:
                validation = DataValidation(
                    type="list",
                    formula1='"' + allowed.replace("、", ",") + '"',
                    allow_blank=not column.required,
                    showErrorMessage=True,
                    errorTitle=str(_("请从列表中选择")),
                    error=str(_("可填：%(allowed)s") % {"allowed": allowed}),
                )
                validation.add(f"{letter}2:{letter}{LAST_ROW}")
                sheet.add_data_validation(validation)
    _write_notes(notes)
    workbook.active = 1
    buffer = out or io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue() if isinstance(buffer, io.BytesIO) else b""


def _write_notes(sheet: Any) -> None:
    lines: list[tuple[str, ...]] = [
        (str(_("人房数据台账导入模板")),),
        (),
        (str(_("填写规则")),),
        (str(_("1. 每张表第 1 行是表头，不要改动；红色表头为必填列。")),),
        (str(_("2. 序号为「示例」的第 2 行是示例，导入时跳过，可以删除。")),),
        (
            str(
                _(
                    "3. 先检查后导入：检查会列出每个有问题的单元格（行、列、值、原因）；"
                    "只要有一处错误，整个文件都不导入。"
                )
            ),
        ),
        (
            str(
                _(
                    "4. 重复导入同一文件会更新原记录而不是重复登记：住户按楼栋+单元+房号，"
                    "居民按身份证号，企业按统一社会信用代码识别。"
                )
            ),
        ),
        (
            str(
                _(
                    "5. 只能导入您管辖范围内、有权修改的楼栋；住户须先登记（可在同一文件的「住户」表中）。"
                )
            ),
        ),
        (str(_("6. 身份证号、手机号加密保存，页面和默认导出只显示脱敏号码。")),),
        (
            str(
                _(
                    "7. 已登记居民的手机号留空则保留原号码；要删除号码，请在居民页面修改。"
                    "按身份证号更新时，住址、姓名等以本表为准。"
                )
            ),
        ),
        (),
        (str(_("表")), str(_("列")), str(_("必填")), str(_("可填的值")), str(_("说明"))),
    ]
    for spec in SHEETS:
        for column in spec.columns:
            lines.append(
                (
                    spec.title,
                    column.header,
                    str(_("是")) if column.required else "",
                    _allowed(column),
                    str(column.hint),
                )
            )
    for line in lines:
        sheet.append(line)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A3"].font = HEADER_FONT
    for width, letter in zip((10, 16, 6, 48, 60), "ABCDE", strict=True):
        sheet.column_dimensions[letter].width = width
