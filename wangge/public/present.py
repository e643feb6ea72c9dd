"""What a case looks like to the public: its status in plain words, the expected completion, the
handling result and the public timeline and photos — never who handled it, never anyone's
phone number, never another resident's details."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from wangge.accounts.models import Membership
from wangge.cases import selectors
from wangge.cases.actions import MAX_REOPENS
from wangge.cases.models import Case, Outcome, Rating, Status
from wangge.public.privacy import scrub
from wangge.public.tokens import Access

# Status → (short label, one sentence for the resident).
PLAIN_STATUS: dict[str, tuple[Promise, Promise]] = {
    Status.REPORTED: (_("已收到"), _("您反映的问题已收到，正在等待受理。")),
    Status.ACCEPTED: (_("已受理"), _("已受理，正在安排办理单位。")),
    Status.DISPATCHED: (_("已派单"), _("已交给办理单位，等待签收。")),
    Status.IN_PROGRESS: (_("办理中"), _("办理单位正在处理。")),
    Status.HANDLED: (_("待核查"), _("办理单位已处理，正在核查办理结果。")),
    Status.CLOSED: (_("已办结"), _("问题已办结。")),
    Status.REJECTED: (_("不予受理"), _("经审核不予受理，原因见下方办理记录。")),
    Status.MERGED: (_("已合并"), _("与其他群众反映的同一问题合并办理。")),
    Status.SUSPENDED: (_("暂缓办理"), _("办理暂缓，期间不计办理时限。")),
}
# The same sentence for someone following a case another resident reported.
FOLLOWER_TEXT: dict[str, Promise] = {
    Status.REPORTED: _("这个问题已收到，正在等待受理。"),
}
# Progress steps ("Submitted", "Accepted", …), not the staff's buttons of the same words.
STEPS: list[Promise] = [
    pgettext_lazy("progress", "提交"),
    pgettext_lazy("progress", "受理"),
    pgettext_lazy("progress", "办理"),
    pgettext_lazy("progress", "办结"),
]
STEP_OF: dict[str, int] = {
    Status.REPORTED: 0,
    Status.ACCEPTED: 1,
    Status.DISPATCHED: 2,
    Status.IN_PROGRESS: 2,
    Status.SUSPENDED: 2,
    Status.HANDLED: 2,
    Status.CLOSED: 3,
    # A rejected case ends after 提交: its own last step (REJECTED_STEPS), not 受理/办理/办结.
    Status.REJECTED: 1,
    Status.MERGED: 3,
}
REJECTED_STEPS: list[Promise] = [STEPS[0], pgettext_lazy("progress", "不予受理")]
# Timeline actions → what the resident reads. Actions not listed are shown by their label only
# if public; notes are shown only where they are written for the resident.
EVENT_TEXT: dict[str, Promise] = {
    "report": _("提交反映"),
    "accept": _("已受理"),
    "reject": _("不予受理"),
    "sign": _("办理单位已签收"),
    "handle": _("办理单位已处理"),
    "verify_pass": _("经核查，已办结"),
    "verify_fail": _("核查未通过，继续办理"),
    "approve_suspension": _("暂缓办理（不计时限）"),
    "resume": _("恢复办理"),
    "approve_extension": _("办理时限已延长"),
    "rate": _("群众评价"),
    "reopen": _("重新办理"),
    "merge": _("与同一问题合并办理"),
    "merged_into": _("其他群众反映的同一问题已并入本件"),
    "resolve_on_spot": _("已现场处置"),
}
NOTE_ACTIONS = frozenset({"reject", "handle", "resolve_on_spot", "reopen"})
STAFF = _("工作人员")
RESIDENT = _("群众")


@dataclass
class Step:
    at: datetime
    text: str
    note: str = ""


@dataclass
class PublicCase:
    """One case as its public page shows it."""

    case: Case  # the case the link or code is for
    shown: Case  # whose progress is shown: the case itself, or the case it was merged into
    access: Access
    title: str
    status_label: str
    status_text: str
    step: int
    expected_at: datetime | None
    overdue: bool
    paused: bool
    reopened: bool
    result: str
    outcome_label: str
    steps: list[Step] = field(default_factory=list)
    photos: list[Any] = field(default_factory=list)
    can_rate: bool = False
    rating_label: str = ""
    # Whether a rating of 未解决 / 不满意 still sends the case back (once per case).
    can_reopen: bool = False

    @property
    def steps_labels(self) -> list[tuple[int, Promise]]:
        if self.shown.status == Status.REJECTED:
            return list(enumerate(REJECTED_STEPS))
        return list(enumerate(STEPS))


def private_names(
    case: Case, *others: Case, own: bool, timelines: dict[int, list[Any]]
) -> dict[str, str]:
    """The names that must not appear on a case's public page, with what replaces them: staff
    who acted on the cases or work where they are, and every reporter but the viewer.
    `timelines`: each case's entries (`selectors.timeline`) by case id."""
    from django.db.models import Q

    from wangge.territory.models import ancestor_codes

    names: dict[str, str] = {}
    cases = [case, *others]
    units: set[str] = set()
    departments: set[int] = set()
    for c in cases:
        units.update([*ancestor_codes(c.grid_code), c.grid_code])
        if c.lead_department_id:
            departments.add(c.lead_department_id)
        for event in timelines[c.pk]:
            if event.actor_id and event.actor_label:
                names[event.actor_label] = str(STAFF)
            worker = (event.data or {}).get("worker")
            if worker:
                names[str(worker)] = str(STAFF)
    people = Membership.objects.filter(
        Q(unit__code__in=units) | Q(department_id__in=departments)
    ).values_list("user__display_name", "user__username")
    for display_name, username in people:
        for value in (display_name, username):
            if value:
                names[value] = str(STAFF)
    for c in cases if not own else others:
        if c.reporter_name:
            names[c.reporter_name] = str(RESIDENT)
    return names


def _step(event: Any, names: dict[str, str], *, own: bool) -> Step:
    action = event.action
    data = event.data or {}
    if action == "dispatch":
        department = data.get("department")
        text = (
            str(_("已交由%(unit)s办理") % {"unit": department})
            if department
            else str(_("已交由网格员办理"))
        )
    elif action == "report" and not own:
        text = str(_("群众反映"))
    elif action == "rate":
        rating = dict(Rating.choices).get(str(data.get("rating", "")), "")
        solved = data.get("solved", True)
        text = str((_("您的评价：%(r)s") if own else _("群众评价：%(r)s")) % {"r": rating})
        if not solved:
            text += str(_("（反映问题未解决）"))
    else:
        text = str(EVENT_TEXT.get(action) or event.get_action_label())
    note = scrub(event.note, names=names) if action in NOTE_ACTIONS else ""
    return Step(at=event.created_at, text=text, note=note)


def public_case(case: Case, *, access: Access, now: datetime | None = None) -> PublicCase:
    now = now or timezone.now()
    merged = case.status == Status.MERGED and case.master_id is not None
    shown = case.master if merged and case.master else case
    extra = [shown] if shown.pk != case.pk else []
    own = access.is_reporter
    # Each case's timeline read once: its actors' names are hidden, its public entries shown.
    timelines = {c.pk: selectors.timeline(case=c) for c in (case, *extra)}
    names = private_names(case, *extra, own=own, timelines=timelines)
    label, text = PLAIN_STATUS.get(shown.status, (shown.get_status_display(), ""))
    if not own:
        text = FOLLOWER_TEXT.get(shown.status, text)
    paused = shown.status == Status.SUSPENDED or shown.paused_at is not None
    expected = shown.resolution_due_at if shown.is_open and not paused else None
    steps = [_step(e, names, own=own) for e in timelines[case.pk] if e.is_public]
    if extra:
        steps += [_step(e, names, own=False) for e in timelines[shown.pk] if e.is_public]
        steps.sort(key=lambda s: s.at)
    photos = [p for p in selectors.public_photos(case=case) if own or not _is_report(p)]
    if extra:
        photos += [p for p in selectors.public_photos(case=shown) if not _is_report(p)]
    title = case.title if own else scrub(case.title, names=names)
    result = (
        scrub(shown.result, names=names)
        if shown.status
        in (
            Status.HANDLED,
            Status.CLOSED,
        )
        else ""
    )
    return PublicCase(
        case=case,
        shown=shown,
        access=access,
        title=title,
        status_label=str(label),
        status_text=str(text),
        step=STEP_OF.get(shown.status, 0),
        expected_at=expected,
        overdue=bool(expected and expected < now),
        paused=paused,
        reopened=shown.reopen_count > 0 and shown.is_open,
        result=result,
        outcome_label=str(dict(Outcome.choices).get(shown.outcome, "")) if result else "",
        steps=steps,
        photos=photos,
        can_rate=own and case.status == Status.CLOSED and not case.rating,
        rating_label=str(dict(Rating.choices).get(case.rating, "")) if own else "",
        can_reopen=case.reopen_count < MAX_REOPENS,
    )


def public_title(case: Case) -> str:
    """A case's title for strangers (the duplicate check): numbers and the reporter's name
    hidden."""
    return scrub(
        case.title, names={case.reporter_name: str(RESIDENT)} if case.reporter_name else {}
    )


def status_label(case: Case) -> str:
    return str(PLAIN_STATUS.get(case.status, (case.get_status_display(), ""))[0])


def _is_report(photo: Any) -> bool:
    return photo.event is not None and photo.event.action == "report"


def photo_visible(photo: Any, *, case: Case, access: Access) -> bool:
    """Followers, and reporters looking at the case theirs was merged into, see no report photos
    but their own."""
    return (photo.case_id == case.pk and access.is_reporter) or not _is_report(photo)
