"""The state machine: every (state × action) pair, the whole loop, and who may act."""

import pytest

from wangge.cases import actions
from wangge.cases.actions import IllegalTransition, StaleCase
from wangge.cases.models import ApprovalKind, CaseEvent, Outcome, Rating, Status
from wangge.cases.tests.helpers import PATHS, case_in, do, handled_by_grid_worker, report
from wangge.cases.workflow import TRANSITIONS
from wangge.core.errors import DomainError, PermissionDenied
from wangge.core.tests.fixtures import World

# Transitions whose precondition is a pending request: make it first.
NEEDS_REQUEST = {
    "approve_suspension": "request_suspension",
    "approve_extension": "request_extension",
    "deny_request": "request_extension",
}


@pytest.mark.parametrize("status", list(PATHS))
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_every_state_action_pair_is_allowed_or_refused(
    world: World, status: str, action: str
) -> None:
    case = case_in(world, status)
    transition = TRANSITIONS[action]
    events_before = CaseEvent.objects.filter(case=case).count()
    if status not in transition.sources:
        with pytest.raises(IllegalTransition):
            do(world, case, action)
        case.refresh_from_db()
        assert case.status == status
        assert CaseEvent.objects.filter(case=case).count() == events_before
        return
    if action in NEEDS_REQUEST:
        case = do(world, case, NEEDS_REQUEST[action])
        events_before += 1
    result = do(world, case, action)
    result.refresh_from_db()
    expected = transition.target or status
    assert result.status == expected
    assert CaseEvent.objects.filter(case=case).count() == events_before + 1
    last = CaseEvent.objects.filter(case=case).last()
    assert last is not None and last.action == action
    assert last.from_status == status


def test_a_case_walks_the_whole_loop_with_a_timeline(world: World) -> None:
    case = report(world)
    assert case.status == Status.REPORTED
    assert case.tracking_code and len(case.tracking_code) == 8
    assert case.response_due_at > case.created_at
    assert case.resolution_due_at > case.response_due_at
    for action in ["accept", "dispatch", "sign", "handle", "verify_pass"]:
        case = do(world, case, action)
    assert case.status == Status.CLOSED
    assert case.outcome == Outcome.SOLVED
    case = do(world, case, "rate", rating=Rating.SATISFIED)
    assert case.rating == Rating.SATISFIED and case.status == Status.CLOSED
    timeline = list(case.events.values_list("action", "from_status", "to_status"))
    assert timeline == [
        ("report", "", "reported"),
        ("accept", "reported", "accepted"),
        ("dispatch", "accepted", "dispatched"),
        ("sign", "dispatched", "in_progress"),
        ("handle", "in_progress", "handled"),
        ("verify_pass", "handled", "closed"),
        ("rate", "closed", "closed"),
    ]


def test_an_unsatisfied_rating_reopens_once_and_goes_back_to_the_handler(world: World) -> None:
    case = case_in(world, Status.CLOSED)
    case = do(world, case, "rate", rating=Rating.UNSATISFIED)
    assert case.status == Status.IN_PROGRESS
    assert case.reopen_count == 1
    assert case.lead_department == world.department
    for action in ["handle", "verify_pass"]:
        case = do(world, case, action)
    case = do(world, case, "rate", rating=Rating.UNSATISFIED)
    # Only one reopen: the second 不满意 is recorded, the case stays closed.
    assert case.status == Status.CLOSED and case.rating == Rating.UNSATISFIED
    with pytest.raises(IllegalTransition):
        do(world, case, "reopen")


def test_not_solved_reopens_even_when_satisfied(world: World) -> None:
    case = case_in(world, Status.CLOSED)
    case = actions.rate(
        case_id=case.pk,
        actor=None,
        rating=Rating.BASICALLY_SATISFIED,
        solved=False,
        as_reporter=True,
    )
    assert case.status == Status.IN_PROGRESS


def test_a_grid_worker_resolves_on_the_spot(world: World) -> None:
    worker = world.users["grid_worker"]
    case = report(
        world, actor=worker, source="grid_patrol", resolve_on_spot=True, result="已现场清理"
    )
    assert case.status == Status.CLOSED
    assert list(case.events.values_list("action", flat=True)) == ["report", "resolve_on_spot"]


def test_resolving_on_the_spot_needs_field_staff_in_their_own_grid(world: World) -> None:
    with pytest.raises(DomainError):
        report(world, actor=None, resolve_on_spot=True, result="x")
    with pytest.raises(PermissionDenied):
        report(
            world,
            grid="110101002002002",
            actor=world.users["grid_worker"],
            source="grid_patrol",
            resolve_on_spot=True,
            result="x",
        )


def test_a_returned_case_goes_back_to_the_dispatcher_with_the_reason(world: World) -> None:
    case = case_in(world, Status.DISPATCHED)
    case = do(world, case, "return")
    assert case.status == Status.ACCEPTED
    assert case.lead_department is None and case.return_count == 1
    assert case.events.last().note == "不属于本部门职责"


def test_escalation_climbs_one_level_at_a_time_to_the_district(world: World) -> None:
    case = report(world)
    assert case.handling_unit.code == "110101001001"
    case = do(world, case, "escalate")
    assert case.handling_unit.code == "110101001" and case.status == Status.ACCEPTED
    case = do(world, case, "escalate")
    assert case.handling_unit.code == "110101"
    with pytest.raises(IllegalTransition):
        do(world, case, "escalate")


def test_after_escalation_community_staff_can_no_longer_dispatch(world: World) -> None:
    case = do(world, report(world), "escalate")
    with pytest.raises(PermissionDenied):
        actions.dispatch(
            case_id=case.pk, actor=world.users["community_staff"], department=world.department
        )
    actions.dispatch(
        case_id=case.pk, actor=world.users["street_staff"], department=world.department
    )


def test_suspension_stops_the_clock(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from wangge.cases.models import Case
    from wangge.cases.tests.helpers import category

    case = case_in(world, Status.SUSPENDED, category=category("pipe_burst"))
    assert case.resolution_unit == "hours" and case.resolution_limit == 24
    now = timezone.now()
    # Received five hours ago, suspended for the last three.
    Case.objects.filter(pk=case.pk).update(
        clock_started_at=now - timedelta(hours=5), paused_at=now - timedelta(hours=3)
    )
    case = do(world, case, "resume")
    expected = now - timedelta(hours=5) + timedelta(hours=24) + timedelta(hours=3)
    assert abs(case.resolution_due_at - expected) < timedelta(seconds=5)
    assert len(case.pauses) == 1 and case.paused_at is None


def test_a_paused_case_keeps_the_sla_status_it_had(world: World) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from wangge.cases.models import Case
    from wangge.cases.sla import sla_status

    case = case_in(world, Status.SUSPENDED)
    Case.objects.filter(pk=case.pk).update(paused_at=case.resolution_due_at - timedelta(hours=1))
    case.refresh_from_db()
    later = timezone.now() + timedelta(days=60)
    assert sla_status(case, later) == "due_soon"


def test_an_approved_extension_moves_the_deadline(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    before = case.resolution_due_at
    case = do(world, case, "request_extension")
    case = do(world, case, "approve_extension")
    assert case.resolution_due_at >= before + __import__("datetime").timedelta(days=3)
    assert not case.approvals.filter(status="pending").exists()


def test_only_one_pending_request_of_a_kind(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    do(world, case, "request_suspension")
    with pytest.raises(IllegalTransition):
        do(world, case, "request_suspension")


def test_a_merged_duplicate_points_at_its_master(world: World) -> None:
    case = do(world, report(world), "merge")
    assert case.status == Status.MERGED
    assert case.master is not None
    assert case.master.events.filter(action="merged_into").exists()


def test_a_case_is_not_merged_into_a_closed_master(world: World) -> None:
    """Its reporter would follow a case that is over: the report would close unhandled."""
    master = case_in(world, Status.CLOSED)
    duplicate = report(world)
    with pytest.raises(DomainError) as err:
        actions.merge(case_id=duplicate.pk, actor=world.users["dispatcher"], master_id=master.pk)
    assert err.value.field == "master" and "已办结" in err.value.message
    duplicate.refresh_from_db()
    assert duplicate.status == Status.REPORTED and duplicate.master_id is None


def test_a_note_is_required_where_the_domain_requires_a_reason(world: World) -> None:
    case = report(world)
    with pytest.raises(DomainError) as err:
        actions.reject(case_id=case.pk, actor=world.users["dispatcher"], note="  ")
    assert err.value.field == "note"


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("dispatcher", True),
        ("street_staff", True),
        ("community_staff", True),
        ("grid_worker", False),
        ("leader", False),
        ("department_handler", False),
        ("resident", False),
        ("superuser", True),
    ],
)
def test_who_may_accept_a_case(world: World, username: str, allowed: bool) -> None:
    case = report(world)
    if allowed:
        assert (
            actions.accept(case_id=case.pk, actor=world.users[username]).status == Status.ACCEPTED
        )
    else:
        with pytest.raises(PermissionDenied):
            actions.accept(case_id=case.pk, actor=world.users[username])


def test_only_the_lead_department_signs(world: World) -> None:
    case = case_in(world, Status.DISPATCHED)
    with pytest.raises(PermissionDenied):
        actions.sign(case_id=case.pk, actor=world.users["street_staff"])
    assert actions.sign(case_id=case.pk, actor=world.users["department_handler"]).signed_at


def test_a_case_dispatched_to_a_grid_worker_is_theirs_to_handle(world: World) -> None:
    case = handled_by_grid_worker(world)
    assert case.status == Status.HANDLED
    assert case.lead_worker_id == world.users["grid_worker"].pk


def test_the_grid_worker_who_handled_a_case_does_not_verify_it(world: World) -> None:
    case = handled_by_grid_worker(world)
    worker = world.users["grid_worker"]
    assert "verify_pass" not in actions.available_actions(worker, case)
    for passed in (True, False):
        with pytest.raises(PermissionDenied, match="不能核查自己处置的案件"):
            actions.verify(case_id=case.pk, actor=worker, passed=passed, note="复查")
    assert "verify_pass" in actions.available_actions(world.users["dispatcher"], case)
    case = actions.verify(case_id=case.pk, actor=world.users["dispatcher"], passed=True)
    assert case.status == Status.CLOSED


def test_a_stale_version_is_refused_as_a_conflict(world: World) -> None:
    case = report(world)
    actions.accept(case_id=case.pk, actor=world.users["dispatcher"], expected_version=case.version)
    with pytest.raises(StaleCase):
        actions.reject(
            case_id=case.pk,
            actor=world.users["dispatcher"],
            note="重复",
            expected_version=case.version,
        )


def test_a_rejected_extension_request_keeps_the_deadline(world: World) -> None:
    case = case_in(world, Status.IN_PROGRESS)
    before = case.resolution_due_at
    actions.request_approval(
        case_id=case.pk,
        actor=world.users["department_handler"],
        kind=ApprovalKind.EXTENSION,
        note="配件",
        extra=2,
    )
    case = do(world, case, "deny_request")
    assert case.resolution_due_at == before


def test_a_failed_check_takes_the_refused_result_off_the_case(world: World) -> None:
    """The case shows no result until it is handled again; the timeline keeps the refused one."""
    case = do(world, case_in(world, Status.IN_PROGRESS), "handle")
    assert case.result and case.outcome
    refused = case.result
    case = do(world, case, "verify_fail")
    case.refresh_from_db()
    assert (case.status, case.result, case.outcome, case.handled_at) == (
        Status.IN_PROGRESS,
        "",
        "",
        None,
    )
    assert case.events.filter(action="handle", note=refused).exists()
