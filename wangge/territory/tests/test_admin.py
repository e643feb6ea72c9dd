"""The territory admin: edits that change what an address names move the places version."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from wangge.core.tests.fixtures import World, login_as
from wangge.territory.models import Building, OrgUnit, TerritoryState


def _form(building: Building, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": building.name,
        "address": building.address,
        "lon": building.lon,
        "lat": building.lat,
        "unit_count": building.unit_count,
        "floors": building.floors,
        "household_count": building.household_count,
        "building_head": building.building_head_id or "",
    }
    data.update(changes)
    return data


def test_changing_or_deleting_a_building_in_the_admin_moves_the_places_version(
    world: World, client
) -> None:
    login_as(client, world.users["superuser"])
    building = world.buildings["110101002002002"]
    before = TerritoryState.current_versions()

    response = client.post(
        reverse("admin:territory_building_change", args=[building.pk]),
        _form(building, address="育群胡同改 9 号"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    building.refresh_from_db()
    assert building.address == "育群胡同改 9 号"
    changed = TerritoryState.current_versions()
    assert changed[0] == before[0] and changed[1] != before[1]

    response = client.post(
        reverse("admin:territory_building_delete", args=[building.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Building.objects.filter(pk=building.pk).exists()
    assert TerritoryState.current_versions()[1] != changed[1]


def test_a_code_that_does_not_fit_its_level_is_refused_in_words_not_by_constraint_name(
    world: World, client
) -> None:
    login_as(client, world.users["superuser"])
    district = next(u for u in world.units.values() if u.level == "district")
    form = {"code": "999", "name": "错码街道", "level": "street", "parent": district.pk}
    for language, expected in (
        ("zh-hans", "编码须为 9 位数字"),
        ("en", "code has 9 digits"),
    ):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        with translation.override(translation.get_language()):
            response = client.post(reverse("admin:territory_orgunit_add"), form)
        page = response.content.decode()
        assert response.status_code == 200
        assert expected in page
        assert "orgunit_code_length_matches_level" not in page
    assert not OrgUnit.objects.filter(name="错码街道").exists()


def test_a_unit_deleted_in_the_admin_leaves_the_address_finder(world: World, client) -> None:
    from wangge.cases.matching import locate_text
    from wangge.territory import actions

    community = world.unit("110101002001")
    grid = actions.create_unit(
        code=f"{community.code}099", name="临时测试网格", level="grid", parent=community
    )
    place = locate_text("临时测试网格东侧")
    assert place is not None and place.grid.pk == grid.pk
    login_as(client, world.users["superuser"])

    # Only a change to what an address names moves the places version.
    before = TerritoryState.current_versions()
    response = client.post(
        reverse("admin:territory_orgunit_change", args=[grid.pk]),
        {"name": grid.name, "population": 1200, "boundary": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert TerritoryState.current_versions() == before

    response = client.post(
        reverse("admin:territory_orgunit_delete", args=[grid.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not OrgUnit.objects.filter(pk=grid.pk).exists()
    assert locate_text("临时测试网格东侧") is None


def test_a_unit_or_building_the_actions_refuse_is_a_form_message_not_an_error_page(
    world: World, client
) -> None:
    login_as(client, world.users["superuser"])
    district = next(u for u in world.units.values() if u.level == "district")
    street = world.unit("110101002")
    cases = [
        ({"code": "110101999", "name": "无上级街道", "level": "street"}, "上级"),
        (
            {"code": "110102999", "name": "错上级街道", "level": "street", "parent": street.pk},
            "上级",
        ),
        (
            {"code": "110199999", "name": "错前缀街道", "level": "street", "parent": district.pk},
            "开头",
        ),
    ]
    with translation.override(translation.get_language()):
        for form, words in cases:
            response = client.post(reverse("admin:territory_orgunit_add"), form)
            assert response.status_code == 200, form
            assert words in response.content.decode()
        building = world.buildings["110101002002002"]
        outside = _form(building, address="火星路 1 号", lon=10.0, lat=10.0)
        response = client.post(reverse("admin:territory_building_add"), outside)
        assert response.status_code == 200
        assert "不在任何网格内" in response.content.decode()
        again = _form(building)
        response = client.post(reverse("admin:territory_building_add"), again)
        assert response.status_code == 200
        assert "已有地址为" in response.content.decode()
    assert not OrgUnit.objects.filter(name__endswith="街道", code__startswith="11010[29]").exists()


def test_the_code_length_constraint_speaks_in_words(world: World) -> None:
    unit = OrgUnit(code="999", name="错码", level="street")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        unit.validate_constraints()
    assert "编码位数与层级不符" in str(refused.value)
    assert "orgunit_code_length_matches_level" not in str(refused.value)


def test_a_grid_boundary_outside_its_community_or_removed_is_refused(world: World, client) -> None:
    """One grid drawn at (0, 0) stretched every map to the whole world and took no report."""
    import json

    grid = world.unit("110101001001001")
    before = grid.boundary
    url = reverse("admin:territory_orgunit_change", args=[grid.pk])
    far = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    login_as(client, world.users["superuser"])
    with translation.override(translation.get_language()):
        for boundary, words in ((json.dumps(far), "之外"), ("", "边界不能清空")):
            response = client.post(url, {"name": grid.name, "boundary": boundary})
            assert response.status_code == 200, boundary
            assert words in response.content.decode()
    grid.refresh_from_db()
    assert grid.boundary == json.loads(json.dumps(before))


def test_a_building_moved_out_of_its_grid_is_refused(world: World, client) -> None:
    from wangge.territory.tests.factories import center_of

    building = world.buildings["110101002002002"]
    url = reverse("admin:territory_building_change", args=[building.pk])
    elsewhere = center_of(world.unit("110101001001001"))
    login_as(client, world.users["superuser"])
    with translation.override(translation.get_language()):
        for lon, lat, words in ((0.0, 0.0, "不在任何网格内"), (*elsewhere, "不在本楼所属的")):
            response = client.post(url, _form(building, lon=lon, lat=lat))
            assert response.status_code == 200
            assert words in response.content.decode()
        near = _form(building, lon=building.lon + 1e-6, lat=building.lat)
        assert client.post(url, near).status_code == 302
    building.refresh_from_db()
    assert building.grid.code == "110101002002002"


def test_an_untouched_boundary_never_blocks_a_rename(world: World, client) -> None:
    """A grid that sticks out of a parent redrawn smaller can still be renamed."""
    import json

    grid = world.unit("110101001001001")
    far = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    OrgUnit.objects.filter(pk=grid.pk).update(boundary=far)
    login_as(client, world.users["superuser"])
    url = reverse("admin:territory_orgunit_change", args=[grid.pk])
    response = client.post(url, {"name": "改名网格", "boundary": json.dumps(far)})
    assert response.status_code == 302, response.content.decode()[:1500]
    grid.refresh_from_db()
    assert grid.name == "改名网格"
