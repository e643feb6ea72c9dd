"""`manage.py import_hotline`: 12345 work orders from CSV or XLSX become cases, all or nothing,
and the same file imported twice creates nothing new."""

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from openpyxl import Workbook

from wangge.cases import actions
from wangge.cases.models import Case, Source
from wangge.core.tests.fixtures import World
from wangge.territory.tests.factories import center_of

HEADER = ["工单编号", "来电时间", "来电号码", "诉求内容", "地址", "问题分类"]
GRID = "110101001001001"


def good_rows(world: World) -> list[list[Any]]:
    lon, lat = center_of(world.unit("110101002001002"))
    building = world.buildings["110101002002002"]
    return [
        [
            "GD20261101001",
            "2026-11-01 09:15:00",
            "13911112222",
            "小区门口垃圾堆了三天没人清运\n气味很大",
            f"测试区某路口 {lon:.6f},{lat:.6f}",
            "城市管理/市容环境/暴露垃圾",
        ],
        [
            "GD20261101002",
            "2026/11/1 10:30",
            "138****5678",  # masked by the hotline: nothing to keep
            "楼下有人乱贴小广告",
            f"北京市测试区{building.address}",
            "小广告",
        ],
        [
            "GD20261101003",
            "2026-11-01T11:00:00+08:00",
            "010-65123456",
            "夜间施工噪音扰民",
            f"{world.unit('110101001002').name}东侧工地",
            "施工扰民",
        ],
    ]


def write_csv(path: Path, rows: list[list[Any]], *, encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_hotline", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args: str) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("import_hotline", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue() + str(info.value)


def check_imported(world: World) -> None:
    cases = {c.external_ref: c for c in Case.objects.select_related("grid", "category")}
    assert set(cases) == {"GD20261101001", "GD20261101002", "GD20261101003"}
    first, second, third = (cases[f"GD2026110100{i}"] for i in (1, 2, 3))
    for case in cases.values():
        assert case.source == Source.HOTLINE
        assert case.idempotency_key == f"hotline:{case.external_ref}"
    assert first.category.code == "exposed_garbage"
    assert first.grid.code == "110101002001002"  # from the coordinates
    assert first.title == "小区门口垃圾堆了三天没人清运"
    assert first.description.endswith("气味很大")
    assert first.reporter_phone == "13911112222"
    tz = timezone.get_current_timezone()
    assert first.created_at == datetime(2026, 11, 1, 9, 15, tzinfo=tz)
    assert first.clock_started_at == first.created_at
    assert second.category.code == "illegal_flyers"
    assert second.grid == world.buildings["110101002002002"].grid  # from the building
    assert second.reporter_phone == ""
    assert second.created_at == datetime(2026, 11, 1, 10, 30, tzinfo=tz)
    assert third.category.code == "construction_noise"
    assert third.grid.code.startswith("110101001002")  # from the community's name
    assert third.reporter_phone == "010-65123456"


def test_it_imports_a_csv_export(world: World, tmp_path: Path) -> None:
    out, _err = run(str(write_csv(tmp_path / "orders.csv", good_rows(world))))
    assert "imported 3" in out
    check_imported(world)


def test_it_imports_an_xlsx_export_with_typed_cells(world: World, tmp_path: Path) -> None:
    rows = good_rows(world)
    rows[0][1] = datetime(2026, 11, 1, 9, 15)  # noqa: DTZ001 - a spreadsheet's date cell
    rows[0][2] = 13911112222  # a number cell
    rows[2][1] = "2026-11-01 11:00"
    out, _err = run(str(write_xlsx(tmp_path / "orders.xlsx", rows)))
    assert "imported 3" in out
    check_imported(world)


def test_it_reads_a_gb18030_csv_as_chinese_excel_saves_it(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", good_rows(world), encoding="gb18030")
    out, _err = run(str(path))
    assert "imported 3" in out
    assert Case.objects.filter(title="楼下有人乱贴小广告").exists()


def test_importing_the_same_file_again_creates_nothing(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", good_rows(world))
    run(str(path))
    first = set(Case.objects.values_list("pk", flat=True))
    out, _err = run(str(path))
    assert "imported 0, 3 already imported" in out
    assert set(Case.objects.values_list("pk", flat=True)) == first
    # A later export repeats old orders and adds one: only the new one comes in.
    rows = [*good_rows(world), ["GD20261102001", "2026-11-02 08:00", "", "路灯不亮", "", "其他"]]
    rows[3][4] = f"{world.unit('110101001001').name}"
    out, _err = run(str(write_csv(tmp_path / "later.csv", rows)))
    assert "imported 1, 3 already imported" in out
    assert Case.objects.count() == 4


def test_a_dry_run_reports_every_bad_row_and_imports_nothing(world: World, tmp_path: Path) -> None:
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    rows = [
        *good_rows(world),
        ["GD20261101001", "2026-11-01 12:00", "", "重复编号", world.unit(GRID).name, "垃圾"],
        ["", "2026-11-01 12:00", "", "没有编号", world.unit(GRID).name, "垃圾"],
        ["GD5", "昨天下午", "", "时间写错", world.unit(GRID).name, "垃圾"],
        ["GD6", future, "", "未来时间", world.unit(GRID).name, "垃圾"],
        ["GD7", "2026-02-30 10:00", "", "不存在的日期", world.unit(GRID).name, "垃圾"],
        ["GD8", "2026-11-01 12:00", "电话打不通", "电话写错", world.unit(GRID).name, "垃圾"],
        ["GD9", "2026-11-01 12:00", "", "", world.unit(GRID).name, "垃圾"],
        ["GD10", "2026-11-01 12:00", "", "分类不认识", world.unit(GRID).name, "宠物走失"],
        ["GD11", "2026-11-01 12:00", "", "只写了大类", world.unit(GRID).name, "市容环境"],
        ["GD12", "2026-11-01 12:00", "", "地址找不到", "火星基地", "垃圾"],
    ]
    report = refused(str(write_csv(tmp_path / "orders.csv", rows)), "--dry-run")
    lines = [line.split("\t") for line in report.splitlines() if line.count("\t") == 3][1:]
    problems = {(int(row), column): (value, reason) for row, column, value, reason in lines}
    assert set(problems) == {
        (5, "工单编号"),
        (6, "工单编号"),
        (7, "来电时间"),
        (8, "来电时间"),
        (9, "来电时间"),
        (10, "来电号码"),
        (11, "诉求内容"),
        (12, "问题分类"),
        (13, "问题分类"),
        (14, "地址"),
    }
    assert "第 2 行" in problems[(5, "工单编号")][1]
    assert problems[(7, "来电时间")][0] == "昨天下午"
    assert "晚于现在" in problems[(8, "来电时间")][1]
    value, reason = problems[(12, "问题分类")]
    assert value == "宠物走失" and "无法识别分类" in reason
    assert "大类" in problems[(13, "问题分类")][1]
    assert "--fallback-grid" in problems[(14, "地址")][1]
    assert "10 problem(s); nothing was imported" in report
    assert not Case.objects.exists()


def test_a_clean_dry_run_says_what_would_be_imported(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", good_rows(world))
    out, _err = run(str(path), "--dry-run")
    assert "3 rows OK, 3 to import, 0 already imported" in out
    assert not Case.objects.exists()


def test_one_bad_row_stops_the_whole_import(world: World, tmp_path: Path) -> None:
    rows = [*good_rows(world), ["GD4", "2026-11-01 12:00", "", "内容", "火星", "垃圾"]]
    report = refused(str(write_csv(tmp_path / "orders.csv", rows)))
    assert "nothing was imported" in report
    assert not Case.objects.exists()


def test_a_refusal_while_writing_rolls_back_the_rows_already_written(
    world: World, tmp_path: Path, monkeypatch
) -> None:
    real = actions.create_case
    calls = []

    def flaky(**kwargs: Any) -> Case:
        calls.append(kwargs["external_ref"])
        if len(calls) == 3:
            raise actions.DomainError("联系电话格式不正确", field="reporter_phone")
        return real(**kwargs)

    monkeypatch.setattr(actions, "create_case", flaky)
    report = refused(str(write_csv(tmp_path / "orders.csv", good_rows(world))))
    assert "4\t来电号码" in report
    assert not Case.objects.exists()


def test_a_missing_column_is_named(world: World, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("工单编号,来电时间,诉求内容,地址\nGD1,2026-11-01,内容,地址\n", encoding="utf-8")
    report = refused(str(path))
    assert "来电号码" in report and "问题分类" in report and "缺少这一列" in report


def test_a_category_map_and_a_fallback_grid(world: World, tmp_path: Path) -> None:
    mapping = tmp_path / "map.csv"
    mapping.write_text("热线分类,代码\n宠物扰民,other_issue\n", encoding="utf-8")
    rows = [["GD1", "2026-11-01 09:00", "", "狗叫扰民", "某小区", "宠物扰民"]]
    path = write_csv(tmp_path / "orders.csv", rows)
    out, _err = run(str(path), "--category-map", str(mapping), "--fallback-grid", GRID)
    assert "imported 1" in out
    case = Case.objects.get()
    assert case.category.code == "other_issue" and case.grid.code == GRID


def test_bad_options_and_files_are_refused_clearly(world: World, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "orders.csv", good_rows(world))
    assert "网格 999 不存在" in refused(str(path), "--fallback-grid", "999")
    mapping = tmp_path / "map.csv"
    mapping.write_text("宠物扰民,pets\n", encoding="utf-8")
    assert "不是一个小类" in refused(str(path), "--category-map", str(mapping))
    text = tmp_path / "orders.txt"
    text.write_text("x", encoding="utf-8")
    assert ".csv 或 .xlsx" in refused(str(text))
    assert "no such file" in refused(str(tmp_path / "missing.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert "文件是空的" in refused(str(empty))


def test_an_unreadable_file_is_refused_naming_the_problem(world: World, tmp_path: Path) -> None:
    broken = tmp_path / "orders.xlsx"
    broken.write_bytes(b"this is not a workbook")
    assert "不是有效的 .xlsx 工作簿" in refused(str(broken))
    huge = tmp_path / "huge.csv"
    huge.write_text(",".join(HEADER) + "\nGD1,2026-11-01,," + "长" * 200_000 + ",x,垃圾\n")
    assert "无法读取" in refused(str(huge))
    assert not Case.objects.exists()


def test_nul_characters_are_dropped(world: World, tmp_path: Path) -> None:
    rows = good_rows(world)[:1]
    rows[0][3] = "垃圾\x00堆积"
    run(str(write_csv(tmp_path / "orders.csv", rows)))
    assert Case.objects.get().description == "垃圾堆积"
