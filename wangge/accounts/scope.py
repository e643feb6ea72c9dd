"""Data scope, decided in one place.

A user sees objects in the subtrees of the units their memberships name; a department handler
also sees what is assigned to their department (and the areas it serves, for territory). Anything
else does not exist for that user: selectors filter with these Q objects and raise Http404.
"""

from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.db.models import Q

from wangge.accounts.models import READ_ONLY_ROLES, UNIT_ROLES, Role


def _minimal_prefixes(codes: set[str]) -> tuple[str, ...]:
    """Drop codes already covered by a shorter code (a subtree inside another subtree)."""
    kept: list[str] = []
    for code in sorted(codes, key=lambda c: (len(c), c)):
        if not any(code.startswith(prefix) for prefix in kept):
            kept.append(code)
    return tuple(sorted(kept))


@dataclass(frozen=True)
class Scope:
    is_superuser: bool = False
    roles: frozenset[str] = frozenset()
    # Subtree roots (unit codes) this user may see, with the roles held there.
    unit_codes: tuple[str, ...] = ()
    # Subtree roots where the user may act (not read-only).
    writable_unit_codes: tuple[str, ...] = ()
    department_ids: tuple[int, ...] = ()
    # Areas served by the user's departments: territory the handler may see.
    department_area_codes: tuple[str, ...] = ()
    roles_by_code: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.is_superuser or self.unit_codes or self.department_ids)

    @property
    def case_codes(self) -> tuple[str, ...]:
        """Subtree roots whose cases the user sees. A building head sees their own buildings,
        not their grid's cases: only their own reports (DOMAIN.md §2), so a unit held only as
        building head gives none."""
        return _minimal_prefixes(
            {code for code, roles in self.roles_by_code.items() if roles - {Role.BUILDING_HEAD}}
        )

    def sees_cases_at(self, code: str) -> bool:
        """Whether the user may read the contacts of cases located at `code`: their own units
        (not those held only as building head) and the areas their department serves (a
        handler calls the resident back)."""
        return self.is_superuser or any(
            code.startswith(c) for c in (*self.case_codes, *self.department_area_codes)
        )

    @property
    def territory_codes(self) -> tuple[str, ...]:
        return _minimal_prefixes(set(self.unit_codes) | set(self.department_area_codes))

    def code_q(self, lookup: str, codes: tuple[str, ...] | None = None) -> Q:
        """Q matching rows whose unit code (reached through `lookup`) is inside the scope."""
        if self.is_superuser:
            return Q()
        codes = self.territory_codes if codes is None else codes
        if not codes:
            return Q(pk__in=[])
        return reduce(or_, (Q(**{f"{lookup}__codeprefix": code}) for code in codes))

    def sees_code(self, code: str) -> bool:
        return self.is_superuser or any(code.startswith(c) for c in self.territory_codes)

    def can_act_on_code(self, code: str) -> bool:
        return self.is_superuser or any(code.startswith(c) for c in self.writable_unit_codes)

    def roles_at(self, code: str) -> frozenset[str]:
        """Roles held at `code` or at any of its ancestors."""
        found: set[str] = set()
        for prefix, roles in self.roles_by_code.items():
            if code.startswith(prefix):
                found |= roles
        return frozenset(found)


def _department_area_codes(memberships: list[Any]) -> set[str]:
    codes: set[str] = set()
    for membership in memberships:
        department = membership.department
        areas = [area.code for area in department.service_areas.all()]
        codes.update(areas or [department.unit.code])
    return codes


def build_scope(user: Any) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Scope()
    if user.is_superuser:
        return Scope(is_superuser=True, roles=frozenset(Role.values))
    memberships = list(
        user.memberships.select_related("unit", "department__unit").prefetch_related(
            "department__service_areas"
        )
    )
    roles_by_code: dict[str, set[str]] = {}
    writable: set[str] = set()
    for m in memberships:
        if m.role in UNIT_ROLES and m.unit is not None:
            roles_by_code.setdefault(m.unit.code, set()).add(m.role)
            if m.role not in READ_ONLY_ROLES:
                writable.add(m.unit.code)
    handler = [m for m in memberships if m.role == Role.DEPARTMENT_HANDLER and m.department]
    return Scope(
        roles=frozenset(m.role for m in memberships),
        unit_codes=_minimal_prefixes(set(roles_by_code)),
        writable_unit_codes=_minimal_prefixes(writable),
        department_ids=tuple(sorted({m.department_id for m in handler})),
        department_area_codes=_minimal_prefixes(_department_area_codes(handler)),
        roles_by_code={code: frozenset(roles) for code, roles in roles_by_code.items()},
    )


def forget_scope(user: Any) -> None:
    """Drop the scope computed for this user object (its rights were just changed)."""
    user.__dict__.pop("_wangge_scope", None)


def scope_of(user: Any) -> Scope:
    """The user's scope, computed once per user object (so once per request)."""
    cached: Scope | None = getattr(user, "_wangge_scope", None)
    if cached is None:
        cached = build_scope(user)
        if getattr(user, "is_authenticated", False):
            user._wangge_scope = cached
    return cached
