"""Drive cases through the real actions for tests."""

from typing import Any

from wangge.cases import actions
from wangge.cases.models import ApprovalKind, Case, Category, Rating, Source, Status
from wangge.core.tests.fixtures import World
from wangge.territory.tests.factories import center_of

GRID = "110101001001001"


def category(code: str = "exposed_garbage") -> Category:
    return Category.objects.get(code=code)


def report(world: World, *, grid: str = GRID, actor: Any = None, **kwargs: Any) -> Case:
    lon, lat = center_of(world.unit(grid))
    values: dict[str, Any] = {
        "actor": actor,
        "category": category(),
        "title": "小区门口垃圾堆积",
        "description": "垃圾三天没人清运，气味很大",
        "lon": lon,
        "lat": lat,
        "source": Source.RESIDENT,
        "reporter_name": "王女士",
        "reporter_phone": "13911112222",
    }
    values.update(kwargs)
    return actions.create_case(**values)


def do(world: World, case: Case, action: str, **kwargs: Any) -> Case:
    """Perform `action` as a user entitled to it, with valid inputs."""
    u = world.users
    case_id = case.pk
    if action == "accept":
        return actions.accept(case_id=case_id, actor=u["dispatcher"])
    if action == "reject":
        return actions.reject(case_id=case_id, actor=u["dispatcher"], note="不属于受理范围")
    if action == "dispatch":
        return actions.dispatch(case_id=case_id, actor=u["dispatcher"], department=world.department)
    if action == "sign":
        return actions.sign(case_id=case_id, actor=u["department_handler"])
    if action == "return":
        return actions.return_case(
            case_id=case_id, actor=u["department_handler"], note="不属于本部门职责"
        )
    if action == "handle":
        return actions.handle(case_id=case_id, actor=u["department_handler"], result="已清运完毕")
    if action == "verify_pass":
        return actions.verify(case_id=case_id, actor=u["dispatcher"], passed=True)
    if action == "verify_fail":
        return actions.verify(
            case_id=case_id, actor=u["dispatcher"], passed=False, note="现场仍有垃圾"
        )
    if action == "escalate":
        return actions.escalate(case_id=case_id, actor=u["dispatcher"], note="需要街道协调")
    if action == "request_suspension":
        return actions.request_approval(
            case_id=case_id,
            actor=u["department_handler"],
            kind=ApprovalKind.SUSPENSION,
            note="等待业主回国",
        )
    if action == "request_extension":
        return actions.request_approval(
            case_id=case_id,
            actor=u["department_handler"],
            kind=ApprovalKind.EXTENSION,
            note="需采购配件",
            extra=3,
        )
    if action == "approve_suspension":
        return actions.approve_suspension(case_id=case_id, actor=u["dispatcher"])
    if action == "approve_extension":
        return actions.approve_extension(case_id=case_id, actor=u["dispatcher"])
    if action == "deny_request":
        return actions.deny_request(case_id=case_id, actor=u["dispatcher"], note="理由不充分")
    if action == "resume":
        return actions.resume(case_id=case_id, actor=u["dispatcher"])
    if action == "rate":
        return actions.rate(
            case_id=case_id,
            actor=None,
            rating=kwargs.get("rating", Rating.SATISFIED),
            as_reporter=True,
        )
    if action == "reopen":
        return actions.reopen(case_id=case_id, actor=u["dispatcher"], note="群众反映仍未解决")
    if action == "merge":
        master = report(world, title="同一处垃圾")
        return actions.merge(case_id=case_id, actor=u["dispatcher"], master_id=master.pk)
    raise AssertionError(action)


PATHS: dict[str, list[str]] = {
    Status.REPORTED: [],
    Status.ACCEPTED: ["accept"],
    Status.DISPATCHED: ["accept", "dispatch"],
    Status.IN_PROGRESS: ["accept", "dispatch", "sign"],
    Status.HANDLED: ["accept", "dispatch", "sign", "handle"],
    Status.CLOSED: ["accept", "dispatch", "sign", "handle", "verify_pass"],
    Status.REJECTED: ["reject"],
    Status.MERGED: ["merge"],
    Status.SUSPENDED: ["accept", "dispatch", "sign", "request_suspension", "approve_suspension"],
}


def case_in(world: World, status: str, **report_kwargs: Any) -> Case:
    case = report(world, **report_kwargs)
    for action in PATHS[status]:
        case = do(world, case, action)
    case.refresh_from_db()
    assert case.status == status
    return case


def handled_by_grid_worker(world: World) -> Case:
    """A case dispatched to the grid worker, who signed and handled it."""
    worker = world.users["grid_worker"]
    case = case_in(world, Status.ACCEPTED)
    actions.dispatch(case_id=case.pk, actor=world.users["dispatcher"], worker=worker)
    actions.sign(case_id=case.pk, actor=worker)
    return actions.handle(case_id=case.pk, actor=worker, result="已处理")
