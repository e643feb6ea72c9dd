"""The demo registry: realistic, valid, scoped data behind every registry page, made once.

Seeding the district takes seconds, so one test seeds and checks everything."""

import io
import re
from collections import Counter

from django.test import Client
from django.urls import reverse

from wangge.accounts.models import User
from wangge.cases.models import Case
from wangge.core import demo
from wangge.core.validators import (
    id_number_birth_date,
    id_number_sex,
    validate_credit_code,
    validate_id_number,
    validate_mobile,
)
from wangge.registry import protection, selectors
from wangge.registry.demo import seed_demo_registry
from wangge.registry.models import (
    Enterprise,
    Household,
    PartyMemberLink,
    Resident,
    ResidentTag,
    SpecialGroup,
    Visit,
)
from wangge.registry.tests.factories import tag_drift

PLAIN_ID = re.compile(r"\b\d{17}[\dX]\b")
PLAIN_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
DEMO_MOBILES = {login.mobile for login in demo.DEMO_LOGINS}
DISTRICT_WIDE_PAGES = {"index", "check"}


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(
        User.objects.get(username=username),
        backend="wangge.accounts.backends.MobileOrUsernameBackend",
    )
    return client


def assert_masked(body: str, url: str) -> None:
    assert not PLAIN_ID.search(body), url
    # The only full mobiles a page may show are the staff's own (none of them residents').
    assert set(PLAIN_MOBILE.findall(body)) <= DEMO_MOBILES, url


def check_values() -> None:
    residents = list(Resident.objects.all())
    assert len(residents) > 4000
    ids = set()
    for r in residents:
        id_number = protection.open_value(r.id_number_encrypted, purpose=protection.ID_NUMBER)
        validate_id_number(id_number)
        assert id_number_birth_date(id_number) == r.birth_date
        assert id_number_sex(id_number) == r.sex
        assert r.id_number_masked == id_number[:6] + "********" + id_number[-4:]
        ids.add(id_number)
        mobile = protection.open_value(r.mobile_encrypted, purpose=protection.MOBILE)
        if mobile:
            validate_mobile(mobile)
            assert mobile not in DEMO_MOBILES
    assert len(ids) == len(residents)
    for e in Enterprise.objects.all():
        validate_credit_code(e.credit_code)
        validate_mobile(
            protection.open_value(e.contact_mobile_encrypted, purpose=protection.ENTERPRISE_MOBILE)
        )
        assert e.needs.exists()
    assert Enterprise.objects.count() >= 10
    groups = set(ResidentTag.objects.values_list("group", flat=True))
    assert {SpecialGroup.LIVING_ALONE, SpecialGroup.EMPTY_NEST, SpecialGroup.DISABILITY} <= groups
    assert len(groups) >= 8
    assert tag_drift() == []  # each tag names its resident's building
    # Every household has a head; rooms are unique per unit (the constraint would have failed).
    heads = Counter(
        Resident.objects.filter(relation_to_head="head").values_list("household_id", flat=True)
    )
    assert set(heads.values()) == {1}
    assert len(heads) == Household.objects.count()


def check_links_and_visits() -> None:
    links = list(
        PartyMemberLink.objects.select_related(
            "member__household__building__grid", "household__building__grid"
        )
    )
    assert len(links) >= 80
    per_member = Counter(link.member_id for link in links)
    assert max(per_member.values()) <= PartyMemberLink.MAX_PER_MEMBER
    for link in links:
        assert link.member.is_party_member
        assert (
            link.household.building.grid.code[:12] == link.member.household.building.grid.code[:12]
        )
    visits = list(Visit.objects.select_related("household__building__grid", "visited_by", "case"))
    assert len(visits) > 500
    for visit in visits:
        # Each visitor may write where they visited (a grid worker of the grid or its head).
        assert selectors.can_write(visit.visited_by, visit.household.building), visit.pk
    with_case = [v for v in visits if v.case is not None]
    assert len(with_case) >= 3
    for visit in with_case:
        assert visit.case.grid_id == visit.household.building.grid_id
        assert visit.visited_at <= visit.case.created_at


def test_the_demo_registry_fills_every_page_with_valid_masked_data(db, fast_passwords) -> None:
    result = demo.seed_demo(stdout=io.StringIO())
    assert result.counts["households"] == Household.objects.count() > 2000
    assert result.counts["cases"] == Case.objects.count() == 300  # linked, not made again

    check_values()
    check_links_and_visits()

    worker = User.objects.get(username="demo_grid_worker")
    head = User.objects.get(username="demo_building_head")
    household = (
        selectors.household_list(user=head)
        .filter(residents__tags__isnull=False, visits__isnull=False)
        .order_by("pk")
        .first()
    )
    assert household is not None
    resident = household.residents.order_by("pk").first()
    visit = Visit.objects.filter(household=household).first()
    member = selectors.party_member_list(user=worker).filter(link_count__gt=0).first()
    assert member is not None
    pages = {
        "index": reverse("registry:index"),
        "building": reverse("registry:building", args=[household.building_id]),
        "household": reverse("registry:household", args=[household.pk]),
        "resident": reverse("registry:resident", args=[resident.pk]),
        "search": reverse("registry:search") + "?tag=living_alone",
        "check": reverse("registry:check"),
        "freshness": reverse("registry:freshness"),
        "visits": reverse("registry:visits"),
        "visit": reverse("registry:visit", args=[visit.pk]),
        "coverage": reverse("registry:coverage"),
        "coverage-grid": reverse("registry:coverage") + f"?unit={demo.DEMO_GRID_CODE}",
        "links": reverse("registry:links"),
        "link": reverse("registry:link_member", args=[member.pk]),
    }
    # Content each page must show, so that no page is an empty shell.
    shows: dict[str, str | re.Pattern[str]] = {
        "index": "待核实",
        "building": resident.name,
        "household": resident.name,
        "resident": resident.id_number_masked,
        "search": "独居老人",
        "check": "待核实",
        "freshness": "%",
        "visits": re.compile(r'href="/registry/visits/\d+/"'),  # the list is not empty
        "visit": visit.findings,
        "coverage": "%",
        "coverage-grid": "未走访",
        "links": "/15",
        "link": "已联系",
    }
    for username in (
        "demo_grid_worker",
        "demo_building_head",
        "demo_community_staff",
        "demo_street_staff",
        "demo_leader",
        "demo_admin",
    ):
        client = client_for(username)
        for name, url in pages.items():
            if name in DISTRICT_WIDE_PAGES and username in ("demo_leader", "demo_admin"):
                continue  # the district's 3,000 buildings: slow to render, seen by the others
            response = client.get(url)
            assert response.status_code == 200, (username, url)
            body = response.content.decode()
            expected = shows[name]
            if isinstance(expected, re.Pattern):
                assert expected.search(body), (username, name)
            else:
                assert expected in body, (username, name)
            assert_masked(body, url)
    # The field work forms, for those who write.
    client = client_for("demo_grid_worker")
    for url in (
        reverse("registry:visit_create", args=[household.pk]),
        reverse("registry:resident_edit", args=[resident.pk]),
        reverse("registry:resident_move", args=[resident.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_masked(response.content.decode(), url)
    # The community and the street have coverage numbers for every grid with special groups.
    rows = selectors.coverage_report(
        user=User.objects.get(username="demo_street_staff"), month=visit.visited_at.date()
    )
    assert len(rows) >= 10 and any(r.visited for r in rows) and any(r.unvisited for r in rows)

    before = (Household.objects.count(), Resident.objects.count(), Visit.objects.count())
    assert seed_demo_registry() == {}
    demo.seed_demo(stdout=io.StringIO())
    assert (Household.objects.count(), Resident.objects.count(), Visit.objects.count()) == before
