"""The demo district: 东城区 with its real streets, synthetic communities and exactly 360 grids."""

import csv
import io
import re
from collections import Counter, defaultdict

import pytest
import shapely
from django.conf import settings
from django.core.management import call_command
from shapely.geometry import box, shape

from wangge.accounts.backends import MobileOrUsernameBackend
from wangge.accounts.models import Membership, Role, User
from wangge.core import demo
from wangge.core.validators import MOBILE_RE, validate_public_phone
from wangge.territory.models import Building, Department, DepartmentKind, Level, OrgUnit
from wangge.territory.tests.factories import make_tree


def official_streets() -> dict[str, str]:
    path = settings.WANGGE_SHARED_DATA / "geo/admin_codes_nbs2023/streets.csv"
    with path.open(encoding="utf-8") as handle:
        return {
            row["code"]: row["name"]
            for row in csv.DictReader(handle)
            if row["areaCode"] == "110101"
        }


def units_of(level: str) -> list[OrgUnit]:
    return list(OrgUnit.objects.filter(level=level, code__startswith="110101").order_by("code"))


def assert_children_tile(parent: OrgUnit, children: list[OrgUnit], tolerance: float = 1e-9) -> None:
    """Children cover the parent, stay inside it and do not overlap (up to `tolerance` of the
    parent's area; the real street boundaries differ from the district outline by ~12 m²)."""
    parent_geom = shape(parent.boundary)
    geoms = [shape(child.boundary) for child in children]
    assert all(g.is_valid and g.geom_type == "Polygon" for g in geoms), parent.code
    union = shapely.union_all(geoms)
    slack = tolerance * parent_geom.area
    assert union.symmetric_difference(parent_geom).area <= slack, parent.code
    assert sum(g.area for g in geoms) - union.area <= slack, parent.code


def test_it_seeds_a_complete_demo_district(db, fast_passwords) -> None:
    result = demo.seed_demo(stdout=io.StringIO())

    assert result.created
    district = OrgUnit.objects.get(code="110101")
    assert district.name == "东城区"
    streets, communities, grids = (
        units_of(level) for level in (Level.STREET, Level.COMMUNITY, Level.GRID)
    )
    assert {s.code: s.name for s in streets} == official_streets()
    assert len(streets) == 17
    assert 70 <= len(communities) <= 90
    assert len(grids) == 360
    assert 2800 <= Building.objects.count() <= 3200

    # Codes: parent code + a 3-digit sequence 001, 002, … without gaps.
    by_parent: dict[str, list[OrgUnit]] = defaultdict(list)
    for unit in [*communities, *grids]:
        assert unit.parent is not None and unit.code[:-3] == unit.parent.code
        by_parent[unit.parent.code].append(unit)
    for parent_code, children in by_parent.items():
        assert [c.code[-3:] for c in children] == [f"{i:03d}" for i in range(1, len(children) + 1)]
        if len(parent_code) == 12:
            parent = children[0].parent
            assert [g.name for g in children] == [
                f"{parent.name}第{i}网格" for i in range(1, len(children) + 1)
            ]
    assert all(len(by_parent[s.code]) >= 2 for s in streets)
    assert len({c.name for c in communities}) == len(communities)
    assert all(c.name.endswith("社区") for c in communities)

    # Streets tile the district; communities tile streets; grids tile communities.
    assert_children_tile(district, streets, tolerance=1e-6)
    for parent in [*streets, *communities]:
        assert_children_tile(parent, by_parent[parent.code])
    assert all(g.area_m2 and g.bbox and g.centroid_lon for g in grids)

    # Every building stands inside its grid and is looked after by someone of that grid.
    grid_geoms = {g.pk: shape(g.boundary) for g in grids}
    heads = dict(
        Membership.objects.filter(role=Role.BUILDING_HEAD).values_list("user_id", "unit_id")
    )
    buildings = list(Building.objects.all())
    for b in buildings:
        assert grid_geoms[b.grid_id].covers(shapely.Point(b.lon, b.lat)), b.address
        assert heads[b.building_head_id] == b.grid_id, b.address
        assert b.floors >= 1 and b.unit_count >= 1 and b.household_count >= 1
    address = re.compile(r"\S+ \d+号院 \d+号楼|\S+ \d+号")
    assert all(address.fullmatch(b.address) for b in buildings)

    # One grid worker per grid, each with a mainland mobile and no usable password.
    workers = Membership.objects.filter(role=Role.GRID_WORKER).select_related("user")
    assert Counter(m.unit_id for m in workers) == Counter({g.pk: 1 for g in grids})
    for m in workers:
        assert MOBILE_RE.match(m.user.mobile)
        assert m.user.display_name
        assert m.user.has_usable_password() == (m.user.username == "demo_grid_worker")
    # Each publishes a work number for the grid card (validated as the admin would).
    phones = [m.user.public_phone for m in workers]
    assert len(set(phones)) == len(phones)
    for phone in phones:
        validate_public_phone(phone)

    # Departments: the district's twelve, and per street 城管执法队, 派出所, 司法所 and 物业.
    kinds = set(Department.objects.filter(unit=district).values_list("kind", flat=True))
    assert len(kinds) == 12 and DepartmentKind.CITY_MANAGEMENT in kinds
    for street in streets:
        street_kinds = Counter(street.departments.values_list("kind", flat=True))
        assert street_kinds[DepartmentKind.CITY_MANAGEMENT] == 1
        assert street_kinds[DepartmentKind.POLICE] == 1
        assert street_kinds[DepartmentKind.JUSTICE] == 1
        assert street_kinds[DepartmentKind.PROPERTY] >= 1
    for company in Department.objects.filter(kind=DepartmentKind.PROPERTY):
        areas = list(company.service_areas.all())
        assert areas and all(
            a.level == Level.COMMUNITY and a.parent_id == company.unit_id for a in areas
        )


def test_the_demo_logins_work_and_a_second_run_changes_nothing(db, fast_passwords) -> None:
    first = io.StringIO()
    call_command("seed_demo", stdout=first)
    output = first.getvalue()
    assert demo.DEMO_PASSWORD in output
    assert all(login.mobile in output for login in demo.DEMO_LOGINS)

    expected_targets = {
        Role.GRID_WORKER: demo.DEMO_GRID_CODE,
        Role.BUILDING_HEAD: demo.DEMO_GRID_CODE,
        Role.COMMUNITY_STAFF: demo.DEMO_COMMUNITY_CODE,
        Role.STREET_STAFF: demo.DEMO_STREET_CODE,
        Role.DISPATCHER: "110101",
        Role.LEADER: "110101",
        Role.ADMIN: "110101",
    }
    backend = MobileOrUsernameBackend()
    assert {login.role for login in demo.DEMO_LOGINS} == set(Role)
    for login in demo.DEMO_LOGINS:
        user = backend.authenticate(None, username=login.mobile, password=demo.DEMO_PASSWORD)
        assert user is not None and user.username == login.username
        memberships = list(user.memberships.select_related("unit", "department"))
        assert [m.role for m in memberships] == [login.role]
        membership = memberships[0]
        if login.role in expected_targets:
            assert membership.unit.code == expected_targets[login.role]
        elif login.role == Role.DEPARTMENT_HANDLER:
            assert membership.department.unit.code == "110101"
            assert membership.department.kind == DepartmentKind.CITY_MANAGEMENT
        else:
            assert membership.unit is None and membership.department is None
        assert user.is_superuser == user.is_staff == (login.role == Role.ADMIN)
    head = User.objects.get(username="demo_building_head")
    assert head.headed_buildings.count() == demo.DEMO_HEADED_BUILDINGS
    assert {b.grid.code for b in head.headed_buildings.all()} == {demo.DEMO_GRID_CODE}

    before = {
        "units": list(OrgUnit.objects.values_list("code", "name", "area_m2")),
        "buildings": list(Building.objects.order_by("pk").values_list("address", "grid__code")),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "departments": Department.objects.count(),
    }
    # Someone changed a demo password: the second run sets it back and creates nothing.
    leader = User.objects.get(username="demo_leader")
    leader.set_password("forgotten-pass-123")
    leader.save(update_fields=["password"])

    second = io.StringIO()
    call_command("seed_demo", stdout=second)
    assert "nothing changed" in second.getvalue()
    assert demo.DEMO_PASSWORD in second.getvalue()
    after = {
        "units": list(OrgUnit.objects.values_list("code", "name", "area_m2")),
        "buildings": list(Building.objects.order_by("pk").values_list("address", "grid__code")),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "departments": Department.objects.count(),
    }
    assert after == before
    assert backend.authenticate(None, username="13900000007", password=demo.DEMO_PASSWORD)


def test_it_refuses_a_district_that_exists_without_the_demo_units(db, fast_passwords) -> None:
    make_tree()  # a test district 110101 with made-up streets
    units_before = OrgUnit.objects.count()

    with pytest.raises(demo.DemoError, match="110101"):
        demo.seed_demo()

    assert OrgUnit.objects.count() == units_before
    assert not User.objects.filter(username__startswith="demo_").exists()


def test_the_plan_is_the_same_on_every_run() -> None:
    first, second = demo.plan_demo(), demo.plan_demo()

    def fingerprint(plan: demo.DemoPlan) -> list[tuple[str, str, bytes]]:
        units = [*plan.streets, *plan.communities, *plan.grids]
        return [(u.code, u.name, shapely.to_wkb(u.geometry)) for u in units]

    assert fingerprint(first) == fingerprint(second)
    assert first.buildings == second.buildings
    assert first.users == second.users
    assert len({u.mobile for u in first.users}) == len(first.users)


def test_allocation_is_proportional_with_a_minimum_and_an_exact_total() -> None:
    counts = demo.allocate([10.0, 1.0, 1.0, 0.1], 20, 2)

    assert sum(counts) == 20
    assert min(counts) == 2
    assert counts[0] == max(counts)


def test_a_concave_polygon_is_cut_into_single_polygons_that_tile_it() -> None:
    # A U shape: Voronoi cells of seeds in both arms would otherwise straddle the gap.
    u_shape = box(116.40, 39.90, 116.43, 39.93).difference(box(116.41, 39.91, 116.42, 39.93))

    cells = demo.partition(u_shape, 7, seed=(1,))

    assert len(cells) == 7
    assert all(c.geom_type == "Polygon" for c in cells)
    assert shapely.union_all(cells).symmetric_difference(u_shape).area < 1e-12
    assert sum(c.area for c in cells) == pytest.approx(u_shape.area, rel=1e-12)


def test_cells_are_numbered_west_to_east_within_bands_from_north_to_south() -> None:
    parent = box(0, 0, 3, 3)
    cells = [box(x, y, x + 1, y + 1) for x in range(3) for y in range(3)]

    ordered = demo.row_major(list(reversed(cells)), parent)

    assert [(c.bounds[0], c.bounds[1]) for c in ordered] == [
        (0, 2),
        (1, 2),
        (2, 2),
        (0, 1),
        (1, 1),
        (2, 1),
        (0, 0),
        (1, 0),
        (2, 0),
    ]
