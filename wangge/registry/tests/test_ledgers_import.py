"""Importing ledgers: the dry run lists every bad cell, the import is all or nothing, scoped,
and a second import of the same file updates instead of duplicating."""

import io
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wangge.core.validators import id_number_check_char
from wangge.registry import protection
from wangge.registry.ledgers import importer, sheets
from wangge.registry.ledgers.importer import check_ledger, import_ledger
from wangge.registry.models import Enterprise, Household, Resident, ResidentTag
from wangge.registry.tests.factories import (
    RegistryWorld,
    make_credit_code,
    make_id_number,
    tag_drift,
)
from wangge.registry.tests.ledger_files import enterprise, household, moved_resident, resident, xlsx


def _errors(result: importer.LedgerResult) -> set[tuple[str, int, str, str]]:
    return {(e.sheet, e.row, e.column, e.code) for e in result.errors}


def _good_file(registry: RegistryWorld) -> tuple[bytes, dict[str, str]]:
    address = registry.mine.address
    ids = {
        "a": make_id_number(birth=date(1950, 2, 3), sex="male"),
        "b": make_id_number(birth=date(1988, 7, 9), sex="female"),
    }
    credit = make_credit_code()
    data = xlsx(
        households=[
            household(address, "301", floor_area_m2=72.5, move_in_date="2019-03-01"),
            household(address, "302", tenure="租住"),
        ],
        residents=[
            resident(address, ids["a"], room="301", name="孙大伟", sex="男", tags="独居老人"),
            resident(
                address,
                ids["b"],
                room="302",
                name="周小红",
                sex="女",
                mobile="",
                tags="残疾人",
                disability_level="二级",
                political_status="中共党员",
            ),
        ],
        enterprises=[enterprise(address, credit)],
    )
    return data, {**ids, "credit": credit}


def test_a_good_file_checks_clean_and_then_imports_everything(world, registry) -> None:
    data, keys = _good_file(registry)
    staff = world.users["community_staff"]

    checked = check_ledger(actor=staff, source=io.BytesIO(data))
    assert checked.errors == []
    assert {k: (c.created, c.updated) for k, c in checked.counts.items()} == {
        "households": (2, 0),
        "residents": (2, 0),
        "enterprises": (1, 0),
    }
    assert not Household.objects.filter(
        room__in=["301", "302"]
    ).exists()  # a dry run writes nothing

    result = import_ledger(actor=staff, source=io.BytesIO(data))
    assert result.written and result.errors == []
    h301 = Household.objects.get(building=registry.mine, room="301")
    assert (h301.unit.number, h301.tenure, str(h301.floor_area_m2), h301.move_in_date) == (
        1,
        "owner",
        "72.50",
        date(2019, 3, 1),
    )
    sun = Resident.objects.get(name="孙大伟")
    assert sun.household == h301
    assert sun.birth_date == date(1950, 2, 3)  # from the ID number
    assert sun.id_number_masked == protection.seal(keys["a"], purpose=protection.ID_NUMBER).masked
    assert protection.open_value(sun.id_number_encrypted, purpose=protection.ID_NUMBER) == keys["a"]
    assert keys["a"] not in sun.id_number_encrypted
    assert [t.group for t in sun.tags.all()] == ["living_alone"]
    zhou = Resident.objects.get(name="周小红")
    assert (zhou.political_status, zhou.mobile_masked) == ("party_member", "")
    assert [(t.group, t.disability_level) for t in zhou.tags.all()] == [("disability", "2")]
    company = Enterprise.objects.get(credit_code=keys["credit"])
    assert (company.building, company.has_party_organization, company.has_union) == (
        registry.mine,
        True,
        False,
    )
    assert company.contact_mobile_masked == "139****2222"


def test_importing_the_same_file_again_updates_instead_of_duplicating(world, registry) -> None:
    data, keys = _good_file(registry)
    staff = world.users["community_staff"]
    import_ledger(actor=staff, source=io.BytesIO(data))
    before = (Household.objects.count(), Resident.objects.count(), Enterprise.objects.count())
    first_cipher = Resident.objects.get(name="孙大伟").id_number_encrypted

    again = import_ledger(actor=staff, source=io.BytesIO(data))
    assert again.written
    assert {k: (c.created, c.updated, c.unchanged) for k, c in again.counts.items()} == {
        "households": (0, 0, 2),
        "residents": (0, 0, 2),
        "enterprises": (0, 0, 1),
    }
    assert Resident.objects.get(name="孙大伟").id_number_encrypted == first_cipher

    address = registry.mine.address
    changed = xlsx(
        households=[household(address, "301", tenure="租住")],
        residents=[
            resident(
                address,
                keys["a"],
                room="302",
                name="孙大伟",
                sex="男",
                mobile="15000001111",
                tags="",
            )
        ],
        enterprises=[enterprise(address, keys["credit"], employee_count=40)],
    )
    result = import_ledger(actor=staff, source=io.BytesIO(changed))
    assert result.written
    assert {k: (c.created, c.updated) for k, c in result.counts.items()} == {
        "households": (0, 1),
        "residents": (0, 1),
        "enterprises": (0, 1),
    }
    assert (
        Household.objects.count(),
        Resident.objects.count(),
        Enterprise.objects.count(),
    ) == before
    sun = Resident.objects.get(name="孙大伟")
    assert (sun.household.room, sun.mobile_masked) == ("302", "150****1111")
    assert not sun.tags.exists()  # the tags cell was blank: the ledger is the truth
    assert Household.objects.get(building=registry.mine, room="301").tenure == "tenant"
    assert Enterprise.objects.get(credit_code=keys["credit"]).employee_count == 40


def test_an_empty_mobile_cell_keeps_the_stored_number(world, registry) -> None:
    """As the edit form's empty field: the masked export cannot carry numbers back, and a
    re-imported row with another resident's changed number must not wipe this one's."""
    data, keys = _good_file(registry)
    staff = world.users["community_staff"]
    import_ledger(actor=staff, source=io.BytesIO(data))
    sun = Resident.objects.get(name="孙大伟")
    assert sun.mobile_masked == "137****1234"
    address = registry.mine.address
    changed = xlsx(
        households=[],
        residents=[
            resident(address, keys["a"], room="301", name="孙大伟", sex="男", mobile=""),
            resident(
                address,
                keys["b"],
                room="302",
                name="周小红",
                sex="女",
                mobile="15000001111",
                political_status="中共党员",
            ),
        ],
        enterprises=[],
    )
    result = import_ledger(actor=staff, source=io.BytesIO(changed))
    assert result.written and result.errors == []
    assert Resident.objects.get(pk=sun.pk).mobile_masked == "137****1234"
    assert Resident.objects.get(name="周小红").mobile_masked == "150****1111"


def _bad_check_char(value: str) -> str:
    right = id_number_check_char(value[:17])
    return value[:17] + ("1" if right != "1" else "2")


def test_the_dry_run_lists_every_bad_cell_and_the_import_writes_nothing(world, registry) -> None:
    address = registry.mine.address
    good = make_id_number(birth=date(1970, 1, 1), sex="male")
    data = xlsx(
        households=[household(address, "401"), household("不存在的路 9号楼", "402")],
        residents=[
            resident(address, good, room="401", sex="男"),  # row 2: fine
            resident(address, _bad_check_char(good), room="401", sex="男"),  # 3: check char
            resident(address, make_id_number(sex="female"), room="401", birth_date="1971-02-30"),
            resident(address, make_id_number(sex="female"), room="401", mobile="12345678901"),
            resident(address, make_id_number(), room="401", name="", sex="男"),  # 6: no name
            resident(registry.other.address, make_id_number(), room="201", sex="男"),  # 7: scope
            resident(address, good, room="401", sex="男"),  # 8: repeats row 2
        ],
    )
    staff = world.users["community_staff"]
    result = check_ledger(actor=staff, source=io.BytesIO(data))

    assert _errors(result) == {
        ("住户", 3, "楼栋地址", "unknown_building"),
        ("居民", 3, "身份证号", "id_number_check"),
        ("居民", 4, "出生日期", "invalid_date"),
        ("居民", 5, "手机号", "invalid_mobile"),
        ("居民", 6, "姓名", "required"),
        ("居民", 7, "楼栋地址", "unknown_building"),
        ("居民", 8, "身份证号", "duplicate_row"),
    }
    by_row = {(e.sheet, e.row): e for e in result.errors}
    assert "校验码" in by_row[("居民", 3)].message
    assert by_row[("居民", 3)].value.startswith("110105") and "*" in by_row[("居民", 3)].value
    assert "2018-05-01" in by_row[("居民", 4)].message
    assert "与第 2 行重复" in by_row[("居民", 8)].message

    counts = (Household.objects.count(), Resident.objects.count())
    imported = import_ledger(actor=staff, source=io.BytesIO(data))
    assert not imported.written
    assert _errors(imported) == _errors(result)
    assert (Household.objects.count(), Resident.objects.count()) == counts
    assert not Resident.objects.filter(
        id_number_digest__in=protection.lookup_digests(good, purpose=protection.ID_NUMBER)
    ).exists()


def test_a_repeated_row_names_the_first_row_it_repeats(world, registry) -> None:
    address = registry.mine.address
    same = make_id_number(birth=date(1980, 5, 5), sex="male")
    data = xlsx(
        households=[household(address, "501"), household(address, "501")],
        residents=[
            resident(address, same, room="101", sex="男"),
            resident(address, make_id_number(), room="101", sex="男"),
            resident(address, same, room="102", sex="男"),
        ],
    )
    result = import_ledger(actor=world.users["community_staff"], source=io.BytesIO(data))
    assert not result.written
    errors = {(e.sheet, e.row): e for e in result.errors}
    assert set(errors) == {("住户", 3), ("居民", 4)}
    assert "与第 2 行重复" in errors[("住户", 3)].message
    assert "与第 2 行重复" in errors[("居民", 4)].message
    assert not Household.objects.filter(room="501").exists()


def test_one_bad_row_after_thousands_of_good_ones_writes_nothing(world, registry) -> None:
    address = registry.mine.address
    rows = [household(address, f"{n}") for n in range(1000, 1000 + 2 * importer.BATCH_SIZE + 5)]
    rows.append(household(address, "9999", tenure="借住"))
    result = import_ledger(
        actor=world.users["community_staff"], source=io.BytesIO(xlsx(households=rows))
    )
    assert not result.written
    assert _errors(result) == {("住户", len(rows) + 1, "产权", "invalid_choice")}
    assert "自有、租住、其他" in result.errors[0].message
    assert not Household.objects.filter(room="1000").exists()


def test_residents_need_a_registered_household(world, registry) -> None:
    address = registry.mine.address
    data = xlsx(residents=[resident(address, make_id_number(), room="808", sex="男")])
    result = check_ledger(actor=world.users["community_staff"], source=io.BytesIO(data))
    assert _errors(result) == {("居民", 2, "房号", "unknown_household")}
    assert "住户" in result.errors[0].message


@pytest.mark.parametrize(
    ("user", "code"),
    [
        ("grid_worker", None),  # writes in its own grid
        ("building_head", None),  # heads this building
        ("leader", "forbidden"),  # reads the street but may not write
        ("dispatcher", "unknown_building"),  # no registry role at all
    ],
)
def test_rows_go_only_into_buildings_the_user_may_change(world, registry, user, code) -> None:
    data = xlsx(households=[household(registry.mine.address, "601")])
    result = import_ledger(actor=world.users[user], source=io.BytesIO(data))
    if code is None:
        assert result.written
        assert Household.objects.filter(room="601").exists()
    else:
        assert {e.code for e in result.errors} == {code}
        assert not Household.objects.filter(room="601").exists()


def test_a_resident_registered_outside_the_users_area_is_not_moved_into_it(world, registry) -> None:
    data = xlsx(
        residents=[resident(registry.mine.address, registry.plain["id_c"], sex="男", room="101")]
    )
    result = check_ledger(actor=world.users["community_staff"], source=io.BytesIO(data))
    assert _errors(result) == {("居民", 2, "身份证号", "registered_elsewhere")}


def test_an_id_number_typed_as_a_number_is_explained(world, registry) -> None:
    data = xlsx(residents=[resident(registry.mine.address, 1.10105194912310e17, room="101")])
    result = check_ledger(actor=world.users["community_staff"], source=io.BytesIO(data))
    assert {e.code for e in result.errors} == {"stored_as_number"}
    assert "文本格式" in result.errors[0].message


def test_file_level_problems_are_reported_not_raised(world, registry) -> None:
    staff = world.users["community_staff"]
    not_xlsx = check_ledger(actor=staff, source=io.BytesIO(b"name,id\n"))
    assert [e.code for e in not_xlsx.errors] == ["not_xlsx"]

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["随便", "什么"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert [
        e.code for e in check_ledger(actor=staff, source=io.BytesIO(buffer.getvalue())).errors
    ] == ["no_sheets"]

    workbook = Workbook()
    workbook.active.title = "居民"
    workbook.active.append(["楼栋地址", "单元", "房号", "姓名", "身份证号"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    missing = check_ledger(actor=staff, source=io.BytesIO(buffer.getvalue()))
    assert {(e.column, e.code) for e in missing.errors} == {
        ("性别", "missing_column"),
        ("人口类型", "missing_column"),
        ("与户主关系", "missing_column"),
    }


def test_the_template_offers_lists_an_example_and_notes_and_imports_as_nothing(world) -> None:
    data = sheets.write_template()
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["说明", "住户", "居民", "企业"]
    residents = workbook["居民"]
    assert [c.value for c in residents[1]][:6] == [
        "序号",
        "楼栋地址",
        "网格编码",
        "单元",
        "房号",
        "姓名",
    ]
    assert residents["A2"].value == "示例"
    lists = {str(v.sqref): v.formula1 for v in residents.data_validations.dataValidation}
    assert lists["G2:G1048576"] == '"男,女"'
    assert "户主" in lists["N2:N1048576"]
    notes = [row[0] for row in workbook["说明"].iter_rows(values_only=True)]
    assert any(str(n).startswith("3. 先检查后导入") for n in notes if n)

    result = check_ledger(actor=world.users["community_staff"], source=io.BytesIO(data))
    assert result.rows == 0 and result.errors == []


def _tags(resident: Resident) -> list[tuple[str, str]]:
    return [(t.group, t.disability_level) for t in ResidentTag.objects.filter(resident=resident)]


def test_tags_follow_the_sheet_and_keep_their_details(world, registry) -> None:
    address = registry.mine.address
    id_a = registry.plain["id_a"]  # 王秀英, tagged 独居老人 with a subsidy
    staff = world.users["community_staff"]
    row: dict[str, Any] = resident(
        address,
        id_a,
        name="王秀英",
        sex="女",
        mobile=registry.plain["mobile_a"],
        tags="独居老人、低保",
    )
    result = import_ledger(actor=staff, source=io.BytesIO(xlsx(residents=[row])))
    assert result.written
    wang = registry.residents["a"]
    assert sorted(_tags(wang)) == [("living_alone", ""), ("subsistence", "")]
    assert wang.tags.get(group="living_alone").subsidy_type == "高龄津贴"

    row.update(tags="残疾人", disability_level="")
    refused = check_ledger(actor=staff, source=io.BytesIO(xlsx(residents=[row])))
    assert _errors(refused) == {("居民", 2, "残疾等级", "invalid")}


def test_rows_are_read_whatever_the_sheet_names_and_column_order(world, registry) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sheet1"
    sheet.append(["产权", "房号", "单元", "楼栋地址"])
    sheet.append(["租住", 702, "1单元", registry.mine.address.replace("1号楼", " 1号楼 ")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = import_ledger(
        actor=world.users["community_staff"], source=io.BytesIO(buffer.getvalue())
    )
    assert result.written, result.errors
    assert Household.objects.get(room="702").tenure == "tenant"


def test_enterprise_rows_are_checked_with_gb_32100(world, registry) -> None:
    code = make_credit_code()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    data = xlsx(enterprises=[enterprise(registry.mine.address, wrong, contact_mobile="2345")])
    result = check_ledger(actor=world.users["community_staff"], source=io.BytesIO(data))
    assert _errors(result) == {
        ("企业", 2, "统一社会信用代码", "credit_code_check"),
        ("企业", 2, "联系电话", "invalid_mobile"),
    }


def test_the_command_checks_imports_and_exports_as_a_user(world, registry, tmp_path) -> None:
    from django.core.management import CommandError, call_command

    address = registry.mine.address
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx(households=[household(address, "1201")]))
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx(households=[household(address, "1202", tenure="借住")]))
    mobile = world.users["community_staff"].mobile

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("registry_ledger", "import", str(bad), "--as", mobile, stdout=io.StringIO())
    out = io.StringIO()
    call_command("registry_ledger", "check", str(good), "--as", mobile, stdout=out)
    assert "nothing written" in out.getvalue()
    assert not Household.objects.filter(room="1201").exists()
    call_command("registry_ledger", "import", str(good), "--as", mobile, stdout=io.StringIO())
    assert Household.objects.filter(room="1201").exists()

    exported = tmp_path / "out.xlsx"
    call_command("registry_ledger", "export", str(exported), "--as", mobile, stdout=io.StringIO())
    assert exported.stat().st_size > 0
    with pytest.raises(CommandError, match="--as"):
        call_command("registry_ledger", "check", str(good))


_ids = st.builds(
    lambda birth, male, seq, flip: (
        lambda good: good if flip is None else good[: flip[0]] + flip[1] + good[flip[0] + 1 :]
    )(make_id_number(birth=birth, sex="male" if male else "female", seq=seq)),
    st.dates(min_value=date(1870, 1, 1), max_value=date(2030, 1, 1)),
    st.booleans(),
    st.integers(0, 499),
    st.none() | st.tuples(st.integers(0, 17), st.sampled_from("0123456789Xx ")),
)


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(["", " ", "王秀英", " 李 ", "张" * 50, "张" * 51]),
    sex=st.sampled_from(["male", "female", "", "男"]),
    birth_date=st.none() | st.dates(min_value=date(1870, 1, 1), max_value=date(2030, 1, 1)),
    id_number=_ids,
    mobile=st.sampled_from(["", "13812345678", "12812345678", "1381234567", " 13912345678 "]),
    ethnicity=st.sampled_from(["", "汉族", "回族", "族" * 21]),
    political_status=st.sampled_from(["", "masses", "party_member", "群众"]),
    residence_type=st.sampled_from(["registered", "floating", "", "户籍"]),
    relation_to_head=st.sampled_from(["head", "child", "", "户主"]),
)
def test_the_fast_path_never_accepts_what_clean_resident_refuses(**values: Any) -> None:
    from django.utils import timezone

    from wangge.core.errors import ValidationFailed
    from wangge.registry.actions import ResidentInput, clean_resident

    fast = importer._plainly_valid(values, timezone.localdate())
    try:
        slow: dict[str, Any] | None = clean_resident(
            ResidentInput(**{**values, "political_status": values["political_status"] or "masses"})
        )
    except ValidationFailed:
        slow = None
    if fast is not None:
        assert slow == fast


def test_the_fast_path_takes_a_plainly_valid_row() -> None:
    from django.utils import timezone

    values = {
        "name": "王秀英",
        "sex": "female",
        "birth_date": None,
        "id_number": "11010519491231002x",
        "mobile": "13812345678",
        "ethnicity": "",
        "political_status": "",
        "residence_type": "registered",
        "relation_to_head": "head",
    }
    assert importer._plainly_valid(values, timezone.localdate()) == {
        "name": "王秀英",
        "sex": "female",
        "political_status": "masses",
        "residence_type": "registered",
        "relation_to_head": "head",
        "ethnicity": "汉族",
        "id_number": "11010519491231002X",
        "mobile": "13812345678",
        "birth_date": date(1949, 12, 31),
    }


def test_imported_changes_are_kept_in_the_residents_history(world, registry) -> None:
    from wangge.registry.models import ChangeKind, ResidentChange

    staff = world.users["community_staff"]
    wang = registry.residents["a"]
    row = resident(
        registry.mine.address,
        registry.plain["id_a"],
        room="102",
        name="王秀英",
        sex="女",
        mobile="15600001234",
        relation_to_head="父母",
    )
    assert import_ledger(actor=staff, source=io.BytesIO(xlsx(residents=[row]))).written
    edit = ResidentChange.objects.get(resident=wang, kind=ChangeKind.EDIT)
    assert edit.changes == {
        "relation_to_head": ["head", "parent"],
        "mobile": ["138****5678", "156****1234"],
    }
    assert (edit.user, edit.grid_code, edit.note) == (staff, registry.mine.grid.code, "台账导入")
    move = ResidentChange.objects.get(resident=wang, kind=ChangeKind.MOVE)
    assert (move.from_household, move.to_household) == (
        registry.households["101"],
        registry.households["102"],
    )
    assert registry.plain["mobile_a"] not in str(edit.changes)


def test_a_paired_party_member_keeps_party_status_and_community(world, registry, field) -> None:
    from wangge.registry import actions
    from wangge.registry.models import PartyMemberLink

    root = world.users["superuser"]
    member = field.member
    actions.link_household(
        actor=root, member_id=member.pk, household_id=field.neighbour_households[0].pk
    )
    id_number = protection.open_value(member.id_number_encrypted, purpose=protection.ID_NUMBER)
    row = resident(
        registry.mine.address, id_number, room="101", name=member.name, political_status="群众"
    )
    result = import_ledger(
        actor=world.users["street_staff"], source=io.BytesIO(xlsx(residents=[row]))
    )
    assert _errors(result) == {("居民", 2, "政治面貌", "linked_party_member")}
    assert PartyMemberLink.objects.filter(member=member).exists()
    member.refresh_from_db()
    assert member.political_status == "party_member"


def test_identifiers_in_error_lists_are_masked_like_the_pages_mask_them() -> None:
    ids = sheets.RESIDENTS.column("id_number")
    mobile = sheets.RESIDENTS.column("mobile")
    assert sheets.display_value(ids, "11010519491231002X") == "110105********002X"
    assert sheets.display_value(mobile, "13812345678") == "138****5678"
    assert sheets.display_value(mobile, "1390000") == "*******"
    assert sheets.display_value(sheets.RESIDENTS.column("name"), "王" * 80) == "王" * 60


def test_an_imported_move_to_another_building_takes_the_tags_along(world, registry) -> None:
    root = world.users["superuser"]
    wang = registry.residents["a"]  # tagged 独居老人 in registry.mine
    row = moved_resident(registry, tags="独居老人、低保")
    assert import_ledger(actor=root, source=io.BytesIO(xlsx(residents=[row]))).written

    assert Resident.objects.get(pk=wang.pk).household == registry.households["201"]
    assert set(ResidentTag.objects.filter(resident=wang).values_list("group", "building")) == {
        ("living_alone", registry.other.pk),
        ("subsistence", registry.other.pk),
    }
    assert tag_drift() == []


def test_the_dry_run_names_residents_who_would_move_or_be_renamed(world, registry) -> None:
    """A row matched by its ID number updates that resident wherever they live: the check
    says who would move to another flat or change their name, so the uploader can look."""
    root = world.users["superuser"]
    wang = registry.residents["a"]
    before = str(wang.household)
    rows = [moved_resident(registry)]
    result = check_ledger(actor=root, source=io.BytesIO(xlsx(residents=rows)))
    assert result.ok
    counts = result.counts[sheets.RESIDENTS.key]
    assert (counts.updated, counts.moved, counts.renamed) == (1, 1, 0)
    [notice] = result.notices
    assert notice.row == 2 and notice.sheet == sheets.RESIDENTS.title
    assert notice.message == f"王秀英 将从 {before} 迁到 {registry.households['201']}"
    assert Resident.objects.get(pk=wang.pk).household_id == wang.household_id  # a dry run

    renamed = [{**rows[0], "name": "王秀芳"}]
    result = check_ledger(actor=root, source=io.BytesIO(xlsx(residents=renamed)))
    counts = result.counts[sheets.RESIDENTS.key]
    assert (counts.moved, counts.renamed) == (1, 1)
    assert result.notices[0].message.endswith("；姓名将由 王秀英 改为 王秀芳")


def test_the_listed_moves_are_capped_and_the_counts_are_whole(
    world, registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "LISTED_NOTICES", 0)
    root = world.users["superuser"]
    row = moved_resident(registry)
    result = check_ledger(actor=root, source=io.BytesIO(xlsx(residents=[row])))
    assert result.counts[sheets.RESIDENTS.key].moved == 1 and result.notices == []
