"""Registry pages: masked by default everywhere, the audited reveal, the weekly check's one tap,
freshness and audits, and 404 outside scope."""

import pytest
from django.urls import reverse

from wangge.core.tests.fixtures import login_as
from wangge.registry.models import AccessAudit, Household
from wangge.registry.tests.factories import RegistryWorld


def assert_no_plaintext(body: str, registry: RegistryWorld) -> None:
    for value in registry.plain.values():
        assert value not in body


@pytest.mark.parametrize("name", ["grid_worker", "building_head", "community_staff", "admin"])
def test_pages_show_only_masked_numbers(name: str, registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users[name])
    urls = [
        reverse("registry:index"),
        reverse("registry:building", args=[registry.mine.pk]),
        reverse("registry:resident", args=[registry.residents["a"].pk]),
        reverse("registry:check"),
        reverse("registry:freshness"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert_no_plaintext(body, registry)
        assert "no-store" in response["Cache-Control"]
    body = client.get(
        reverse("registry:resident", args=[registry.residents["a"].pk])
    ).content.decode()
    assert "110105********002X" in body
    assert "138****5678" in body
    assert "独居老人" in body


def test_a_resident_outside_scope_is_404(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["grid_worker"])
    assert (
        client.get(reverse("registry:resident", args=[registry.residents["c"].pk])).status_code
        == 404
    )
    assert client.get(reverse("registry:building", args=[registry.other.pk])).status_code == 404
    response = client.post(
        reverse("registry:reveal", args=[registry.residents["c"].pk]), {"reason": "核对户籍信息"}
    )
    assert response.status_code == 404
    assert (
        client.post(reverse("registry:unchanged", args=[registry.households["201"].pk])).status_code
        == 404
    )


def test_users_without_a_registry_role_are_refused(world, client) -> None:
    for name in ("dispatcher", "department_handler", "resident"):
        login_as(client, world.users[name])
        assert client.get(reverse("registry:index")).status_code == 403
        assert client.get(reverse("registry:check")).status_code == 403


def test_community_staff_reveal_with_a_reason_and_it_is_audited(
    registry: RegistryWorld, world, client
) -> None:
    resident = registry.residents["a"]
    url = reverse("registry:reveal", args=[resident.pk])
    login_as(client, world.users["community_staff"])
    page = client.get(reverse("registry:resident", args=[resident.pk])).content.decode()
    assert "查看完整信息" in page

    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "请说明查看事由" in response.content.decode()
    assert not AccessAudit.objects.exists()

    response = client.post(url, {"reason": "办理残疾人补贴核对"})
    body = response.content.decode()
    assert response.status_code == 200
    assert registry.plain["id_a"] in body and registry.plain["mobile_a"] in body
    assert response["Cache-Control"].startswith("private")
    assert AccessAudit.objects.get().reason == "办理残疾人补贴核对"
    # The next plain visit is masked again.
    assert_no_plaintext(
        client.get(reverse("registry:resident", args=[resident.pk])).content.decode(), registry
    )


def test_a_grid_worker_gets_no_reveal_form_and_a_post_is_refused(
    registry: RegistryWorld, world, client
) -> None:
    resident = registry.residents["a"]
    login_as(client, world.users["grid_worker"])
    page = client.get(reverse("registry:resident", args=[resident.pk])).content.decode()
    assert 'name="reason"' not in page
    response = client.post(reverse("registry:reveal", args=[resident.pk]), {"reason": "想看看信息"})
    assert response.status_code == 403
    assert_no_plaintext(response.content.decode(), registry)
    assert not AccessAudit.objects.exists()


def test_the_weekly_check_takes_one_tap(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["building_head"])
    page = client.get(reverse("registry:check")).content.decode()
    assert "待核实 2 户" in page
    household = registry.households["101"]
    response = client.post(
        reverse("registry:unchanged", args=[household.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "已核实：无变化" in response.content.decode()
    assert Household.objects.get(pk=household.pk).last_verified_at is not None
    # Without JavaScript: a redirect back to the list.
    response = client.post(reverse("registry:unchanged", args=[registry.households["102"].pk]))
    assert response.status_code == 302
    page = client.get(reverse("registry:check")).content.decode()
    assert "本周住户都已核实" in page


def test_the_weekly_check_counts_every_household_due_not_only_those_listed(
    registry: RegistryWorld, world, client, monkeypatch
) -> None:
    from wangge.registry import selectors as registry_selectors

    shown = registry_selectors.due_households
    monkeypatch.setattr(
        registry_selectors, "due_households", lambda **kw: shown(**{**kw, "limit": 1})
    )
    login_as(client, world.users["building_head"])
    page = client.get(reverse("registry:check")).content.decode()
    assert "待核实 2 户，先列出最久未核实的 1 户" in page


def test_a_tap_updates_the_count_of_households_still_due(
    registry: RegistryWorld, world, client
) -> None:
    login_as(client, world.users["building_head"])
    building = registry.households["101"].building_id
    for room, left in (("101", "待核实 1 户"), ("102", "本周住户都已核实")):
        response = client.post(
            reverse("registry:unchanged", args=[registry.households[room].pk]),
            {"building": building},
            HTTP_HX_REQUEST="true",
        )
        body = response.content.decode()
        # The row, and out of band the page's count for the same building filter.
        assert 'id="due-count"' in body and 'hx-swap-oob="true"' in body
        assert left in body.split('id="due-count"', 1)[1]


def test_a_change_goes_back_to_the_check_as_it_was_filtered(
    registry: RegistryWorld, world, client
) -> None:
    login_as(client, world.users["building_head"])
    household = registry.households["102"]
    url = reverse("registry:change", args=[household.pk]) + f"?building={household.building_id}"
    page = client.get(url).content.decode()
    back = f"{reverse('registry:check')}?building={household.building_id}"
    assert f'href="{back}"' in page
    response = client.post(url, {"note": "新租户入住", "tenure": "tenant", "floor_area_m2": ""})
    assert response.status_code == 302 and response["Location"] == back


def test_a_change_is_recorded_from_the_form(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["building_head"])
    url = reverse("registry:change", args=[registry.households["102"].pk])
    response = client.post(url, {"note": "", "tenure": ""})
    assert response.status_code == 200
    response = client.post(url, {"note": "新租户入住", "tenure": "tenant", "floor_area_m2": ""})
    assert response.status_code == 302
    household = Household.objects.get(pk=registry.households["102"].pk)
    assert household.tenure == "tenant"
    assert household.checks.get().note == "新租户入住"


def test_only_admins_list_the_audits(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["community_staff"])
    client.post(
        reverse("registry:reveal", args=[registry.residents["a"].pk]), {"reason": "核对低保材料"}
    )
    assert client.get(reverse("registry:audits")).status_code == 403
    login_as(client, world.users["admin"])
    body = client.get(reverse("registry:audits")).content.decode()
    assert "核对低保材料" in body and "community_staff" in body
    assert_no_plaintext(body, registry)


def test_the_building_page_needs_a_fixed_number_of_queries(
    registry: RegistryWorld, world, client, django_assert_max_num_queries
) -> None:
    login_as(client, world.users["community_staff"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("registry:building", args=[registry.mine.pk])).status_code == 200


def test_the_admin_shows_masked_values_only(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["superuser"])
    from wangge.registry.models import Resident

    for url in (
        reverse("admin:registry_resident_changelist"),
        reverse("admin:registry_resident_change", args=[registry.residents["a"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_plaintext(response.content.decode(), registry)
    assert Resident.objects.count() == 3


def test_the_search_page_lists_masked_results(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["grid_worker"])
    response = client.get(reverse("registry:search"), {"q": "002X"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "王秀英" in body and "110105********002X" in body and "王小花" not in body
    assert_no_plaintext(body, registry)
    body = client.get(
        reverse("registry:search"), {"q": registry.plain["mobile_c"]}
    ).content.decode()
    assert "李强" not in body and "没有找到" in body


def test_the_building_list_is_paged_so_a_district_admin_never_gets_thousands_of_rows(
    world, client
) -> None:
    from wangge.registry import views
    from wangge.territory.models import Building

    grid = world.unit("110101001001001")
    Building.objects.bulk_create(
        Building(
            name=f"测试楼{i:03d}",
            address=f"测试路{i}号",
            grid=grid,
            lon=grid.centroid_lon or 116.4,
            lat=grid.centroid_lat or 39.9,
        )
        for i in range(views.BUILDINGS_PER_PAGE + 5)
    )
    login_as(client, world.users["admin"])
    first = client.get(reverse("registry:index"))
    total = Building.objects.count()
    assert first.context["page"].paginator.count == total
    assert len(first.context["buildings"]) == views.BUILDINGS_PER_PAGE
    last = client.get(
        reverse("registry:index"), {"page": first.context["page"].paginator.num_pages}
    )
    assert len(last.context["buildings"]) == total - views.BUILDINGS_PER_PAGE
    assert "上一页" in last.content.decode()
