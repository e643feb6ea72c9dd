"""GeoJSON boundary import: the real 东城区 streets, and broken files rejected all or nothing."""

import json
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import mapping, shape

from wangge.territory import actions
from wangge.territory.geo import area_m2
from wangge.territory.management.commands.import_boundaries import Command
from wangge.territory.models import Level, OrgUnit, TerritoryState
from wangge.territory.tests.realdata import dongcheng_outline, dongcheng_streets, nbs_streets

pytestmark = pytest.mark.django_db

BROKEN = 5  # the feature each broken file spoils (东四街道, code 110101006000)


@pytest.fixture
def district() -> OrgUnit:
    return actions.create_unit(
        code="110101", name="东城区", level=Level.DISTRICT, boundary=dongcheng_outline()
    )


def write(tmp_path: Path, data: Any, name: str = "streets.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run(path: Path, *args: str, level: str = "street") -> tuple[str, CommandError | None]:
    """The command's stdout, and its CommandError if it failed."""
    out = StringIO()
    try:
        call_command(
            "import_boundaries", str(path), "--level", level, *args, stdout=out, stderr=StringIO()
        )
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def line_for(out: str, kind: str, index: int) -> str:
    """The report line about feature `index` ("bad" or "repaired"); fails if there is none."""
    lines = [line for line in out.splitlines() if line.strip().startswith(f"{kind} #{index} (")]
    assert len(lines) == 1, f"expected one '{kind} #{index}' line in:\n{out}"
    return lines[0]


def bow_tie_inside(geometry: dict[str, Any], size: float = 0.002) -> dict[str, Any]:
    """A self-intersecting bow-tie well inside a real street."""
    x, y = shape(geometry).representative_point().coords[0]
    d = size / 2
    ring = [[x - d, y - d], [x + d, y + d], [x + d, y - d], [x - d, y + d], [x - d, y - d]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- the real file ---------------------------------------------------------------------------


def test_it_imports_the_17_real_dongcheng_streets_under_the_district(
    district: OrgUnit, tmp_path: Path
) -> None:
    version = TerritoryState.current_version()
    out, error = run(write(tmp_path, dongcheng_streets()))

    assert error is None
    assert "已导入：新建 17、更新 0、修复 0" in out
    streets = OrgUnit.objects.filter(level=Level.STREET)
    # 12-digit statistical codes (110101001000) are stored as the 9-digit NBS street codes.
    assert {s.code: s.name for s in streets} == nbs_streets("110101")
    assert all(s.parent == district for s in streets)
    assert streets.get(code="110101006").name == "东四街道"
    # The streets tile the district: their areas add up to the district's.
    assert sum(s.area_m2 or 0 for s in streets) == pytest.approx(district.area_m2, rel=1e-3)
    for street in streets:
        assert shape(street.boundary).is_valid
        west, south, east, north = street.bbox
        assert west <= (street.centroid_lon or 0) <= east
        assert south <= (street.centroid_lat or 0) <= north
    assert TerritoryState.current_version() != version


def test_a_dry_run_reports_but_writes_nothing(district: OrgUnit, tmp_path: Path) -> None:
    version = TerritoryState.current_version()

    out, error = run(write(tmp_path, dongcheng_streets()), "--dry-run")

    assert error is None
    assert "试运行" in out
    assert "将新建 17、更新 0" in out
    assert OrgUnit.objects.count() == 1
    assert TerritoryState.current_version() == version


def test_a_second_import_updates_instead_of_duplicating(district: OrgUnit, tmp_path: Path) -> None:
    run(write(tmp_path, dongcheng_streets()))
    before = dict(OrgUnit.objects.filter(level=Level.STREET).values_list("code", "pk"))
    again = dongcheng_streets()
    again["features"][BROKEN]["properties"]["Name"] = "东四街道（新）"

    out, error = run(write(tmp_path, again, "again.geojson"))

    assert error is None
    assert "新建 0、更新 17" in out
    after = dict(OrgUnit.objects.filter(level=Level.STREET).values_list("code", "pk"))
    assert after == before
    assert OrgUnit.objects.get(code="110101006").name == "东四街道（新）"


def test_it_takes_the_parent_from_the_command_line(district: OrgUnit, tmp_path: Path) -> None:
    _out, error = run(write(tmp_path, dongcheng_streets()), "--parent", "110101")

    assert error is None
    assert OrgUnit.objects.filter(level=Level.STREET, parent=district).count() == 17


def test_it_reads_codes_written_as_text_or_as_spreadsheet_floats(
    district: OrgUnit, tmp_path: Path
) -> None:
    data = dongcheng_streets()
    data["features"][0]["properties"]["code"] = "110101001000"
    data["features"][1]["properties"]["code"] = 110101002000.0
    data["features"][2]["properties"]["code"] = "110101003"
    data["features"][2]["properties"].pop("parentCode")

    out, error = run(write(tmp_path, data))

    assert error is None, out
    assert set(
        OrgUnit.objects.filter(code__in=["110101001", "110101002", "110101003"]).values_list(
            "code", flat=True
        )
    ) == {"110101001", "110101002", "110101003"}


def test_it_imports_communities_under_imported_streets(district: OrgUnit, tmp_path: Path) -> None:
    run(write(tmp_path, dongcheng_streets()))
    street = OrgUnit.objects.get(code="110101001")
    west, south, east, north = street.bbox
    middle = (west + east) / 2
    whole = shape(street.boundary)
    halves = [
        whole.intersection(shape(_box(west - 1, south - 1, middle, north + 1))),
        whole.intersection(shape(_box(middle, south - 1, east + 1, north + 1))),
    ]
    communities = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                # A 12-digit community code and a zero-padded parent code, as the NBS writes them.
                "properties": {
                    "name": f"社区{k}",
                    "code": f"110101001{k:03d}",
                    "parentCode": "110101001000",
                },
                "geometry": mapping(half),
            }
            for k, half in enumerate(halves, start=1)
        ],
    }

    out, error = run(write(tmp_path, communities, "communities.geojson"), level="community")

    assert error is None, out
    created = OrgUnit.objects.filter(level=Level.COMMUNITY).order_by("code")
    assert [c.code for c in created] == ["110101001001", "110101001002"]
    assert all(c.parent == street for c in created)


def _box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- repairs ---------------------------------------------------------------------------------


def test_it_repairs_a_self_intersecting_bow_tie_and_says_so(
    district: OrgUnit, tmp_path: Path
) -> None:
    data = dongcheng_streets()
    feature = data["features"][BROKEN]
    feature["geometry"] = bow_tie_inside(feature["geometry"])
    assert not shape(feature["geometry"]).is_valid

    out, error = run(write(tmp_path, data))

    assert error is None, out
    assert "Self-intersection" in line_for(out, "repaired", BROKEN)
    assert "110101006" in line_for(out, "repaired", BROKEN)
    stored = shape(OrgUnit.objects.get(code="110101006").boundary)
    assert stored.is_valid
    assert stored.geom_type == "MultiPolygon"  # the two triangles of the bow-tie
    assert OrgUnit.objects.filter(level=Level.STREET).count() == 17


# --- broken files: every one names the feature and the reason, and writes nothing --------------


def _unrepairable(f: dict[str, Any]) -> str:
    ring = f["geometry"]["coordinates"][0]
    # Every vertex pushed onto one latitude: the ring folds onto a line and encloses nothing.
    f["geometry"]["coordinates"] = [[[x, ring[0][1]] for x, _y in ring]]
    return "无法修复"


def _line_string(f: dict[str, Any]) -> str:
    f["geometry"] = {"type": "LineString", "coordinates": f["geometry"]["coordinates"][0]}
    return "必须是 Polygon 或 MultiPolygon，而不是 LineString"


def _unknown_parent(f: dict[str, Any]) -> str:
    f["properties"]["parentCode"] = 110199000000
    return "上级区/县 110199 不存在"


def _outside_parent(f: dict[str, Any]) -> str:
    ring = f["geometry"]["coordinates"][0]
    f["geometry"]["coordinates"] = [[[x + 0.5, y] for x, y in ring]]  # 40 km east
    return "100% 的面积在上级 东城区 之外"


def _missing_code(f: dict[str, Any]) -> str:
    del f["properties"]["code"]
    return "缺少编码属性 code"


def _missing_name(f: dict[str, Any]) -> str:
    del f["properties"]["Name"]
    return "缺少名称属性 name"


def _wrong_code_length(f: dict[str, Any]) -> str:
    f["properties"]["code"] = 1101010060
    return "街道/乡镇编码须为 9 位数字"


def _padded_parent_code(f: dict[str, Any]) -> str:
    f["properties"]["code"] = 110101000000
    return "是上级编码补零而非街道/乡镇编码"


def _no_area(f: dict[str, Any]) -> str:
    x, y = f["geometry"]["coordinates"][0][0]
    f["geometry"]["coordinates"] = [[[x, y], [x + 0.01, y + 0.01], [x + 0.02, y + 0.02], [x, y]]]
    return "边界面积几乎为零"


def _out_of_range(f: dict[str, Any]) -> str:
    # Projected metres (e.g. Web Mercator) instead of degrees.
    f["geometry"]["coordinates"] = [
        [[x * 111_000, y * 111_000] for x, y in f["geometry"]["coordinates"][0]]
    ]
    return "须为 WGS84 经度/纬度"


def _not_a_feature(f: dict[str, Any]) -> str:
    geometry = f.pop("geometry")
    f.clear()
    f.update(geometry)
    return "不是 GeoJSON Feature 对象"


@pytest.mark.parametrize(
    "spoil",
    [
        _unrepairable,
        _line_string,
        _unknown_parent,
        _outside_parent,
        _missing_code,
        _missing_name,
        _wrong_code_length,
        _padded_parent_code,
        _no_area,
        _out_of_range,
        _not_a_feature,
    ],
    ids=lambda spoil: spoil.__name__.strip("_"),
)
def test_it_rejects_a_bad_feature_naming_it_and_writes_nothing(
    district: OrgUnit, tmp_path: Path, spoil: Callable[[dict[str, Any]], str]
) -> None:
    data = dongcheng_streets()
    reason = spoil(data["features"][BROKEN])
    version = TerritoryState.current_version()

    out, error = run(write(tmp_path, data))

    assert error is not None and error.returncode == 1
    assert reason in line_for(out, "bad", BROKEN)
    assert "17 个要素中 1 个有问题，未写入任何数据" in out
    assert OrgUnit.objects.count() == 1
    assert TerritoryState.current_version() == version


def test_it_rejects_a_duplicate_code_naming_both_features(
    district: OrgUnit, tmp_path: Path
) -> None:
    data = dongcheng_streets()
    data["features"][BROKEN]["properties"]["code"] = data["features"][2]["properties"]["code"]

    out, error = run(write(tmp_path, data))

    assert error is not None and error.returncode == 1
    assert "编码与第 2 个要素重复" in line_for(out, "bad", BROKEN)
    assert OrgUnit.objects.count() == 1


def test_it_rejects_a_street_drawn_over_another(district: OrgUnit, tmp_path: Path) -> None:
    data = dongcheng_streets()
    data["features"][BROKEN]["geometry"] = data["features"][4]["geometry"]

    out, error = run(write(tmp_path, data))

    assert error is not None
    assert "与 #4 重叠 100%" in line_for(out, "bad", BROKEN)
    assert OrgUnit.objects.count() == 1


def test_it_rejects_a_street_over_one_already_imported(district: OrgUnit, tmp_path: Path) -> None:
    data = dongcheng_streets()
    run(write(tmp_path, {"type": "FeatureCollection", "features": data["features"][:5]}))
    newcomer = data["features"][BROKEN]
    newcomer["geometry"] = data["features"][4]["geometry"]

    out, error = run(
        write(tmp_path, {"type": "FeatureCollection", "features": [newcomer]}, "b.geojson")
    )

    assert error is not None
    assert "与 110101005 北新桥街道 重叠" in line_for(out, "bad", 0)
    assert OrgUnit.objects.count() == 6


def test_it_reports_every_bad_feature_and_the_repaired_ones_but_imports_none(
    district: OrgUnit, tmp_path: Path
) -> None:
    data = dongcheng_streets()
    features = data["features"]
    features[1]["geometry"] = bow_tie_inside(features[1]["geometry"])
    _line_string(features[3])
    _missing_name(features[9])
    _outside_parent(features[16])

    out, error = run(write(tmp_path, data))

    assert error is not None and error.returncode == 1
    assert "17 个要素中 3 个有问题" in out
    assert "Self-intersection" in line_for(out, "repaired", 1)
    assert "LineString" in line_for(out, "bad", 3)
    assert "缺少名称属性 name" in line_for(out, "bad", 9)
    assert "的面积在上级 东城区 之外" in line_for(out, "bad", 16)
    # The 13 good streets and the repaired one are not imported either: all or nothing.
    assert OrgUnit.objects.count() == 1


def test_the_action_raises_with_the_report(district: OrgUnit) -> None:
    data = dongcheng_streets()
    _missing_code(data["features"][BROKEN])

    with pytest.raises(actions.ImportRejected) as caught:
        actions.import_boundaries(features=data["features"], level=Level.STREET)

    (problem,) = caught.value.report.problems
    assert problem.index == BROKEN
    assert problem.name == "东四街道"
    assert "缺少编码属性 code" in problem.reason
    assert caught.value.field == "features"
    assert OrgUnit.objects.count() == 1


def test_a_parent_given_on_the_command_line_must_match_each_feature(
    district: OrgUnit, tmp_path: Path
) -> None:
    actions.create_unit(code="110102", name="西城区", level=Level.DISTRICT)

    out, error = run(write(tmp_path, dongcheng_streets()), "--parent", "110102")

    assert error is not None and error.returncode == 1
    assert "与指定的上级 110102 不符" in line_for(out, "bad", 0)
    assert OrgUnit.objects.count() == 2


# --- the file itself -----------------------------------------------------------------------


def test_it_refuses_a_file_that_is_not_a_feature_collection(
    district: OrgUnit, tmp_path: Path
) -> None:
    path = write(tmp_path, dongcheng_streets()["features"][0], "one-feature.geojson")

    _out, error = run(path)

    assert error is not None and error.returncode == 2
    assert str(path) in str(error)
    assert "not a GeoJSON FeatureCollection" in str(error)
    assert "got Feature" in str(error)
    assert OrgUnit.objects.count() == 1


def test_it_refuses_a_file_that_is_not_json(district: OrgUnit, tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")

    _out, error = run(path)

    assert error is not None and error.returncode == 2
    assert str(path) in str(error)
    assert "not valid JSON" in str(error)


def test_it_refuses_a_missing_file(district: OrgUnit, tmp_path: Path) -> None:
    path = tmp_path / "nowhere.geojson"

    _out, error = run(path)

    assert error is not None and error.returncode == 2
    assert str(path) in str(error)
    assert "file not found" in str(error)


def test_it_refuses_an_unknown_parent_on_the_command_line(
    district: OrgUnit, tmp_path: Path
) -> None:
    _out, error = run(write(tmp_path, dongcheng_streets()), "--parent", "110199")

    assert error is not None and error.returncode == 2
    assert "上级编码 110199 不存在" in str(error)


def test_it_refuses_a_district_level(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_boundaries", str(tmp_path / "x.geojson"), "--level", "district")


# --- as run from a shell ---------------------------------------------------------------------


@pytest.fixture
def shell(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str, str]]:
    """Run the command as manage.py would: (exit status, stdout, stderr)."""
    # run_from_argv closes every connection when done, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)

    def shell_run(*argv: str) -> tuple[int, str, str]:
        try:
            Command().run_from_argv(["manage.py", "import_boundaries", *argv])
            status = 0
        except SystemExit as exit_:
            status = int(exit_.code or 0)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return shell_run


def test_its_exit_status_tells_success_from_rejection(
    district: OrgUnit, tmp_path: Path, shell: Callable[..., tuple[int, str, str]]
) -> None:
    data = dongcheng_streets()
    good = write(tmp_path, data)
    _line_string(data["features"][BROKEN])
    bad = write(tmp_path, data, "bad.geojson")

    status, out, err = shell(str(bad), "--level", "street")
    assert status == 1
    assert "bad #5 (110101006 东四街道)" in out
    assert "未导入任何数据" in err
    assert OrgUnit.objects.count() == 1

    status, out, err = shell(str(tmp_path / "missing.geojson"), "--level", "street")
    assert status == 2
    assert "missing.geojson" in err

    status, out, err = shell(str(good), "--level", "street")
    assert status == 0
    assert "新建 17" in out
    assert OrgUnit.objects.count() == 18


def test_the_boundaries_of_imported_streets_agree_with_the_source(
    district: OrgUnit, tmp_path: Path
) -> None:
    data = dongcheng_streets()
    run(write(tmp_path, data))

    for feature in data["features"]:
        code = str(feature["properties"]["code"])[:9]
        stored = shape(OrgUnit.objects.get(code=code).boundary)
        source = shape(feature["geometry"])
        assert area_m2(stored.symmetric_difference(source)) < 1.0
