"""The case state machine as a table: which action moves which status to which, and who may.

Everything that changes a case goes through wangge.cases.actions, which reads this table.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.accounts.models import Role
from wangge.cases.models import Status

S = Status

# Who may act, by the role they hold over the relevant unit.
DESK = frozenset({Role.DISPATCHER, Role.STREET_STAFF, Role.COMMUNITY_STAFF})
FIELD = frozenset({Role.GRID_WORKER, Role.BUILDING_HEAD})
# Special "roles" resolved against the case itself rather than a membership.
LEAD = "lead"  # the lead department's handlers, or the grid worker the case was dispatched to
REPORTER = (
    "reporter"  # the person who reported (by tracking code) or a desk user recording a callback
)


@dataclass(frozen=True)
class Transition:
    action: str
    label: Promise
    sources: frozenset[str]
    target: str | None  # None: the status does not change
    actors: frozenset[str]
    # Over which unit the actor's role is checked: the case's grid or its handling unit.
    over: str = "grid"
    needs_note: bool = False


def _t(
    action: str,
    label: Promise,
    sources: set[str],
    target: str | None,
    actors: frozenset[str] | set[str],
    *,
    over: str = "grid",
    needs_note: bool = False,
) -> Transition:
    return Transition(
        action, label, frozenset(sources), target, frozenset(actors), over, needs_note
    )


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("accept", _("受理"), {S.REPORTED}, S.ACCEPTED, DESK, over="handling_unit"),
        _t(
            "reject",
            pgettext_lazy("action", "不予受理"),  # the button: "Reject", not the status "Rejected"
            {S.REPORTED, S.ACCEPTED},
            S.REJECTED,
            DESK,
            over="handling_unit",
            needs_note=True,
        ),
        _t("dispatch", _("分拨"), {S.ACCEPTED}, S.DISPATCHED, DESK, over="handling_unit"),
        _t("sign", _("签收"), {S.DISPATCHED}, S.IN_PROGRESS, {LEAD}),
        _t(
            "return",
            _("退单"),
            {S.DISPATCHED, S.IN_PROGRESS},
            S.ACCEPTED,
            {LEAD},
            needs_note=True,
        ),
        _t("handle", _("处置反馈"), {S.IN_PROGRESS}, S.HANDLED, {LEAD}, needs_note=True),
        _t("verify_pass", _("核查通过"), {S.HANDLED}, S.CLOSED, DESK | {Role.GRID_WORKER}),
        _t(
            "verify_fail",
            _("核查不通过"),
            {S.HANDLED},
            S.IN_PROGRESS,
            DESK | {Role.GRID_WORKER},
            needs_note=True,
        ),
        _t(
            "escalate",
            _("上报（吹哨）"),
            {S.REPORTED, S.ACCEPTED, S.IN_PROGRESS},
            S.ACCEPTED,
            DESK | {Role.GRID_WORKER, LEAD},
            over="handling_unit",
            needs_note=True,
        ),
        _t(
            "request_suspension",
            _("申请挂起"),
            {S.IN_PROGRESS},
            None,
            {LEAD},
            needs_note=True,
        ),
        _t(
            "approve_suspension",
            _("批准挂起"),
            {S.IN_PROGRESS},
            S.SUSPENDED,
            DESK,
            over="handling_unit",
        ),
        _t(
            "deny_request",
            _("驳回申请"),
            {S.IN_PROGRESS},
            None,
            DESK,
            over="handling_unit",
            needs_note=True,
        ),
        _t(
            "resume",
            _("恢复办理"),
            {S.SUSPENDED},
            S.IN_PROGRESS,
            DESK | {LEAD},
            over="handling_unit",
        ),
        _t(
            "request_extension",
            _("申请延期"),
            {S.IN_PROGRESS},
            None,
            {LEAD},
            needs_note=True,
        ),
        _t(
            "approve_extension",
            _("批准延期"),
            {S.IN_PROGRESS},
            None,
            DESK,
            over="handling_unit",
        ),
        _t("rate", _("评价"), {S.CLOSED}, None, {REPORTER} | DESK),
        _t("reopen", _("重办"), {S.CLOSED}, S.IN_PROGRESS, {REPORTER} | DESK, needs_note=True),
        _t(
            "merge",
            _("合并"),
            {S.REPORTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS},
            S.MERGED,
            DESK,
            over="handling_unit",
        ),
    ]
}

# Actions that are not transitions of an existing case but appear on the timeline.
TIMELINE_LABELS: dict[str, Promise] = {
    "report": _("上报"),
    "resolve_on_spot": _("即报即办"),
    "merged_into": _("合并重复件"),
    "due_soon": _("即将超时提醒"),
    "overdue": _("超时提醒"),
    **{action: t.label for action, t in TRANSITIONS.items()},
}


def allowed_from(status: str) -> list[str]:
    return [action for action, t in TRANSITIONS.items() if status in t.sources]
