"""Shared fixtures: a small district and named users of every kind of access."""

from dataclasses import dataclass
from typing import Any

import pytest

from wangge.accounts.models import Role, User
from wangge.accounts.tests.factories import UserFactory, member
from wangge.territory import actions
from wangge.territory.models import Department, DepartmentKind, OrgUnit
from wangge.territory.tests.factories import center_of, make_tree


@dataclass
class World:
    """District 110101: streets 001/002 → communities 001/002 → grids 001/002 (8 grids)."""

    units: dict[str, OrgUnit]
    department: Department
    users: dict[str, User]
    buildings: dict[str, Any]

    def unit(self, code: str) -> OrgUnit:
        return self.units[code]


@pytest.fixture(scope="session")
def _media_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_root_in_tmp(settings: Any, _media_dir: Any) -> None:
    """Uploads made by tests (case photos, demo photos) never land in var/media."""
    settings.MEDIA_ROOT = _media_dir


# A fixed instant 30 s into a day (so into every window that divides a day): limits are
# fixed-window, and a test whose calls straddle a window's end on the wall clock would see its
# count start again and miss the 429 it expects.
RATE_LIMIT_CLOCK = 86_400 * 11_575 + 30.0


@pytest.fixture(autouse=True)
def _fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with empty rate-limit counters: the test client always calls from
    127.0.0.1, so counters left by earlier tests would refuse later ones. The limits' clock
    stands still (RATE_LIMIT_CLOCK) unless a test moves it."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from wangge.core import ratelimit

    monkeypatch.setattr(ratelimit, "_now", lambda: RATE_LIMIT_CLOCK)

    cache = caches["default"]
    if isinstance(cache, LocMemCache):
        cache.clear()


def restore_reference_data() -> None:
    """Put back what the data migrations seed (categories, the working calendar): transactional
    tests (live server, threads) flush every table after they run."""
    from wangge.cases.catalogue import seed_categories
    from wangge.cases.models import Category, PriorityPolicy
    from wangge.workcalendar.actions import seed_from_chinesecalendar
    from wangge.workcalendar.models import CalendarYear

    if not Category.objects.exists():
        seed_categories(Category, PriorityPolicy)
    if not CalendarYear.objects.exists():
        seed_from_chinesecalendar()


@pytest.fixture
def fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: Any, fast_passwords: None) -> World:
    restore_reference_data()
    units = make_tree()
    street1 = units["110101001"]
    department = actions.create_department(
        name="第1街道城管科",
        kind=DepartmentKind.CITY_MANAGEMENT,
        unit=street1,
        service_areas=[units["110101001001"]],
    )
    users: dict[str, User] = {}

    def add(name: str, role: str | None = None, **target: Any) -> User:
        user = UserFactory(username=name, display_name=name)
        if role:
            member(user, role, **target)
        users[name] = user
        return user

    add("grid_worker", Role.GRID_WORKER, unit=units["110101001001001"])
    add("building_head", Role.BUILDING_HEAD, unit=units["110101001001001"])
    add("community_staff", Role.COMMUNITY_STAFF, unit=units["110101001001"])
    add("street_staff", Role.STREET_STAFF, unit=street1)
    add("dispatcher", Role.DISPATCHER, unit=units["110101"])
    add("department_handler", Role.DEPARTMENT_HANDLER, department=department)
    add("leader", Role.LEADER, unit=street1)
    add("admin", Role.ADMIN, unit=units["110101"])
    add("resident", Role.RESIDENT)
    add("volunteer", Role.VOLUNTEER)
    add("nobody")
    superuser = add("superuser")
    superuser.is_superuser = True
    superuser.is_staff = True
    superuser.save(update_fields=["is_superuser", "is_staff"])

    buildings = {}
    for code in ("110101001001001", "110101002002002"):
        lon, lat = center_of(units[code])
        buildings[code] = actions.create_building(
            name="1号楼",
            address=f"{units[code].name}1号楼",
            lon=lon,
            lat=lat,
            floors=6,
            household_count=24,
            building_head=users["building_head"] if code == "110101001001001" else None,
        )
    return World(units=units, department=department, users=users, buildings=buildings)


def login_as(client: Any, user: User) -> None:
    client.force_login(user, backend="wangge.accounts.backends.MobileOrUsernameBackend")
