"""The territory browser's pages: tree, panel, htmx fragments, map data, and their query counts."""

import json

import pytest
from django.urls import reverse

from wangge.core.tests.fixtures import World, login_as
from wangge.territory import actions
from wangge.territory.models import Level
from wangge.territory.tests.factories import box

HX = {"HTTP_HX_REQUEST": "true"}


def unit_url(code: str) -> str:
    return reverse("territory:unit", args=[code])


def add_grids_and_buildings(world: World, grids: int = 6) -> None:
    """More rows under community 110101001001 (thin strips south of the fixture's box)."""
    community = world.unit("110101001001")
    for n in range(grids):
        grid = actions.create_unit(
            code=f"110101001001{n + 3:03d}",
            name=f"加测网格{n + 3}",
            level=Level.GRID,
            parent=community,
            boundary=box(116.0 + n * 0.01, 39.9, 116.0 + (n + 1) * 0.01, 39.905),
        )
        actions.create_building(
            name=f"{n + 3}号楼",
            address=f"{grid.name}{n + 3}号楼",
            lon=116.005 + n * 0.01,
            lat=39.9025,
            building_head=world.users["building_head"],
        )


def test_the_browser_opens_the_only_root_with_its_children_in_the_tree(
    world: World, client
) -> None:
    login_as(client, world.users["street_staff"])
    response = client.get(reverse("territory:browser"))
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["unit"].code == "110101001"
    # The street is open in the tree, its communities listed by their short names.
    assert 'aria-controls="kids-110101001"' in html
    assert ">第1社区</a>" in html
    assert "第2街道" not in html


def test_a_unit_page_opens_the_tree_down_to_the_unit(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    html = client.get(unit_url("110101001001001")).content.decode()
    for code in ("110101", "110101001", "110101001001"):
        assert f'aria-expanded="true" aria-controls="kids-{code}"' in html
    # Siblings on the path are listed but not loaded.
    assert 'aria-expanded="false" aria-controls="kids-110101002"' in html
    assert 'data-code="110101001001001" hx-get' in html
    assert 'aria-current="page"' in html


def test_a_grid_page_lists_its_buildings_and_links_to_its_public_card(world: World, client) -> None:
    login_as(client, world.users["grid_worker"])
    html = client.get(unit_url("110101001001001")).content.decode()
    assert reverse("territory:grid_card", args=["110101001001001"]) in html
    assert "第1街道第1社区第1网格1号楼" in html
    assert "building_head" in html


def test_a_grid_page_counts_the_households_registered_in_each_building(
    world: World, client
) -> None:
    """户数 is what the registry holds (building heads keep it fresh), not the design count."""
    import re

    from wangge.registry.models import Household

    building = world.buildings["110101001001001"]
    building.household_count = 48
    building.save(update_fields=["household_count"])
    registered = Household.objects.filter(building=building).count()
    login_as(client, world.users["grid_worker"])
    html = client.get(unit_url("110101001001001")).content.decode()
    assert re.findall(r'data-testid="households">(\d+)<', html) == [str(registered)]
    from wangge.registry.tests.factories import add_household

    add_household(world.users["superuser"], building, "909")
    html = client.get(unit_url("110101001001001")).content.decode()
    assert re.findall(r'data-testid="households">(\d+)<', html) == [str(registered + 1)]


def test_an_htmx_request_gets_the_panel_only(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    response = client.get(unit_url("110101001"), **HX)
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-unit-code="110101001"' in html
    assert "<title>第1街道" in html
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    response = client.get(unit_url("110101001"), **HX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_the_children_fragment_lists_the_next_level_collapsed(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    response = client.get(reverse("territory:children", args=["110101001"]), **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.count('class="node"') == 2
    assert 'hx-get="/territory/units/110101001001/children/"' in html
    assert ">第1社区</a>" in html


def test_a_grid_has_no_children_to_expand(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    html = client.get(reverse("territory:children", args=["110101001001001"])).content.decode()
    assert "没有下级单元" in html


@pytest.mark.parametrize(
    "name", ["territory:unit", "territory:children", "territory:grids_geojson"]
)
def test_territory_urls_are_404_outside_scope(world: World, client, name: str) -> None:
    login_as(client, world.users["community_staff"])
    assert client.get(reverse(name, args=["110101002"])).status_code == 404
    assert client.get(reverse(name, args=["110101001001"])).status_code == 200


def test_the_map_data_holds_the_childrens_boundaries_with_short_labels(
    world: World, client
) -> None:
    login_as(client, world.users["dispatcher"])
    response = client.get(reverse("territory:grids_geojson", args=["110101001001"]))
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    props = [f["properties"] for f in data["features"]]
    assert [p["code"] for p in props] == ["110101001001001", "110101001001002"]
    assert [p["label"] for p in props] == ["第1网格", "第2网格"]
    assert all(f["geometry"]["type"] == "Polygon" for f in data["features"])


def test_a_grids_map_data_is_its_own_boundary_and_its_buildings(world: World, client) -> None:
    login_as(client, world.users["grid_worker"])
    response = client.get(reverse("territory:grids_geojson", args=["110101001001001"]))
    kinds = [f["geometry"]["type"] for f in json.loads(response.content)["features"]]
    assert kinds == ["Polygon", "Point"]


def test_level_grid_gives_every_grid_under_a_unit(world: World, client) -> None:
    login_as(client, world.users["dispatcher"])
    url = reverse("territory:grids_geojson", args=["110101"]) + "?level=grid"
    assert len(json.loads(client.get(url).content)["features"]) == 8


@pytest.mark.parametrize("extra", [0, 6])
def test_the_unit_page_query_count_does_not_grow_with_rows(
    world: World, client, django_assert_max_num_queries, extra: int
) -> None:
    add_grids_and_buildings(world, extra)
    login_as(client, world.users["dispatcher"])
    for code in ("110101", "110101001001", "110101001001001"):
        with django_assert_max_num_queries(11):
            assert client.get(unit_url(code)).status_code == 200
        with django_assert_max_num_queries(9):
            assert client.get(unit_url(code), **HX).status_code == 200


@pytest.mark.parametrize("extra", [0, 6])
def test_the_children_fragment_query_count_does_not_grow_with_rows(
    world: World, client, django_assert_max_num_queries, extra: int
) -> None:
    add_grids_and_buildings(world, extra)
    login_as(client, world.users["dispatcher"])
    with django_assert_max_num_queries(5):
        response = client.get(reverse("territory:children", args=["110101001001"]), **HX)
    assert response.content.decode().count('class="node"') == 2 + extra


def test_the_map_data_query_count_does_not_grow_with_rows(
    world: World, client, django_assert_max_num_queries
) -> None:
    add_grids_and_buildings(world, 6)
    login_as(client, world.users["dispatcher"])
    with django_assert_max_num_queries(5):
        client.get(reverse("territory:grids_geojson", args=["110101001001"]))


def test_a_grid_workers_breadcrumb_links_only_pages_they_may_open(world: World, client) -> None:
    """Above their own grid the units are named, not linked (their pages are not found)."""
    import re

    login_as(client, world.users["grid_worker"])
    grid = "110101001001001"
    body = client.get(reverse("territory:unit", args=[grid])).content.decode()
    crumbs = re.search(r'<nav class="breadcrumb".*?</nav>', body, re.S).group(0)
    links = re.findall(r'href="(/territory/units/\d+/)"', crumbs)
    assert links == []
    assert world.unit("110101001001").name in crumbs  # the community, as text
    for code in ("110101", "110101001", "110101001001"):
        assert client.get(reverse("territory:unit", args=[code])).status_code == 404
    login_as(client, world.users["street_staff"])
    body = client.get(reverse("territory:unit", args=[grid])).content.decode()
    crumbs = re.search(r'<nav class="breadcrumb".*?</nav>', body, re.S).group(0)
    assert reverse("territory:unit", args=["110101001001"]) in crumbs


def test_the_counts_are_plural_in_english(world: World, client) -> None:
    from django.utils import translation

    login_as(client, world.users["dispatcher"])
    with translation.override(translation.get_language()):  # the request switches it
        english = client.get(unit_url("110101001"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(unit_url("110101001")).content.decode()
    for label in ("Communities", "Grids", "Buildings"):
        assert f"<dt>{label}</dt>" in english
    assert "<dt>楼栋</dt>" in chinese
