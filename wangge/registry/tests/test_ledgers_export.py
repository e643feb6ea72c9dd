"""Exporting ledgers: masked by default; the full numbers only with the reveal permission and a
reason, audited; the file re-imports as the same records."""

import io

import pytest

from wangge.core.errors import DomainError, PermissionDenied
from wangge.registry.ledgers import exporter
from wangge.registry.ledgers.importer import import_ledger
from wangge.registry.models import AccessAction, AccessAudit, Resident
from wangge.registry.tests.factories import RegistryWorld
from wangge.registry.tests.ledger_files import read_rows


def _export(user, **kwargs) -> tuple[bytes, exporter.ExportSummary]:
    out = io.BytesIO()
    summary = exporter.export_ledgers(actor=user, out=out, **kwargs)
    return out.getvalue(), summary


def _plain_values(registry: RegistryWorld) -> list[str]:
    return [v for k, v in registry.plain.items()]


def _contains_any(data: bytes, values: list[str]) -> list[str]:
    rows = [
        str(cell)
        for title in ("住户", "居民", "企业", "说明")
        for row in read_rows(data, title)
        for cell in row
        if cell is not None
    ]
    return [v for v in values if any(v in cell for cell in rows)]


def test_the_default_export_is_masked_and_scoped(world, registry) -> None:
    data, summary = _export(world.users["community_staff"])
    assert summary == exporter.ExportSummary(
        rows={"households": 2, "residents": 2, "enterprises": 0}, revealed=False, audits=0
    )
    residents = read_rows(data, "居民")
    assert residents[0][:10] == (
        "序号",
        "楼栋地址",
        "网格编码",
        "单元",
        "房号",
        "姓名",
        "性别",
        "出生日期",
        "身份证号",
        "手机号",
    )
    wang = next(r for r in residents if r[5] == "王秀英")
    assert (wang[8], wang[9], wang[14]) == ("110105********002X", "138****5678", "独居老人")
    assert not any(r[5] == "李强" for r in residents)  # another community
    assert _contains_any(data, _plain_values(registry)) == []
    assert not AccessAudit.objects.exists()


def test_a_full_export_needs_a_reason_and_writes_one_audit_row_per_grid(world, registry) -> None:
    staff = world.users["community_staff"]
    with pytest.raises(DomainError) as refused:
        _export(staff, reveal_reason="看")
    assert refused.value.field == "reason"
    assert not AccessAudit.objects.exists()

    data, summary = _export(staff, reveal_reason="低保年审核对身份证号")
    assert summary.revealed and summary.rows["residents"] == 2
    assert sorted(_contains_any(data, _plain_values(registry))) == sorted(
        [registry.plain[k] for k in ("id_a", "mobile_a", "id_b", "mobile_b")]
    )
    audit = AccessAudit.objects.get()
    assert (audit.user, audit.action, audit.grid_code, audit.reason) == (
        staff,
        AccessAction.EXPORT,
        registry.mine.grid.code,
        "低保年审核对身份证号",
    )
    assert "居民 2 人" in audit.object_label and audit.fields == "id_number,mobile,contact_mobile"


@pytest.mark.parametrize("user", ["grid_worker", "building_head", "leader"])
def test_roles_that_may_not_reveal_cannot_export_full_numbers(world, registry, user) -> None:
    with pytest.raises(PermissionDenied):
        _export(world.users[user], reveal_reason="核对身份证号码")
    assert not AccessAudit.objects.exists()
    data, _summary = _export(world.users[user])
    assert _contains_any(data, _plain_values(registry)) == []


def test_a_full_export_imports_back_as_the_same_records(world, registry) -> None:
    staff = world.users["community_staff"]
    data, _summary = _export(staff, reveal_reason="台账备份后回导")
    count = Resident.objects.count()
    result = import_ledger(actor=staff, source=io.BytesIO(data))
    assert result.written, result.errors
    assert {k: (c.created, c.updated) for k, c in result.counts.items()} == {
        "households": (0, 0),
        "residents": (0, 0),
        "enterprises": (0, 0),
    }
    assert Resident.objects.count() == count


def test_a_masked_export_does_not_import_back(world, registry) -> None:
    staff = world.users["community_staff"]
    data, _summary = _export(staff, kinds=("residents",))
    result = import_ledger(actor=staff, source=io.BytesIO(data))
    assert not result.written
    assert {e.column for e in result.errors} == {"身份证号", "手机号"}
