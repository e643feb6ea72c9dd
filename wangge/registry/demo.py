"""Demo population and housing (人房数据) for the demo district: households and residents in every
building of the demo community and in the first building of every other grid, special groups, party
members paired with households (联户), visits this month and last (some of them the origin of a
demo case), and enterprises with their needs lists.

Identifiers are generated valid (GB 11643 ID numbers, GB 32100 credit codes, mainland mobiles) and
sealed exactly as the actions seal them (protection.seal), then written with bulk inserts in one
transaction: the actions' one-row-at-a-time checks would take minutes for this many rows, and
every value is valid by construction (the demo test checks them all). Deterministic for a given
seed and day; running it again adds nothing.
"""

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from wangge.accounts.models import Membership, Role
from wangge.core.demo import (
    DEMO_COMMUNITY_CODE,
    DEMO_GRID_CODE,
    DEMO_SEED,
    DEMO_STREET_CODE,
    DISTRICT_CODE,
    GIVEN_NAMES,
    LOGIN_BY_ROLE,
    MOBILE_PREFIXES,
    SURNAMES,
    DemoError,
    Writer,
)
from wangge.core.validators import credit_code_check_char, id_number_check_char
from wangge.registry import protection
from wangge.registry.models import (
    BuildingUnit,
    Enterprise,
    EnterpriseNeed,
    Household,
    NeedStatus,
    PartyMemberLink,
    PoliticalStatus,
    Relation,
    ResidenceType,
    Resident,
    ResidentTag,
    Sex,
    SpecialGroup,
    Tenure,
    Visit,
    VisitPurpose,
)
from wangge.registry.selectors import month_bounds
from wangge.territory.models import Building

# Outside the demo community, the first building of each grid gets this many households (the
# whole district at full size would be 160,000 households: minutes, not seconds, to seed).
SAMPLE_HOUSEHOLDS = 4
ENTERPRISES = 12
# Party members paired with households in each community of the demo street (the demo
# community gets more, so that its staff have a full page).
LINKED_MEMBERS = 1
LINKED_MEMBERS_DEMO_COMMUNITY = 8
# Of the special-group households, how many were visited last month and so far this month.
VISITED_LAST_MONTH = 0.85
VISITED_THIS_MONTH = 0.6
VISIT_CASES = 8

# Birth places of residents: mostly Beijing's districts, some from elsewhere (流动人口).
BEIJING_REGIONS = ("110101", "110102", "110105", "110106", "110107", "110108", "110111")
OTHER_REGIONS = ("130102", "370102", "410102", "420102", "510104", "340102", "230102")

FINDINGS = {
    VisitPurpose.CARE: (
        "老人身体状况良好，独自在家，冰箱里食物充足",
        "老人腿脚不便，近期未下楼，子女每周来一次",
        "老人反映血压偏高，已提醒按时服药并联系家庭医生",
        "家中电线老化，插线板串联使用",
        "老人听力下降，敲门很久才开门，建议安装闪光门铃",
        "残疾人两项补贴已到账，家属表示感谢",
        "孩子放学后独自在家，家长晚上九点后才回来",
        "低保年审材料已齐全",
    ),
    VisitPurpose.ROUTINE: (
        "家中无异常，住户信息无变化",
        "新租户已入住，已登记人员信息",
        "楼道堆放纸箱等杂物，存在消防隐患",
        "反映楼上漏水，天花板有水渍",
        "住户对垃圾分类有疑问，已现场讲解",
        "电动车在楼道内充电，已劝导",
    ),
    VisitPurpose.KNOCK: (
        "敲门未应答，邻居称住户外出探亲",
        "住户在家，了解近期生活困难情况",
        "燃气灶软管老化，已提醒更换",
        "窗户护栏松动，有坠落风险",
    ),
    VisitPurpose.POLICY: (
        "宣传适老化改造政策，住户有意申请",
        "讲解医保缴费新政策",
        "宣传防范电信诈骗知识，发放宣传册",
    ),
}
NEEDS = (
    "",
    "",
    "",
    "希望有人定期上门看看",
    "希望帮忙代购日常用品",
    "申请适老化改造（卫生间扶手）",
    "希望社区协调物业清理楼道",
    "想了解残疾人两项补贴办理流程",
    "希望帮助联系维修漏水",
    "孩子暑期托管",
)
ENTERPRISE_NAMES = (
    "北京交东文化传媒有限公司",
    "北京南锣数字科技有限公司",
    "北京菊儿胡同餐饮管理有限公司",
    "北京鼓楼苑健康咨询有限公司",
    "北京府学教育科技有限公司",
    "北京帽儿物业服务有限公司",
    "北京福祥设计工作室有限公司",
    "北京圆恩寺商贸有限公司",
    "北京东不压桥文旅发展有限公司",
    "北京北兵马司软件有限公司",
    "北京大兴胡同法律咨询有限公司",
    "北京交道口社区养老服务有限公司",
)
ENTERPRISE_NEEDS = (
    ("招聘应届毕业生", "希望街道协助对接高校就业服务"),
    ("员工子女入学咨询", ""),
    ("办公场所消防检查指导", "新租楼层，想请消防部门上门指导"),
    ("申请稳岗补贴", ""),
    ("成立党支部", "现有党员 4 名，希望街道指导组建"),
    ("停车位紧张", "员工车辆无处停放，希望协调错时停车"),
    ("知识产权申请辅导", ""),
)


@dataclass
class _Stream:
    """All the random choices of the seed, from one seeded generator, with uniqueness kept."""

    # Python's generator, not numpy's: tens of thousands of single draws, each ten times cheaper.
    rng: random.Random
    id_numbers: set[str] = field(default_factory=set)
    mobiles: set[str] = field(default_factory=set)

    def pick(self, options: Any) -> Any:
        return options[self.rng.randrange(len(options))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def name(self, surname: str | None = None) -> str:
        return (surname or self.pick(SURNAMES)) + self.pick(GIVEN_NAMES)

    def birth(self, age_low: int, age_high: int, today: date) -> date:
        days = self.rng.randrange(age_low * 365, age_high * 365 + 1)
        return today - timedelta(days=days)

    def id_number(self, birth: date, sex: str, region: str) -> str:
        while True:
            order = self.rng.randrange(500) * 2 + (1 if sex == Sex.MALE else 0)
            first17 = f"{region}{birth:%Y%m%d}{order:03d}"
            value = first17 + id_number_check_char(first17)
            if value not in self.id_numbers:
                self.id_numbers.add(value)
                return value

    def mobile(self) -> str:
        while True:
            value = f"{self.pick(MOBILE_PREFIXES)}{self.rng.randrange(10**8):08d}"
            if value not in self.mobiles:
                self.mobiles.add(value)
                return value


@dataclass
class _Person:
    name: str
    sex: str
    birth: date
    relation: str
    political: str = PoliticalStatus.MASSES
    residence: str = ResidenceType.REGISTERED
    tags: list[tuple[str, str, str]] = field(default_factory=list)


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _family(s: _Stream, today: date, *, renting: bool) -> list[_Person]:
    """One household's members: a head, maybe a spouse, children, a parent or grandchildren."""
    size = s.rng.choices([1, 2, 3, 4, 5], weights=[0.2, 0.34, 0.3, 0.11, 0.05])[0]
    head_sex = Sex.MALE if s.chance(0.6) else Sex.FEMALE
    if size == 1:
        head_age = (70, 92) if s.chance(0.45) else (22, 69)
    elif size == 2:
        head_age = (60, 88) if s.chance(0.5) else (25, 59)
    else:
        head_age = (30, 62)
    surname = s.pick(SURNAMES)
    head = _Person(s.name(surname), head_sex, s.birth(*head_age, today), Relation.HEAD)
    people = [head]
    head_years = _age(head.birth, today)
    if size >= 2:
        spouse_sex = Sex.FEMALE if head_sex == Sex.MALE else Sex.MALE
        low, high = max(20, head_years - 6), max(21, min(95, head_years + 4))
        people.append(_Person(s.name(), spouse_sex, s.birth(low, high, today), Relation.SPOUSE))
    for _ in range(size - 2):
        if head_years >= 55 and s.chance(0.5):
            relation, ages = Relation.GRANDCHILD, (1, 16)
        elif head_years <= 45 and s.chance(0.25):
            relation, ages = Relation.PARENT, (head_years + 22, min(head_years + 35, 95))
        else:
            relation, ages = Relation.CHILD, (max(0, head_years - 40), max(1, head_years - 22))
        sex = Sex.MALE if s.chance(0.5) else Sex.FEMALE
        child_surname = surname if relation != Relation.PARENT else None
        people.append(_Person(s.name(child_surname), sex, s.birth(*ages, today), relation))
    residence = (
        ResidenceType.RENTING
        if renting
        else s.pick(
            [ResidenceType.REGISTERED] * 8
            + [ResidenceType.PERMANENT] * 2
            + [ResidenceType.FLOATING]
        )
    )
    for person in people:
        person.residence = residence
        age = _age(person.birth, today)
        if age >= 18 and s.chance(0.1):
            person.political = (
                PoliticalStatus.PARTY_MEMBER
                if s.chance(0.9)
                else PoliticalStatus.PROBATIONARY_MEMBER
            )
        elif 14 <= age <= 28 and s.chance(0.3):
            person.political = PoliticalStatus.LEAGUE_MEMBER
        elif age >= 30 and s.chance(0.01):
            person.political = PoliticalStatus.DEMOCRATIC_PARTY
    _tag_family(s, people, today)
    return people


def _tag_family(s: _Stream, people: list[_Person], today: date) -> None:
    ages = [_age(p.birth, today) for p in people]
    head = people[0]
    if len(people) == 1 and ages[0] >= 70:
        head.tags.append((SpecialGroup.LIVING_ALONE, "", "高龄津贴" if ages[0] >= 80 else ""))
    if len(people) == 2 and min(ages) >= 60:
        head.tags.append((SpecialGroup.EMPTY_NEST, "", ""))
    for person, age in zip(people, ages, strict=True):
        if age >= 75 and s.chance(0.05):
            person.tags.append((SpecialGroup.DISABLED_ELDERLY, "", "失能护理补贴"))
        if age < 16 and s.chance(0.01):
            person.tags.append((SpecialGroup.LEFT_BEHIND_CHILD, "", ""))
        if age < 16 and s.chance(0.006):
            person.tags.append((SpecialGroup.DISTRESSED_CHILD, "", "困境儿童保障金"))
        if s.chance(0.025):
            level = s.pick(["1", "2", "3", "4"])
            subsidy = "重度残疾人护理补贴" if level in ("1", "2") else "困难残疾人生活补贴"
            person.tags.append((SpecialGroup.DISABILITY, level, subsidy))
        if person.sex == Sex.FEMALE and 22 <= age <= 38 and s.chance(0.04):
            person.tags.append((SpecialGroup.PREGNANT, "", ""))
        if person.sex == Sex.MALE and 40 <= age <= 80 and s.chance(0.04):
            person.tags.append((SpecialGroup.VETERAN, "", "优抚"))
    if s.chance(0.02):
        head.tags.append((SpecialGroup.SUBSISTENCE, "", "城市低保"))
    elif s.chance(0.004):
        head.tags.append((SpecialGroup.EXTREME_POVERTY, "", "特困供养"))
    if s.chance(0.005):
        head.tags.append((SpecialGroup.KEY_ATTENTION, "", ""))


def _rooms(building: Building, count: int) -> list[tuple[int, str]]:
    """(unit number, room) for `count` households, spread over the building's units and floors."""
    units = max(1, building.unit_count)
    floors = max(1, building.floors)
    per_unit = math.ceil(count / units)
    per_floor = max(1, math.ceil(per_unit / floors))
    rooms: list[tuple[int, str]] = []
    for unit in range(1, units + 1):
        for i in range(per_unit):
            if len(rooms) == count:
                return rooms
            floor, door = divmod(i, per_floor)
            rooms.append((unit, f"{floor + 1}{door + 1:02d}"))
    return rooms


def _credit_code(s: _Stream, index: int) -> str:
    """91 (enterprise) + 110101 (registered in 东城区) + a GB 11714 organisation code + check."""
    body = f"{s.rng.randrange(10**7, 10**8)}"
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    first17 = f"91{DISTRICT_CODE}{org}"
    return first17 + credit_code_check_char(first17)


@dataclass
class _Plan:
    households: list[Household] = field(default_factory=list)
    families: list[list[_Person]] = field(default_factory=list)


def _plan_households(
    s: _Stream, buildings: list[Building], units: dict[tuple[int, int], BuildingUnit], now: datetime
) -> _Plan:
    today = timezone.localdate(now)
    plan = _Plan()
    for building in buildings:
        full = building.grid.code.startswith(DEMO_COMMUNITY_CODE)
        count = (
            building.household_count if full else min(SAMPLE_HOUSEHOLDS, building.household_count)
        )
        for unit_number, room in _rooms(building, count):
            renting = s.chance(0.15)
            roll = s.rng.random()
            if roll < 0.6:
                verified: datetime | None = now - timedelta(hours=s.rng.uniform(2, 6 * 24))
            elif roll < 0.85:
                verified = now - timedelta(days=s.rng.uniform(8, 45))
            else:
                verified = None
            moved_in = today - timedelta(days=s.rng.randrange(30, 30 * 365))
            plan.households.append(
                Household(
                    building=building,
                    unit=units[(building.pk, unit_number)],
                    room=room,
                    floor_area_m2=Decimal(f"{s.rng.uniform(38, 120):.2f}"),
                    tenure=Tenure.TENANT if renting else Tenure.OWNER,
                    move_in_date=moved_in,
                    last_verified_at=verified,
                    last_verified_by_id=building.building_head_id if verified else None,
                )
            )
            plan.families.append(_family(s, today, renting=renting))
    return plan


def _residents(s: _Stream, plan: _Plan, today: date) -> tuple[list[Resident], list[list[Any]]]:
    residents: list[Resident] = []
    tags: list[list[Any]] = []
    for household, family in zip(plan.households, plan.families, strict=True):
        for person in family:
            floating = person.residence in (ResidenceType.FLOATING, ResidenceType.RENTING)
            region = s.pick(OTHER_REGIONS if floating and s.chance(0.7) else BEIJING_REGIONS)
            id_sealed = protection.seal(
                s.id_number(person.birth, person.sex, region), purpose=protection.ID_NUMBER
            )
            has_mobile = _age(person.birth, today) >= 12
            mobile_sealed = protection.seal(
                s.mobile() if has_mobile else "", purpose=protection.MOBILE
            )
            residents.append(
                Resident(
                    household=household,
                    name=person.name,
                    sex=person.sex,
                    birth_date=person.birth,
                    id_number_encrypted=id_sealed.encrypted,
                    id_number_digest=id_sealed.digest,
                    id_number_last4_digest=id_sealed.last4_digest,
                    id_number_masked=id_sealed.masked,
                    mobile_encrypted=mobile_sealed.encrypted,
                    mobile_digest=mobile_sealed.digest,
                    mobile_last4_digest=mobile_sealed.last4_digest,
                    mobile_masked=mobile_sealed.masked,
                    ethnicity="汉族"
                    if s.chance(0.93)
                    else s.pick(["回族", "满族", "蒙古族", "朝鲜族"]),
                    political_status=person.political,
                    residence_type=person.residence,
                    relation_to_head=person.relation,
                )
            )
            tags.append(person.tags)
    return residents, tags


def _visits(
    s: _Stream,
    households: list[Household],
    special: set[int],
    workers: dict[int, int],
    now: datetime,
) -> list[Visit]:
    """Last month most special-group households were visited, this month so far fewer; a few
    routine visits elsewhere. Visited by the grid's worker, sometimes by the building head."""
    this_start, _end = month_bounds(timezone.localdate(now))
    last_start, _ = month_bounds((this_start - timedelta(days=1)).date())
    visits: list[Visit] = []
    for household in households:
        is_special = household.pk in special
        for start, end, p in (
            (last_start, this_start, VISITED_LAST_MONTH if is_special else 0.08),
            (this_start, now, VISITED_THIS_MONTH if is_special else 0.05),
        ):
            span = (end - start).total_seconds()
            if span <= 3600 or not s.chance(p):
                continue
            at = start + timedelta(seconds=s.rng.uniform(0, span - 60))
            # Visits happen in daytime: move the time to between 9:00 and 18:00 that day.
            local = timezone.localtime(at)
            at = local.replace(hour=9 + s.rng.randrange(9), minute=s.rng.randrange(60))
            if at >= now or at < start:
                continue
            purpose = (
                VisitPurpose.CARE
                if is_special and s.chance(0.7)
                else s.pick([VisitPurpose.ROUTINE, VisitPurpose.KNOCK, VisitPurpose.POLICY])
            )
            head = household.building.building_head_id
            visitor = head if head and s.chance(0.2) else workers.get(household.building.grid_id)
            visits.append(
                Visit(
                    household=household,
                    visited_by_id=visitor,
                    visited_at=at,
                    purpose=purpose,
                    findings=s.pick(FINDINGS[purpose]),
                    needs=s.pick(NEEDS),
                )
            )
    return visits


def _visit_cases(s: _Stream, households: list[Household], workers: dict[int, int]) -> list[Visit]:
    """Visits that were the origin of some demo cases reported on patrol in the demo street
    (the cases exist already, made by the cases' seed: they are linked, not made again)."""
    from wangge.cases.models import Case, Source

    by_grid: dict[int, list[Household]] = defaultdict(list)
    for household in households:
        by_grid[household.building.grid_id].append(household)
    cases = (
        Case.objects.filter(
            source=Source.GRID_PATROL,
            grid__code__startswith=DEMO_STREET_CODE,
            reporter__isnull=False,
            visit__isnull=True,
        )
        .order_by("-created_at", "pk")
        .only("pk", "grid_id", "reporter_id", "created_at", "title", "description")
    )
    visits: list[Visit] = []
    for case in cases:
        options = by_grid.get(case.grid_id)
        # Only cases the grid's own worker reported came from a visit to one of its households.
        if not options or workers.get(case.grid_id) != case.reporter_id:
            continue
        visits.append(
            Visit(
                household=s.pick(options),
                visited_by_id=case.reporter_id,
                visited_at=case.created_at - timedelta(minutes=s.rng.randrange(10, 40)),
                purpose=VisitPurpose.KNOCK,
                findings=case.title,
                needs=case.description[:500],
                case_id=case.pk,
            )
        )
        if len(visits) == VISIT_CASES:
            break
    return visits


def _links(
    s: _Stream, households: list[Household], members: list[Resident]
) -> list[PartyMemberLink]:
    """In each community of the demo street a few party members keep in touch with 10–15
    households each of their community (each household with one member)."""
    by_community: dict[str, list[Household]] = defaultdict(list)
    for household in households:
        code = household.building.grid.code
        if code.startswith(DEMO_STREET_CODE):
            by_community[code[:12]].append(household)
    members_by_community: dict[str, list[Resident]] = defaultdict(list)
    for member in members:
        members_by_community[member.household.building.grid.code[:12]].append(member)
    links: list[PartyMemberLink] = []
    for code in sorted(by_community):
        free = list(by_community[code])
        s.rng.shuffle(free)
        wanted = LINKED_MEMBERS_DEMO_COMMUNITY if code == DEMO_COMMUNITY_CODE else LINKED_MEMBERS
        for member in members_by_community[code][:wanted]:
            n = s.rng.randint(PartyMemberLink.TARGET_PER_MEMBER, PartyMemberLink.MAX_PER_MEMBER)
            chosen, free = free[:n], free[n:]
            links.extend(PartyMemberLink(member=member, household=h) for h in chosen)
    return links


def _enterprises(s: _Stream, buildings: list[Building]) -> tuple[list[Enterprise], list[Any]]:
    tall = [b for b in buildings if b.grid.code.startswith(DEMO_STREET_CODE) and b.floors >= 4]
    if not tall:
        return [], []
    enterprises: list[Enterprise] = []
    needs: list[Any] = []
    for index, name in enumerate(ENTERPRISE_NAMES[:ENTERPRISES]):
        building = tall[(index * 7) % len(tall)]
        contact = protection.seal(s.mobile(), purpose=protection.ENTERPRISE_MOBILE)
        enterprises.append(
            Enterprise(
                building=building,
                name=name,
                credit_code=_credit_code(s, index),
                contact_name=s.name(),
                contact_mobile_encrypted=contact.encrypted,
                contact_mobile_digest=contact.digest,
                contact_mobile_masked=contact.masked,
                employee_count=s.rng.randrange(3, 180),
                has_party_organization=s.chance(0.4),
                has_union=s.chance(0.5),
            )
        )
        needs.append(
            [
                (
                    title,
                    text,
                    s.pick([NeedStatus.OPEN, NeedStatus.IN_PROGRESS, NeedStatus.RESOLVED]),
                )
                for title, text in (
                    ENTERPRISE_NEEDS[i]
                    for i in s.rng.sample(range(len(ENTERPRISE_NEEDS)), s.rng.randint(1, 3))
                )
            ]
        )
    return enterprises, needs


def _grid_workers() -> dict[int, int]:
    """Grid id → the user id of its grid worker (the demo login in the demo grid)."""
    workers: dict[int, int] = {}
    rows = Membership.objects.filter(
        role=Role.GRID_WORKER, unit__code__startswith=DISTRICT_CODE
    ).values_list("unit_id", "user_id", "user__username")
    demo_worker = LOGIN_BY_ROLE[Role.GRID_WORKER].username
    for unit_id, user_id, _username in sorted(rows, key=lambda r: (r[2] != demo_worker, r[1])):
        workers.setdefault(unit_id, user_id)
    return workers


BUILDING_FIELDS = (
    "name",
    "address",
    "lon",
    "lat",
    "unit_count",
    "floors",
    "household_count",
    "building_head_id",
    "grid__code",
    "grid__name",
)


def seed_demo_registry(*, seed: int = DEMO_SEED, stdout: Writer | None = None) -> dict[str, int]:
    """Fill the demo district's registry once (idempotent: returns {} when it is filled)."""
    if not Building.objects.filter(grid__code__startswith=DEMO_GRID_CODE).exists():
        raise DemoError("请先创建演示辖区 (seed the demo district first)", field="district")
    if Household.objects.filter(building__grid__code__startswith=DISTRICT_CODE).exists():
        return {}
    now = timezone.now().replace(second=0, microsecond=0)
    today = timezone.localdate(now)
    s = _Stream(rng=random.Random(f"{seed}-registry"))  # noqa: S311 (demo data, not secrets)
    with transaction.atomic():
        everything = list(
            Building.objects.filter(grid__code__startswith=DISTRICT_CODE)
            .select_related("grid")
            # Not the grids' boundaries: 3,000 of those would take longer than the whole seed.
            .only(*BUILDING_FIELDS)
            .order_by("grid__code", "pk")
        )
        buildings: list[Building] = []
        seen_grids: set[int] = set()
        for building in everything:
            if (
                building.grid.code.startswith(DEMO_COMMUNITY_CODE)
                or building.grid_id not in seen_grids
            ):
                buildings.append(building)
                seen_grids.add(building.grid_id)
        # Units first (the households point at them), then households, residents and the rest.
        unit_rows = [
            BuildingUnit(building=b, number=n)
            for b in buildings
            for n in range(1, max(1, b.unit_count) + 1)
        ]
        BuildingUnit.objects.bulk_create(unit_rows, batch_size=1000)
        units = {(u.building_id, u.number): u for u in unit_rows}
        plan = _plan_households(s, buildings, units, now)
        Household.objects.bulk_create(plan.households, batch_size=1000)
        residents, tag_lists = _residents(s, plan, today)
        Resident.objects.bulk_create(residents, batch_size=1000)
        tags = [
            ResidentTag(
                resident=r,
                building_id=r.household.building_id,
                group=group,
                disability_level=level,
                subsidy_type=subsidy,
            )
            for r, groups in zip(residents, tag_lists, strict=True)
            for group, level, subsidy in groups
        ]
        ResidentTag.objects.bulk_create(tags, batch_size=1000)

        special = {r.household_id for r, groups in zip(residents, tag_lists, strict=True) if groups}
        workers = _grid_workers()
        visits = _visits(s, plan.households, special, workers, now)
        visits += _visit_cases(s, plan.households, workers)
        Visit.objects.bulk_create(visits, batch_size=1000)

        members = [
            r
            for r in residents
            if r.is_party_member and r.household.building.grid.code.startswith(DEMO_STREET_CODE)
        ]
        links = _links(s, plan.households, members)
        PartyMemberLink.objects.bulk_create(links, batch_size=1000)

        enterprises, need_lists = _enterprises(s, everything)
        Enterprise.objects.bulk_create(enterprises)
        EnterpriseNeed.objects.bulk_create(
            [
                EnterpriseNeed(enterprise=e, title=title, description=text, status=status)
                for e, needs in zip(enterprises, need_lists, strict=True)
                for title, text, status in needs
            ]
        )
    counts = {
        "households": len(plan.households),
        "residents": len(residents),
        "special-group tags": len(tags),
        "visits": len(visits),
        "party links": len(links),
        "enterprises": len(enterprises),
    }
    if stdout is not None:
        stdout.write("  registry: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + "\n")
    return counts
