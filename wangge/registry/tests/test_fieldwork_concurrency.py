"""Two staff pairing the last free places of one party member at once never pass the limit, and
a double tap on "转为事件" from two phones makes one case (PostgreSQL row locks)."""

import time
from typing import Any

import pytest

from wangge.cases.models import Case, Category
from wangge.cases.tests.test_integrity import run_together, threads_on_postgres
from wangge.core.errors import Conflict, DomainError
from wangge.registry import actions
from wangge.registry.models import PartyMemberLink, Visit
from wangge.registry.tests.factories import RegistryWorld
from wangge.registry.tests.field_factories import FieldWorld


@pytest.fixture
def slow_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the member's lock a little longer, so that the other thread is certainly waiting on
    it; without the lock both would count 14 and both insert."""
    real = actions.can_manage_links

    def slow(*args: Any, **kwargs: Any) -> bool:
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "can_manage_links", slow)


@threads_on_postgres
def test_two_staff_adding_the_fifteenth_household_at_once_stop_at_fifteen(
    field: FieldWorld, world, slow_checks
) -> None:
    staff = world.users["community_staff"]
    households = field.neighbour_households
    for household in households[:14]:
        actions.link_household(actor=staff, member_id=field.member.pk, household_id=household.pk)

    results = run_together(
        [
            lambda h=h: actions.link_household(
                actor=staff, member_id=field.member.pk, household_id=h.pk
            )
            for h in households[14:16]
        ]
    )

    assert sum(isinstance(r, PartyMemberLink) for r in results) == 1
    errors = [r for r in results if isinstance(r, DomainError)]
    assert len(errors) == 1 and errors[0].code == "link_limit"
    assert PartyMemberLink.objects.filter(member=field.member).count() == 15


@threads_on_postgres
def test_a_visit_turned_into_a_case_twice_at_once_makes_one_case(
    registry: RegistryWorld, world
) -> None:
    worker = world.users["grid_worker"]
    visit = actions.record_visit(
        actor=worker, household_id=registry.households["101"].pk, purpose="knock", findings="漏水"
    )
    category = Category.objects.filter(parent__isnull=False, is_active=True).first()

    results = run_together(
        [
            lambda: actions.visit_to_case(
                actor=worker, visit_id=visit.pk, category=category, title="楼上漏水"
            )
            for _ in range(2)
        ]
    )

    assert sum(isinstance(r, Case) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert Case.objects.count() == 1
    assert Visit.objects.get().case == Case.objects.get()
