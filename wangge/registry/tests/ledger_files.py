"""Ledger workbooks for tests, written the way a person fills the template."""

import io
from datetime import date
from typing import Any

from openpyxl import Workbook

from wangge.registry.ledgers import sheets


def xlsx(**tables: list[dict[str, Any]]) -> bytes:
    """A workbook with one sheet per keyword (households, residents, enterprises), headers in
    the template's order for the keys used, one row per dict."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for key, rows in tables.items():
        spec = sheets.SHEETS_BY_KEY[key]
        used = [c for c in spec.columns if c.required or any(c.key in r for r in rows)]
        sheet = workbook.create_sheet(spec.title)
        sheet.append([c.header for c in used])
        for row in rows:
            sheet.append([row.get(c.key) for c in used])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def household(address: str, room: str = "101", **extra: Any) -> dict[str, Any]:
    return {"address": address, "unit": 1, "room": room, "tenure": "自有", **extra}


def resident(address: str, id_number: str, room: str = "101", **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "address": address,
        "unit": 1,
        "room": room,
        "name": "赵敏",
        "sex": "女",
        "birth_date": None,
        "id_number": id_number,
        "mobile": "13700001234",
        "residence_type": "户籍",
        "relation_to_head": "户主",
    }
    row.update(extra)
    return row


def enterprise(address: str, credit_code: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "北京测试科技有限公司",
        "credit_code": credit_code,
        "address": address,
        "contact_name": "钱明",
        "contact_mobile": "13911112222",
        "employee_count": 12,
        "has_party_organization": "是",
        "has_union": "否",
        **extra,
    }


def read_rows(data: bytes, title: str) -> list[tuple[Any, ...]]:
    workbook = sheets.open_workbook(io.BytesIO(data))
    try:
        return list(workbook[title].iter_rows(values_only=True))
    finally:
        workbook.close()


BIRTH = date(1990, 4, 5)


def moved_resident(registry: Any, **extra: Any) -> dict[str, Any]:
    """Resident a of the registry world (王秀英, at 101 of the building head's building) in a
    row for flat 201 of the other building: a move, found by her ID number."""
    return resident(
        registry.other.address,
        registry.plain["id_a"],
        room="201",
        name="王秀英",
        sex="女",
        mobile=registry.plain["mobile_a"],
        **extra,
    )
