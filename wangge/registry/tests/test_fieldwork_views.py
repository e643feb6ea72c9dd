"""Field work pages: the household page, visits and turning one into a case, the coverage
report, 联户 management, editing and moving residents. Masked numbers only, 404 outside scope,
403 for readers who may not write."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from wangge.cases.models import Case, Category
from wangge.core.tests.fixtures import login_as
from wangge.registry import actions
from wangge.registry.models import Household, PartyMemberLink, Resident, ResidentChange, Visit
from wangge.registry.tests.factories import RegistryWorld, make_id_number
from wangge.registry.tests.field_factories import FieldWorld
from wangge.registry.tests.test_views import assert_no_plaintext


@pytest.fixture
def visit(registry: RegistryWorld, world) -> Visit:
    return actions.record_visit(
        actor=world.users["grid_worker"],
        household_id=registry.households["101"].pk,
        purpose="care",
        findings="老人独居，家中燃气灶老化",
        needs="希望更换燃气灶",
    )


def new_pages(registry: RegistryWorld, field: FieldWorld, visit: Visit) -> list[str]:
    resident = registry.residents["a"]
    return [
        reverse("registry:household", args=[registry.households["101"].pk]),
        reverse("registry:visit_create", args=[registry.households["101"].pk]),
        reverse("registry:visits"),
        reverse("registry:visits") + "?mine=1",
        reverse("registry:visit", args=[visit.pk]),
        reverse("registry:coverage"),
        reverse("registry:coverage") + "?level=community",
        reverse("registry:coverage") + "?unit=110101001001001",
        reverse("registry:links"),
        reverse("registry:link_member", args=[field.member.pk]),
        reverse("registry:link_member", args=[field.member.pk]) + f"?building={registry.mine.pk}",
        reverse("registry:resident_edit", args=[resident.pk]),
        reverse("registry:resident_move", args=[resident.pk]),
        reverse("registry:resident_move", args=[resident.pk]) + f"?building={registry.mine.pk}",
        reverse("registry:resident", args=[resident.pk]),
    ]


@pytest.mark.parametrize("name", ["grid_worker", "community_staff", "street_staff", "admin"])
def test_every_new_page_shows_only_masked_numbers(
    name: str, registry: RegistryWorld, field: FieldWorld, visit: Visit, world, client
) -> None:
    staff = world.users["community_staff"]
    actions.link_household(
        actor=staff, member_id=field.member.pk, household_id=registry.households["101"].pk
    )
    resident = registry.residents["a"]
    actions.update_resident(
        actor=staff,
        resident_id=resident.pk,
        data=actions.ResidentInput(
            name=resident.name,
            sex=resident.sex,
            birth_date=resident.birth_date,
            mobile="13812345679",
            relation_to_head=resident.relation_to_head,
        ),
    )
    registry.plain["mobile_new"] = "13812345679"
    login_as(client, world.users[name])
    for url in new_pages(registry, field, visit):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_no_plaintext(response.content.decode(), registry)
        assert "no-store" in response["Cache-Control"], url
    body = client.get(reverse("registry:resident", args=[resident.pk])).content.decode()
    assert "138****5678" in body and "138****5679" in body  # the change, masked
    body = client.get(
        reverse("registry:household", args=[registry.households["101"].pk])
    ).content.decode()
    assert "赵红" in body and "老人独居" in body


def test_pages_outside_scope_are_404_and_readers_get_no_forms(
    registry: RegistryWorld, field: FieldWorld, visit: Visit, world, client
) -> None:
    other_visit = actions.record_visit(
        actor=world.users["admin"],
        household_id=registry.households["201"].pk,
        purpose="routine",
        findings="正常",
    )
    login_as(client, world.users["grid_worker"])
    for url in (
        reverse("registry:household", args=[registry.households["201"].pk]),
        reverse("registry:visit_create", args=[registry.households["201"].pk]),
        reverse("registry:visit", args=[other_visit.pk]),
        reverse("registry:resident_edit", args=[registry.residents["c"].pk]),
        reverse("registry:resident_move", args=[registry.residents["c"].pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("registry:visit_case", args=[other_visit.pk]), {"title": "x"}
        ).status_code
        == 404
    )
    # The grid worker reads the party members' pairs but cannot change them.
    page = client.get(reverse("registry:link_member", args=[field.member.pk])).content.decode()
    assert "添加联系户" not in page
    response = client.post(
        reverse("registry:link_add", args=[field.member.pk]),
        {"household": registry.households["102"].pk},
    )
    assert response.status_code == 403 and not PartyMemberLink.objects.exists()

    login_as(client, world.users["leader"])
    page = client.get(
        reverse("registry:household", args=[registry.households["101"].pk])
    ).content.decode()
    assert "记录走访" not in page
    assert "转为事件" not in client.get(reverse("registry:visit", args=[visit.pk])).content.decode()
    for url in (
        reverse("registry:visit_create", args=[registry.households["101"].pk]),
        reverse("registry:resident_edit", args=[registry.residents["a"].pk]),
        reverse("registry:resident_move", args=[registry.residents["a"].pk]),
    ):
        assert client.get(url).status_code == 403, url

    login_as(client, world.users["dispatcher"])
    for name in ("visits", "coverage", "links"):
        assert client.get(reverse(f"registry:{name}")).status_code == 403


def test_a_visit_is_recorded_and_turned_into_a_case_from_the_pages(
    registry: RegistryWorld, world, client
) -> None:
    login_as(client, world.users["grid_worker"])
    url = reverse("registry:visit_create", args=[registry.households["101"].pk])
    response = client.post(url, {"purpose": "knock", "findings": "", "needs": ""})
    assert response.status_code == 422
    assert "发现情况" in response.content.decode() and not Visit.objects.exists()
    response = client.post(
        url, {"purpose": "knock", "findings": "门口电动车充电\n飞线", "needs": ""}
    )
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "registry:visit", args=[visit.pk]
    )
    page = client.get(response["Location"]).content.decode()
    assert "转为事件" in page and 'value="门口电动车充电"' in page

    case_url = reverse("registry:visit_case", args=[visit.pk])
    response = client.post(case_url, {"category": "", "title": "飞线充电"})
    assert response.status_code == 422 and not Case.objects.exists()
    category = Category.objects.filter(parent__isnull=False, is_active=True).first()
    response = client.post(case_url, {"category": category.pk, "title": "飞线充电"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert Visit.objects.get().case == case and case.category == category
    page = client.get(response["Location"]).content.decode()
    assert case.tracking_code in page and "转为事件</button>" not in page
    # A second post (a double tap) makes no second case.
    response = client.post(case_url, {"category": category.pk, "title": "飞线充电"})
    assert response.status_code == 409
    assert "该走访已转为事件" in response.content.decode()
    assert Case.objects.count() == 1


def test_a_visit_finding_about_utilities_becomes_a_case_with_its_answers(
    registry: RegistryWorld, world, client
) -> None:
    """Categories with required questions (水电气暖: which utility) are offered too: the
    questions are asked on the visit page."""
    visit = actions.record_visit(
        actor=world.users["grid_worker"],
        household_id=registry.households["101"].pk,
        purpose="knock",
        findings="楼里停水两天",
    )
    utilities = Category.objects.get(code="utilities")
    login_as(client, world.users["grid_worker"])
    page = client.get(reverse("registry:visit", args=[visit.pk])).content.decode()
    assert f'<option value="{utilities.pk}"' in page
    assert f'name="answer-{utilities.pk}-utility"' in page

    case_url = reverse("registry:visit_case", args=[visit.pk])
    response = client.post(case_url, {"category": utilities.pk, "title": "停水"})
    assert response.status_code == 422 and not Case.objects.exists()
    assert "请回答“类型”" in response.content.decode()
    response = client.post(
        case_url,
        {"category": utilities.pk, "title": "停水", f"answer-{utilities.pk}-utility": "水"},
    )
    assert response.status_code == 302
    assert Case.objects.get().answers == {"utility": "水"}


def test_coverage_page_shows_the_numbers_and_the_unvisited(
    registry: RegistryWorld, world, client
) -> None:
    actions.tag_resident(
        actor=world.users["superuser"], resident=registry.residents["c"], group="veteran"
    )
    actions.record_visit(
        actor=world.users["superuser"],
        household_id=registry.households["201"].pk,
        purpose="care",
        findings="正常",
    )
    login_as(client, world.users["admin"])
    page = client.get(reverse("registry:coverage")).content.decode()
    assert "特殊人群共 2 户，本月已走访 1 户" in page
    page = client.get(reverse("registry:coverage"), {"unit": "110101001001001"}).content.decode()
    assert f'data-testid="coverage-{registry.households["101"].pk}"' in page and "未走访" in page
    last = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    page = client.get(reverse("registry:coverage"), {"month": last}).content.decode()
    assert "特殊人群共 2 户，本月已走访 0 户" in page
    # Nonsense parameters fall back to this month and all groups.
    assert client.get(reverse("registry:coverage"), {"month": "x", "tag": "y"}).status_code == 200


@pytest.mark.parametrize("name", ["registry:coverage", "registry:freshness"])
def test_only_those_who_see_whole_communities_get_reports_by_community(
    registry: RegistryWorld, world, client, name: str
) -> None:
    """A grid worker's "community" row held their own grid's figures under the community's
    name: they get their grids only."""
    login_as(client, world.users["grid_worker"])
    page = client.get(reverse(name), {"level": "community"})
    html = page.content.decode()
    assert page.context["level"] == "grid" and 'data-testid="by-community"' not in html
    login_as(client, world.users["community_staff"])
    page = client.get(reverse(name), {"level": "community"})
    assert page.context["level"] == "community"
    assert 'data-testid="by-community"' in page.content.decode()


def test_coverage_and_the_visit_list_need_a_fixed_number_of_queries(
    registry: RegistryWorld, field: FieldWorld, world, client, django_assert_max_num_queries
) -> None:
    for household in field.neighbour_households[:10]:
        actions.record_visit(
            actor=world.users["superuser"],
            household_id=household.pk,
            purpose="care",
            findings="正常",
        )
    login_as(client, world.users["community_staff"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("registry:visits")).status_code == 200
    with django_assert_max_num_queries(14):
        assert (
            client.get(reverse("registry:coverage"), {"unit": "110101001001001"}).status_code == 200
        )
    with django_assert_max_num_queries(14):
        assert client.get(reverse("registry:links")).status_code == 200


def test_community_staff_pair_and_unpair_from_the_page(
    registry: RegistryWorld, field: FieldWorld, world, client
) -> None:
    login_as(client, world.users["community_staff"])
    url = reverse("registry:link_add", args=[field.member.pk])
    for household in field.neighbour_households[:15]:
        response = client.post(url, {"household": household.pk, "building": field.neighbour.pk})
        assert response.status_code == 302
    response = client.post(url, {"household": field.neighbour_households[15].pk})
    assert response.status_code == 400
    assert "最多联系 15 户" in response.content.decode()
    page = client.get(reverse("registry:links")).content.decode()
    assert "15/15" in page
    # At the limit the page offers no household to add, and says why.
    member_page = client.get(
        reverse("registry:link_member", args=[field.member.pk]), {"building": field.neighbour.pk}
    ).content.decode()
    assert 'data-testid="at-limit"' in member_page and "联系此户" not in member_page
    link = PartyMemberLink.objects.filter(member=field.member).first()
    response = client.post(reverse("registry:link_remove", args=[field.member.pk, link.pk]))
    assert response.status_code == 302
    assert PartyMemberLink.objects.filter(member=field.member).count() == 14
    # A household elsewhere (another community) is refused with the reason.
    response = client.post(url, {"household": field.elsewhere.pk})
    assert response.status_code == 400 and "社区" in response.content.decode()


def test_a_resident_is_edited_and_moved_from_the_pages(
    registry: RegistryWorld, world, client
) -> None:
    resident = registry.residents["b"]
    login_as(client, world.users["grid_worker"])
    url = reverse("registry:resident_edit", args=[resident.pk])
    page = client.get(url).content.decode()
    assert 'value="王小花"' in page and registry.plain["id_b"] not in page
    assert "159****4321" in page  # as a hint only
    # The date picker gets an ISO date in every language, or the browser shows it empty and a
    # save would drop it.
    assert f'value="{resident.birth_date.isoformat()}"' in page
    with translation.override("zh-hans"):
        chinese = client.get(url).content.decode()
    assert f'name="birth_date" value="{resident.birth_date.isoformat()}"' in chinese
    data = {
        "name": "王小花",
        "sex": "male",  # contradicts the kept ID number
        "birth_date": "2015-03-01",
        "id_number": "",
        "mobile": "",
        "ethnicity": "汉族",
        "political_status": "masses",
        "residence_type": "registered",
        "relation_to_head": "grandchild",
        "note": "",
    }
    response = client.post(url, data)
    assert response.status_code == 422
    assert 'data-testid="error-sex"' in response.content.decode()
    response = client.post(url, {**data, "sex": "female", "mobile": "13700001234"})
    assert response.status_code == 302
    assert Resident.objects.get(pk=resident.pk).mobile_masked == "137****1234"

    move_url = reverse("registry:resident_move", args=[resident.pk])
    page = client.get(move_url, {"building": registry.mine.pk}).content.decode()
    assert "1单元102室" in page
    today = timezone.localdate().isoformat()
    response = client.post(
        move_url,
        {
            "building": registry.mine.pk,
            "to_household": registry.households["102"].pk,
            "relation_to_head": "head",
            "moved_out_on": today,
            "moved_in_on": today,
        },
    )
    assert response.status_code == 302
    assert Resident.objects.get(pk=resident.pk).household == registry.households["102"]
    assert list(ResidentChange.objects.exclude(kind="new").values_list("kind", flat=True)) == [
        "move",
        "edit",
    ]
    page = client.get(
        reverse("registry:household", args=[registry.households["101"].pk])
    ).content.decode()
    assert "迁出" in page and "王小花" in page
    # A bad date is named.
    response = client.post(
        move_url,
        {
            "building": registry.mine.pk,
            "to_household": registry.households["101"].pk,
            "relation_to_head": "head",
            "moved_out_on": "2020-13-01",
            "moved_in_on": today,
        },
    )
    assert response.status_code == 422
    assert 'data-testid="error-moved_out_on"' in response.content.decode()


def test_a_flat_is_named_in_the_readers_language(registry: RegistryWorld, world, client) -> None:
    """1单元101室 in Chinese; Unit 1, room 101 in English, not 1Unit101Room."""
    login_as(client, world.users["grid_worker"])
    household = registry.households["101"]
    url = reverse("registry:household", args=[household.pk])
    building = reverse("registry:building", args=[household.building_id])
    with translation.override(translation.get_language()):
        chinese = client.get(url).content.decode()
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        english_building = client.get(building, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1单元101室" in chinese
    assert "Unit 1, room 101" in english and "单元" not in english
    assert "<h2>Residents</h2>" in english and "<h2>居民</h2>" in chinese
    assert "Unit 1" in english_building and "Room 101" in english_building


def test_a_members_links_outside_the_readers_scope_are_counted_not_named(
    registry: RegistryWorld, field: FieldWorld, world, client
) -> None:
    staff = world.users["community_staff"]
    for household in (registry.households["102"], field.neighbour_households[0]):
        actions.link_household(actor=staff, member_id=field.member.pk, household_id=household.pk)
    login_as(client, world.users["grid_worker"])  # grid 110101001001001; the neighbour is 002
    page = client.get(reverse("registry:link_member", args=[field.member.pk])).content.decode()
    listed = re.search(r'data-testid="member-links">(.*?)</ul>', page, re.S).group(1)
    assert reverse("registry:household", args=[registry.households["102"].pk]) in listed
    assert field.neighbour.address not in listed
    assert reverse("registry:household", args=[field.neighbour_households[0].pk]) not in listed
    assert "另有 1 户不在您的查看范围内" in listed
    assert "已联系 2 户" in page
    login_as(client, staff)  # the community sees both
    page = client.get(reverse("registry:link_member", args=[field.member.pk])).content.decode()
    assert field.neighbour.address in page and "不在您的查看范围内" not in page


def test_a_new_resident_is_registered_from_the_household_page(
    registry: RegistryWorld, world, client
) -> None:
    household = registry.households["101"]  # 王秀英 is its 户主
    login_as(client, world.users["grid_worker"])
    page = client.get(reverse("registry:household", args=[household.pk])).content.decode()
    url = reverse("registry:resident_new", args=[household.pk])
    assert f'href="{url}"' in page
    form = client.get(url).content.decode()
    assert '<option value="other" selected>' in form  # the household has its head
    data = {
        "name": "王小明",
        "sex": "male",
        "birth_date": "2018-06-01",
        "id_number": "",
        "mobile": "",
        "ethnicity": "汉族",
        "political_status": "masses",
        "residence_type": "registered",
        "relation_to_head": "head",
        "note": "",
    }
    response = client.post(url, data)
    assert response.status_code == 422
    assert 'data-testid="error-relation_to_head"' in response.content.decode()
    assert "王秀英" in response.content.decode()
    response = client.post(
        url,
        {
            **data,
            "relation_to_head": "other",
            "sex": "female",
            "birth_date": "1949-12-31",
            "id_number": registry.plain["id_a"],
        },
    )
    assert response.status_code == 409
    assert 'data-testid="error-id_number"' in response.content.decode()
    assert "该身份证号已登记" in response.content.decode()
    # An ID number of a girl for a boy: named, nothing stored.
    response = client.post(
        url, {**data, "relation_to_head": "grandchild", "id_number": registry.plain["id_b"]}
    )
    assert response.status_code in (409, 422)
    assert not Resident.objects.filter(name="王小明").exists()
    # Without an ID number the typed birth date is all there is: not before 1880.
    response = client.post(
        url, {**data, "relation_to_head": "grandchild", "birth_date": "1000-01-01"}
    )
    assert 'data-testid="error-birth_date"' in response.content.decode()
    # A pasted ID number with spaces is taken whole (the box leaves room for them).
    whole = make_id_number(birth=date(2018, 6, 1), sex="male")
    pasted = f"{whole[:6]} {whole[6:14]} {whole[14:]}"
    assert 'maxlength="24"' in client.get(url).content.decode()

    response = client.post(
        url,
        {
            **data,
            "relation_to_head": "grandchild",
            "mobile": "13600002222",
            "note": "新生儿落户",
            "id_number": pasted,
        },
    )
    assert response.status_code == 302
    resident = Resident.objects.get(name="王小明")
    assert response["Location"] == reverse("registry:resident", args=[resident.pk])
    assert (resident.household, resident.relation_to_head) == (household, "grandchild")
    assert resident.mobile_masked == "136****2222"
    change = ResidentChange.objects.get(resident=resident)
    assert (change.kind, change.note, change.user) == (
        "new",
        "新生儿落户",
        world.users["grid_worker"],
    )
    page = client.get(response["Location"]).content.decode()
    assert "已登记 王小明" in page and "新登记" in page
    assert "13600002222" not in page


def test_registering_a_resident_is_for_writers_in_scope(
    registry: RegistryWorld, world, client
) -> None:
    login_as(client, world.users["grid_worker"])
    other = reverse("registry:resident_new", args=[registry.households["201"].pk])
    assert client.get(other).status_code == 404
    assert client.post(other, {"name": "x"}).status_code == 404
    login_as(client, world.users["leader"])
    mine = registry.households["101"].pk
    page = client.get(reverse("registry:household", args=[mine])).content.decode()
    assert "登记新居民" not in page
    assert client.get(reverse("registry:resident_new", args=[mine])).status_code == 403
    count = Resident.objects.count()
    response = client.post(
        reverse("registry:resident_new", args=[mine]),
        {
            "name": "王小明",
            "sex": "male",
            "ethnicity": "汉族",
            "political_status": "masses",
            "residence_type": "registered",
            "relation_to_head": "other",
        },
    )
    assert response.status_code == 403 and Resident.objects.count() == count


def test_an_empty_household_registers_its_head_first(
    registry: RegistryWorld, world, client
) -> None:
    login_as(client, world.users["building_head"])
    url = reverse("registry:resident_new", args=[registry.households["102"].pk])
    assert '<option value="head" selected>' in client.get(url).content.decode()


def test_a_household_is_added_from_the_building_page(
    registry: RegistryWorld, world, client
) -> None:
    building = registry.mine
    building.unit_count = 2
    building.save(update_fields=["unit_count"])
    login_as(client, world.users["grid_worker"])
    url = reverse("registry:household_new", args=[building.pk])
    page = client.get(reverse("registry:building", args=[building.pk])).content.decode()
    assert f'href="{url}"' in page
    form = client.get(url).content.decode()
    assert '<option value="2">' in form and '<option value="3">' not in form
    data = {"unit": "1", "room": "101", "tenure": "owner", "floor_area_m2": "", "move_in_date": ""}
    before = Household.objects.count()
    response = client.post(url, data)  # 1单元101室 is registered
    assert response.status_code == 409
    assert 'data-testid="error-room"' in response.content.decode()
    for field, value in [
        ("unit", "3"),  # the building has two
        ("floor_area_m2", "abc"),
        ("floor_area_m2", "NaN"),  # a Decimal, and one that refuses to be compared
        ("floor_area_m2", "-Infinity"),
        ("move_in_date", (timezone.localdate() + timedelta(days=3)).isoformat()),
        ("room", ""),
    ]:
        response = client.post(url, {**data, "room": "301", field: value})
        assert response.status_code in (400, 422), field
        assert f'data-testid="error-{field}"' in response.content.decode(), field
    assert Household.objects.count() == before
    response = client.post(
        url,
        {**data, "unit": "2", "room": "301", "floor_area_m2": "88.5", "move_in_date": "2024-05-01"},
    )
    assert response.status_code == 302
    household = Household.objects.get(building=building, unit__number=2, room="301")
    assert response["Location"] == reverse("registry:household", args=[household.pk])
    assert (household.tenure, str(household.floor_area_m2)) == ("owner", "88.50")
    page = client.get(response["Location"]).content.decode()
    assert "已新增住户" in page and "登记新居民" in page
    assert "2024-05-01" in page  # the move-in date is shown, so it can be checked
    # "301室" is the same flat, not a second one named 301室室.
    response = client.post(url, {**data, "unit": "2", "room": "301室"})
    assert response.status_code == 409
    assert Household.objects.filter(building=building, unit__number=2).count() == 1


def test_adding_a_household_is_for_writers_in_scope(registry: RegistryWorld, world, client) -> None:
    login_as(client, world.users["grid_worker"])
    other = reverse("registry:household_new", args=[registry.other.pk])
    assert client.get(other).status_code == 404
    assert client.post(other, {"unit": "1", "room": "909", "tenure": "owner"}).status_code == 404
    login_as(client, world.users["leader"])
    mine = registry.mine.pk
    page = client.get(reverse("registry:building", args=[mine])).content.decode()
    assert "新增住户" not in page
    url = reverse("registry:household_new", args=[mine])
    assert client.get(url).status_code == 403
    response = client.post(url, {"unit": "1", "room": "909", "tenure": "owner"})
    assert response.status_code == 403
    assert not Household.objects.filter(room="909").exists()
