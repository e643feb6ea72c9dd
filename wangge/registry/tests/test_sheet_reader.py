"""The ledger import's own reader of a worksheet's XML (sheets.read_sheet_rows) gives the values
openpyxl gives: on workbooks openpyxl writes (numbers, dates, blanks, text), and on sheet XML
written the ways Excel, WPS and other generators write it (inline strings, rich text, missing
`r` attributes, rows out of order, prefixed namespaces)."""

# Spreadsheet cells hold naive dates and times: that is what both readers return.
# ruff: noqa: DTZ001

import io
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet._reader import WorkSheetParser

from wangge.registry.ledgers import sheets

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# What a ledger cell may hold. Text avoids the control characters XML cannot carry.
texts = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"), include_characters="\t\n"
    ),
    max_size=12,
)
values = st.one_of(
    st.none(),
    texts,
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2099, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2099, 12, 31)),
    st.sampled_from(["11010519491231002X", "13812345678", "自有", "独居老人、残疾人", " 502 "]),
)


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _ours(data: bytes, title: str | None = None) -> list[tuple[int, list[tuple[int, Any]]]]:
    workbook = sheets.open_workbook(io.BytesIO(data))
    try:
        worksheet = workbook[title] if title else workbook.worksheets[0]
        return list(sheets.lean_rows(worksheet))
    finally:
        workbook.close()


def _openpyxl_parser(data: bytes) -> list[tuple[int, list[tuple[int, Any]]]]:
    """What openpyxl's read-only worksheet parses: its WorkSheetParser, blank cells left out."""
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        worksheet = workbook.worksheets[0]
        with workbook._archive.open(worksheet._worksheet_path) as source:
            parser = WorkSheetParser(
                source,
                worksheet._shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            return [
                (number, [(c["column"], c["value"]) for c in cells if c["value"] is not None])
                for number, cells in parser.parse()
            ]
    finally:
        workbook.close()


def _dense(rows: list[tuple[int, list[tuple[int, Any]]]], width: int) -> list[tuple[Any, ...]]:
    """Our sparse rows as openpyxl's read-only `iter_rows(values_only=True)` shows them."""
    dense: list[tuple[Any, ...]] = []
    for number, cells in rows:
        while len(dense) < number - 1:
            dense.append((None,) * width)
        row: list[Any] = [None] * width
        for column, value in cells:
            row[column - 1] = value
        dense.append(tuple(row))
    return dense


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(values, min_size=1, max_size=6), min_size=1, max_size=8))
def test_it_reads_what_openpyxl_reads_from_a_workbook_openpyxl_wrote(
    grid: list[list[Any]],
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    for row in grid:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, date) and not isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd"
    data = _save(workbook)
    ours = _ours(data)
    assert ours == _openpyxl_parser(data)
    width = max(len(r) for r in grid)
    readonly = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        expected = [
            tuple(r) + (None,) * (width - len(r))
            for r in readonly.worksheets[0].iter_rows(max_col=width, values_only=True)
        ]
    finally:
        readonly.close()
    got = _dense(ours, width)
    # openpyxl pads the sheet to its <dimension>: trailing blank rows are not rows we need.
    while expected and expected[-1] == (None,) * width and len(expected) > len(got):
        expected.pop()
    assert got == expected


def _with_sheet_xml(sheet_xml: str, *, strings: tuple[str, ...] = ()) -> bytes:
    """An openpyxl workbook (so that styles.xml has a date style: id 1) whose first sheet's XML
    is replaced by the given one, with the given shared strings (openpyxl itself writes inline
    strings, which the generated workbooks above cover)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "x"
    sheet["B1"] = date(2020, 1, 1)
    sheet["B1"].number_format = "yyyy-mm-dd"
    sheet["C1"] = time(8, 30)
    original = _save(workbook)
    shared = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}">'
        + "".join(f"<si><t>{s}</t></si>" for s in strings)
        + "</sst>"
    )
    shared_type = (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            elif item.filename == "[Content_Types].xml" and b"sharedStrings" not in data:
                data = data.replace(b"</Types>", shared_type.encode())
            if item.filename != "xl/sharedStrings.xml":
                target.writestr(item, data)
        target.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


WPS_SHEET = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="{NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<dimension ref="A1:H9"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>
<cols><col min="1" max="1" width="9"/></cols>
<sheetData>
<row r="1" spans="1:8"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="D1" t="inlineStr"><is><t xml:space="preserve"> 行内 </t></is></c></row>
<row r="3"><c r="A3" s="1"><v>43831</v></c><c r="B3"><v>12.50</v></c><c r="C3"><v>1E3</v></c><c r="D3" t="b"><v>1</v></c><c r="E3" t="str"><f>A1</f><v>公式</v></c><c r="F3" t="e"><v>#N/A</v></c><c r="G3"/><c r="H3" t="n"><v></v></c></row>
<row r="2"><c r="B2" t="inlineStr"><is><r><t>富</t></r><r><rPr><b/></rPr><t>文本</t></r><rPh sb="0" eb="1"><t>ふ</t></rPh></is></c></row>
<row><c t="s"><v>1</v></c><c/><c><v>7</v></c><c r="F5" t="d"><v>2024-02-29T10:00:00</v></c><c><v>8</v></c></row>
<row r="7" ht="20" customHeight="1"><c r="AA7" t="inlineStr"><is><t>远列</t></is></c><c r="C7" t="inlineStr"/></row>
<row r="8"><c r="A8" t="s"><v>2</v></c><c r="B8"><v>-0.5</v></c><c r="C8" s="1"><v>0</v></c></row>
</sheetData>
<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>
</worksheet>"""


def test_it_reads_what_openpyxl_reads_from_sheets_excel_and_wps_write() -> None:
    data = _with_sheet_xml(WPS_SHEET, strings=("姓名", "11010519491231002X", "a&amp;b"))
    ours = _ours(data)
    assert ours == _openpyxl_parser(data)
    first, third, second, unnumbered, seventh, eighth = ours
    assert first == (1, [(1, "姓名"), (2, "11010519491231002X"), (4, " 行内 ")])
    assert second == (2, [(2, "富文本")])  # rich text runs joined, the phonetic run left out
    assert [v for _c, v in third[1]] == [datetime(2020, 1, 1), 12.5, 1000.0, True, "公式", "#N/A"]
    # A row without `r` follows the row before it in the file; a cell without `r`, its left
    # neighbour.
    assert unnumbered == (
        3,
        [(1, "11010519491231002X"), (3, 7), (6, datetime(2024, 2, 29, 10)), (7, 8)],
    )
    assert seventh == (7, [(27, "远列")])  # an inline-string cell without <is> is blank
    assert eighth == (8, [(1, "a&b"), (2, -0.5), (3, time(0, 0))])


def test_it_reads_a_sheet_whose_namespace_has_a_prefix() -> None:
    prefixed = (
        f'<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="{NS}"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1"><x:v>3</x:v></x:c></x:row>'
        '<x:row r="2"><x:c r="B2" t="inlineStr"><x:is><x:t>值</x:t></x:is></x:c></x:row>'
        "</x:sheetData></x:worksheet>"
    )
    data = _with_sheet_xml(prefixed, strings=("表头",))
    assert _ours(data) == [(1, [(1, "表头"), (2, 3)]), (2, [(2, "值")])]


def test_the_ledger_rows_come_through_the_new_reader() -> None:
    from wangge.registry.tests.ledger_files import household, xlsx

    data = xlsx(households=[household("安定门大街 12号院 3号楼", room="502", unit=2)])
    workbook = sheets.open_workbook(io.BytesIO(data))
    try:
        [layout] = sheets.find_sheets(workbook)
        [(number, raw)] = list(layout.rows())
    finally:
        workbook.close()
    assert number == 2
    assert raw["address"] == "安定门大街 12号院 3号楼"
    assert raw["unit"] == 2 and raw["room"] == "502" and raw["tenure"] == "自有"


def test_reading_ahead_keeps_the_rows_in_order_and_raises_where_the_reader_failed() -> None:
    def numbers(upto: int, fail: bool) -> Iterator[int]:
        yield from range(upto)
        if fail:
            raise ValueError("broken sheet XML")

    assert list(sheets.read_ahead(numbers(1234, False), chunk=100, depth=2)) == list(range(1234))
    got: list[int] = []
    with pytest.raises(ValueError, match="broken sheet XML"):
        for n in sheets.read_ahead(numbers(250, True), chunk=100, depth=2):
            got.append(n)
    assert got == list(range(250))


def test_a_consumer_that_stops_early_stops_the_reading_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    rows = sheets.read_ahead(endless(), chunk=10, depth=2)
    assert [next(rows) for _ in range(5)] == [0, 1, 2, 3, 4]
    rows.close()
    assert closed.is_set()
    assert not [t for t in threading.enumerate() if t.name == "ledger-read-ahead"]
