"""The demo district: 东城区 (110101) with its 17 real street boundaries, cut into synthetic
communities and grids, with buildings, departments, grid workers and one login per role.

Everything is planned in memory first from fixed seeds (`plan_demo`, pure and deterministic),
then written in one transaction through the territory actions (`seed_demo`).
"""

import csv
import json
import math
import time
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import shapely
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from wangge.accounts.models import Membership, Role, User
from wangge.core.errors import DomainError
from wangge.territory import actions
from wangge.territory.geo import GridLocator, area_m2, build_grid_locator, clean_boundary
from wangge.territory.models import Building, Department, DepartmentKind, Level, OrgUnit

DEMO_SEED = 2026
DISTRICT_CODE = "110101"
DISTRICT_NAME = "东城区"
COMMUNITY_TOTAL = 80
GRID_TOTAL = 360
BUILDING_TOTAL = 3000
# Printed with the logins so that anyone trying the demo can sign in; never used outside it.
DEMO_PASSWORD = "wangge-demo-2026"  # noqa: S105

# The street, community and grid where the field logins work.
DEMO_STREET_CODE = "110101003"  # 交道口街道
DEMO_COMMUNITY_CODE = DEMO_STREET_CODE + "001"
DEMO_GRID_CODE = DEMO_COMMUNITY_CODE + "001"
DEMO_HEADED_BUILDINGS = 3

SUBDISTRICT_FILE = Path("geo/beijing_subdistricts/subdistrict/dongcheng-all.geojson")
OUTLINE_FILE = Path("geo/beijing_subdistricts/district/dongcheng-outline.geojson")
STREET_CODES_FILE = Path("geo/admin_codes_nbs2023/streets.csv")

# Building points keep this far (in degrees, about 4 m) from grid edges, so that the point →
# grid answer never depends on an edge shared by two grids.
EDGE_MARGIN_DEG = 0.00004


class Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


# --- names ----------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Per street (last three digits of its code): community names (without 社区) and roads for
# addresses, drawn from lanes, hutongs and places of that part of Dongcheng. Communities take
# names in code order; the geometry is synthetic, so a name is flavour, not a real boundary.
STREET_FLAVOUR: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "001": (
        _words("多福巷 银闸 东厂 智德 南池子 灯市口 正义路 台基厂 韶九 霞公府 王府井 北河沿"),
        _words(
            "王府井大街 东华门大街 南池子大街 北池子大街 灯市口大街 东安门大街 正义路 台基厂大街 南河沿大街 北河沿大街 东长安街 锡拉胡同"
        ),
    ),
    "002": (
        _words(
            "景山东街 三眼井 吉祥 黄化门 钟鼓 大佛寺 汪芝麻 隆福寺 中老胡同 嵩祝院 沙滩 景山后街"
        ),
        _words(
            "景山东街 景山后街 地安门东大街 沙滩北街 美术馆后街 五四大街 黄化门街 吉祥胡同 大佛寺东街 嵩祝院北巷 三眼井胡同 钟鼓胡同"
        ),
    ),
    "003": (
        _words("南锣鼓巷 菊儿 福祥 鼓楼苑 交东 府学 大兴 北兵马司 圆恩寺 帽儿 东不压桥 后圆恩寺"),
        _words(
            "南锣鼓巷 交道口南大街 交道口东大街 鼓楼东大街 地安门外大街 菊儿胡同 帽儿胡同 福祥胡同 府学胡同 东棉花胡同 北兵马司胡同 大兴胡同"
        ),
    ),
    "004": (
        _words("国子监 五道营 分司厅 钟楼湾 宝钞南 方家胡同 花园 车辇店 国旺 安定门内 谢家 箭厂"),
        _words(
            "安定门内大街 国子监街 五道营胡同 分司厅胡同 方家胡同 宝钞胡同 钟楼湾胡同 车辇店胡同 箭厂胡同 国旺胡同 谢家胡同 安定门东大街"
        ),
    ),
    "005": (
        _words("民安 九道湾 北新仓 青龙 门楼 前永康 雍和宫 香饵 北官厅 草园 海运仓 北新桥"),
        _words(
            "雍和宫大街 东直门内大街 北新桥三条 香饵胡同 九道湾胡同 北新仓胡同 海运仓胡同 青龙胡同 门楼胡同 北官厅胡同 前永康胡同 民安胡同"
        ),
    ),
    "006": (
        _words("东四 史家 内务部街 礼士 演乐 本司 东四八条 南门仓 西竹竿 总院 东四北 豆瓣"),
        _words(
            "东四北大街 东四南大街 朝阳门北小街 史家胡同 内务部街 礼士胡同 演乐胡同 本司胡同 东四八条 东四六条 南门仓胡同 豆瓣胡同"
        ),
    ),
    "007": (
        _words("竹竿 朝内头条 大方家 新鲜 南小街 遂安伯 禄米仓 前拐棒 干面 外交部街 东堂子 朝阳门"),
        _words(
            "朝阳门内大街 朝阳门南小街 竹竿胡同 大方家胡同 新鲜胡同 遂安伯胡同 禄米仓胡同 前拐棒胡同 干面胡同 外交部街 东堂子胡同 朝内头条"
        ),
    ),
    "008": (
        _words("赵家楼 西总布 东总布 金宝街 崇内 北京站 后老 苏州胡同 大雅宝 贡院 东单 站东"),
        _words(
            "建国门内大街 东单北大街 金宝街 东总布胡同 西总布胡同 苏州胡同 大雅宝胡同 贡院西街 北京站街 后老钱局胡同 赵家楼胡同 站东街"
        ),
    ),
    "009": (
        _words(
            "东直门外 香河园 新中街 清水苑 东环 十字坡 东中街 新中西里 东外斜街 东四十四条 北小街 东直门南"
        ),
        _words(
            "东直门外大街 东直门南小街 东直门北小街 东中街 新中街 香河园路 十字坡街 清水苑路 东外斜街 东四十四条 新中西街 东环北路"
        ),
    ),
    "010": (
        _words(
            "和平里东街 和平里西街 和平里北街 青年湖 地坛 小黄庄 兴化 民旺 化工 东河沿 安外 砖角楼"
        ),
        _words(
            "和平里东街 和平里西街 和平里北街 和平里中街 安定门外大街 青年湖南街 地坛北门 小黄庄路 兴化路 民旺胡同 化工路 砖角楼街"
        ),
    ),
    "011": (
        _words("草厂 大江 鲜鱼口 长巷 前门东 西打磨厂 北翔凤 兴隆 东兴隆 台湾会馆 三里河 南芦草园"),
        _words(
            "前门大街 前门东大街 鲜鱼口街 草厂三条 大江胡同 长巷二条 西打磨厂街 北翔凤胡同 东兴隆街 三里河路 南芦草园胡同 兴隆街"
        ),
    ),
    "012": (
        _words(
            "新怡家园 崇文门东 国瑞 西花市 崇外 兴隆都市 新世界家园 便门 手帕口北 瓷器口 东唐洗泊 花市枣苑"
        ),
        _words(
            "崇文门外大街 崇文门东大街 西花市大街 瓷器口大街 东唐洗泊街 便门东街 兴隆都市馨园 新世界家园 国瑞城 花市枣苑 新怡家园 东打磨厂街"
        ),
    ),
    "013": (
        _words(
            "花市 广渠门 东花市北里 东花市南里 忠实里 手帕口 广渠门外 南小市口 北羊市口 东玉河 白桥 东花市斜街"
        ),
        _words(
            "东花市大街 广渠门内大街 东花市北里 东花市南里 忠实里 手帕口街 南小市口 北羊市口街 白桥大街 东花市斜街 花市上头条 东玉河路"
        ),
    ),
    "014": (
        _words("龙潭 夕照寺 光明楼 法华寺 板厂 幸福 左安门 龙潭北里 广渠门外南 革新里 华城 安化楼"),
        _words(
            "龙潭路 夕照寺街 光明路 法华寺街 左安门内大街 幸福大街 板厂南里 安化北里 华城小区 龙潭北里 广渠门外南街 革新里"
        ),
    ),
    "015": (
        _words(
            "体育馆路 四块玉 东晓市 法华南里 新家园 幸福北里 长青园 桃杨路 体育馆西 南岗子 夕照寺西 光明中街"
        ),
        _words(
            "体育馆路 四块玉南街 东晓市街 法华南里 幸福北里 桃杨路 南岗子街 长青园 体育馆西路 光明中街 夕照寺西里 法华寺南街"
        ),
    ),
    "016": (
        _words(
            "金鱼池 天坛东里 东厅 西园子 西草市 精忠庙 永内东街 天坛南里 红桥 先农坛 祈年 法华寺东"
        ),
        _words(
            "天坛路 天坛东路 金鱼池西街 金鱼池中街 祈年大街 永定门内大街 永内东街 西草市街 精忠庙街 红桥路 天坛南里 东厅胡同"
        ),
    ),
    "017": (
        _words("安乐林 景泰 定安里 琉璃井 桃园 宝华里 民主北街 李村 彭庄 西革新里 东革新里 沙子口"),
        _words(
            "永定门外大街 安乐林路 景泰路 琉璃井路 定安里 宝华里 民主北街 彭庄路 西革新里 东革新里 沙子口路 李村路"
        ),
    ),
}

# Streets inside the old city walls, where single-storey courtyards (平房院落) are common.
HUTONG_STREETS = frozenset({"001", "002", "003", "004", "005", "006", "007", "011"})

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
GIVEN_NAMES = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 霞 平 刚 桂英 秀英 秀兰 建华 建国 志强 "
    "淑珍 玉兰 海燕 晓燕 丽华 文 斌 宇 浩 鑫 婷 雪 慧 颖 佳 欣 怡 晨 博 凯 鹏 红梅 春生 国庆 "
    "建军 立新 卫东 淑华 凤英 桂兰 子涵 梓轩 思远 雨桐 一鸣 嘉怡 俊杰 晓东 海涛 振华 宏伟 "
    "丽娟 玉珍 秀梅 金凤 德明 文博 家豪 佳琪 晓丽 志刚 永强 秋菊 春燕 冬梅 新民 爱华 兰英"
)
MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "176 177 178 180 181 182 183 185 186 187 188 189 198 199"
)

# District departments: (kind, name).
DISTRICT_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    (DepartmentKind.CITY_MANAGEMENT, "东城区城市管理委员会"),
    (DepartmentKind.HOUSING, "东城区住房和城市建设委员会"),
    (DepartmentKind.CIVIL_AFFAIRS, "东城区民政局"),
    (DepartmentKind.MARKET, "东城区市场监督管理局"),
    (DepartmentKind.ENVIRONMENT, "东城区生态环境局"),
    (DepartmentKind.HEALTH, "东城区卫生健康委员会"),
    (DepartmentKind.EDUCATION, "东城区教育委员会"),
    (DepartmentKind.HUMAN_RESOURCES, "东城区人力资源和社会保障局"),
    (DepartmentKind.TRANSPORT, "东城区交通委员会"),
    (DepartmentKind.WATER, "东城区供水服务中心"),
    (DepartmentKind.POWER, "东城供电服务中心"),
    (DepartmentKind.GAS, "东城燃气服务中心"),
)
PROPERTY_BRANDS = (
    "东房物业",
    "首开鸿城物业",
    "天岳恒物业",
    "金隅物业",
    "城建物业",
    "东华物业",
    "安华物业",
    "融城物业",
    "京诚物业",
    "恒泰物业",
)


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedUnit:
    code: str
    name: str
    level: str
    geometry: BaseGeometry

    def feature(self) -> dict[str, Any]:
        return {
            "type": "Feature",
            "properties": {"code": self.code, "name": self.name},
            "geometry": mapping(self.geometry),
        }


@dataclass(frozen=True)
class PlannedBuilding:
    grid_code: str
    name: str
    address: str
    lon: float
    lat: float
    unit_count: int
    floors: int
    household_count: int
    head_username: str


@dataclass(frozen=True)
class PlannedUser:
    username: str
    display_name: str
    mobile: str
    role: str
    unit_code: str
    public_phone: str = ""


@dataclass(frozen=True)
class PlannedDepartment:
    name: str
    kind: str
    unit_code: str
    service_area_codes: tuple[str, ...]
    phone: str


@dataclass(frozen=True)
class DemoLogin:
    """A login for one role; `target` names the unit or department the role is held at."""

    role: str
    username: str
    display_name: str
    mobile: str
    unit_code: str = ""
    department_name: str = ""
    superuser: bool = False

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin(Role.GRID_WORKER, "demo_grid_worker", "张志强", "13900000001", DEMO_GRID_CODE),
    DemoLogin(Role.BUILDING_HEAD, "demo_building_head", "李秀英", "13900000002", DEMO_GRID_CODE),
    DemoLogin(
        Role.COMMUNITY_STAFF, "demo_community_staff", "刘晓燕", "13900000003", DEMO_COMMUNITY_CODE
    ),
    DemoLogin(Role.STREET_STAFF, "demo_street_staff", "陈明", "13900000004", DEMO_STREET_CODE),
    DemoLogin(Role.DISPATCHER, "demo_dispatcher", "杨帆", "13900000005", DISTRICT_CODE),
    DemoLogin(
        Role.DEPARTMENT_HANDLER,
        "demo_department_handler",
        "赵磊",
        "13900000006",
        department_name=DISTRICT_DEPARTMENTS[0][1],
    ),
    DemoLogin(Role.LEADER, "demo_leader", "周建国", "13900000007", DISTRICT_CODE),
    DemoLogin(Role.ADMIN, "demo_admin", "吴敏", "13900000008", DISTRICT_CODE, superuser=True),
    DemoLogin(Role.RESIDENT, "demo_resident", "孙丽", "13900000009"),
    DemoLogin(Role.VOLUNTEER, "demo_volunteer", "马超", "13900000010"),
)
LOGIN_BY_ROLE = {login.role: login for login in DEMO_LOGINS}


@dataclass
class DemoPlan:
    district: PlannedUnit
    street_features: list[dict[str, Any]]
    streets: list[PlannedUnit]
    communities: list[PlannedUnit]
    grids: list[PlannedUnit]
    departments: list[PlannedDepartment]
    users: list[PlannedUser]
    buildings: list[PlannedBuilding]

    @property
    def unit_codes(self) -> set[str]:
        units = [self.district, *self.streets, *self.communities, *self.grids]
        return {unit.code for unit in units}


@dataclass
class DemoResult:
    created: bool
    elapsed_s: float
    counts: dict[str, int] = field(default_factory=dict)
    logins: tuple[DemoLogin, ...] = DEMO_LOGINS
    password: str = DEMO_PASSWORD


class DemoError(DomainError):
    code = "demo_seed"


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([DEMO_SEED, *keys])


def allocate(weights: list[float], total: int, minimum: int) -> list[int]:
    """Split `total` in proportion to `weights`, at least `minimum` each (largest remainder)."""
    if minimum * len(weights) > total:
        raise ValueError("total too small for the minimum")
    whole = sum(weights)
    quotas = [total * w / whole for w in weights]
    counts = [max(minimum, math.floor(q)) for q in quotas]
    while sum(counts) < total:
        i = max(range(len(counts)), key=lambda j: (quotas[j] - counts[j], -j))
        counts[i] += 1
    while sum(counts) > total:
        candidates = [j for j in range(len(counts)) if counts[j] > minimum]
        i = min(candidates, key=lambda j: (quotas[j] - counts[j], j))
        counts[i] -= 1
    return counts


# --- geometry: cut a polygon into k cells that tile it exactly ------------------------------


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    parts = shapely.get_parts(geom)
    out: list[BaseGeometry] = []
    for part in parts:
        if part.geom_type == "Polygon" and not part.is_empty:
            out.append(part)
        elif part.geom_type in {"MultiPolygon", "GeometryCollection"}:
            out.extend(_polygons(part))
    return out


def sample_points(poly: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` points uniformly inside `poly` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = poly.bounds
    shapely.prepare(poly)
    fill = max(poly.area / max(poly.envelope.area, 1e-18), 0.01)
    chunks: list[np.ndarray] = []
    got = 0
    while got < n:
        m = max(64, int((n - got) * 1.3 / fill))
        xs = rng.uniform(minx, maxx, m)
        ys = rng.uniform(miny, maxy, m)
        inside = shapely.contains_xy(poly, xs, ys)
        chunk = np.column_stack([xs[inside], ys[inside]])
        chunks.append(chunk)
        got += len(chunk)
    return np.concatenate(chunks)[:n]


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iterations: int) -> np.ndarray:
    """Lloyd's algorithm on sample points: centroidal cells of about equal area."""
    # k-means++ start, so that no two seeds begin next to each other.
    centers = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d2 = ((points[:, None, :] - np.array(centers)[None, :, :]) ** 2).sum(-1).min(1)
        centers.append(points[rng.choice(len(points), p=d2 / d2.sum())])
    c = np.array(centers)
    for _ in range(iterations):
        d2 = ((points[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        labels = d2.argmin(1)
        new = c.copy()
        for j in range(k):
            members = points[labels == j]
            # An empty cluster restarts at the sample farthest from its centre.
            new[j] = members.mean(0) if len(members) else points[d2.min(1).argmax()]
        if np.allclose(new, c, rtol=0, atol=1e-12):
            break
        c = new
    return c


def _merge_fragments(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    """Keep each cell's largest piece; give every other piece to the neighbour it shares the
    longest border with, so the cells stay one polygon each and still tile the parent."""
    main: list[BaseGeometry] = []
    orphans: list[BaseGeometry] = []
    for cell in cells:
        parts = sorted(_polygons(cell), key=lambda p: -p.area)
        main.append(parts[0] if parts else shapely.Polygon())
        orphans.extend(parts[1:])
    orphans.sort(key=lambda p: -p.area)
    for fragment in orphans:
        shared = [
            float(shapely.length(shapely.intersection(fragment.boundary, m.boundary)))
            if not m.is_empty
            else 0.0
            for m in main
        ]
        if max(shared) > 0:
            best = int(np.argmax(shared))
        else:
            best = int(np.argmin([fragment.distance(m) if not m.is_empty else 1e9 for m in main]))
        merged = shapely.union(main[best], fragment)
        parts = _polygons(merged)
        main[best] = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    return main


def partition(parent: BaseGeometry, k: int, *, seed: tuple[int, ...]) -> list[BaseGeometry]:
    """Cut `parent` into `k` compact cells of about equal area that tile it exactly.

    Seeds come from k-means (a discrete Lloyd relaxation) over uniform sample points; the cells
    are their Voronoi polygons clipped to the parent. Distances are measured after scaling
    longitude by cos(latitude), so cells are compact on the ground, not in degrees.
    """
    if k == 1:
        return [parent]
    rng = _rng(*seed)
    scale = np.array([math.cos(math.radians(parent.centroid.y)), 1.0])
    samples = sample_points(parent, 160 * k, rng) * scale
    centers = _kmeans(samples, k, rng, iterations=40)
    scaled_parent = shapely.transform(parent, lambda xy: xy * scale)
    diagram = shapely.voronoi_polygons(
        shapely.multipoints(centers),
        extend_to=scaled_parent.envelope.buffer(scaled_parent.length),
        ordered=True,
    )
    cells = [
        shapely.intersection(shapely.transform(cell, lambda xy: xy / scale), parent)
        for cell in shapely.get_parts(diagram)
    ]
    cells = [c for c in _merge_fragments(cells) if not c.is_empty]
    if len(cells) != k:
        raise DemoError(f"无法将区域划分为 {k} 块 (could not cut a unit into {k} cells)")
    return cells


def row_major(cells: list[BaseGeometry], parent: BaseGeometry) -> list[BaseGeometry]:
    """Order cells west→east within latitude bands, bands north→south."""
    k = len(cells)
    minx, miny, maxx, maxy = parent.bounds
    width = (maxx - minx) * math.cos(math.radians((miny + maxy) / 2))
    height = maxy - miny
    rows = max(1, min(k, round(math.sqrt(k * height / max(width, 1e-12)))))
    points = [
        cell.representative_point() if cell.geom_type != "Polygon" else cell.centroid
        for cell in cells
    ]
    by_lat = sorted(range(k), key=lambda i: (-points[i].y, points[i].x))
    ordered: list[BaseGeometry] = []
    for band in np.array_split(np.array(by_lat), rows):
        for i in sorted(band.tolist(), key=lambda i: (points[i].x, -points[i].y)):
            ordered.append(cells[i])
    return ordered


# --- loading the real data ------------------------------------------------------------------


def _data_dir() -> Path:
    return Path(settings.WANGGE_SHARED_DATA)


def _load_geojson(relative: Path) -> dict[str, Any]:
    path = _data_dir() / relative
    try:
        with path.open(encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
    except OSError as exc:
        raise DemoError(
            f"找不到演示数据文件 {path}，请设置 WANGGE_SHARED_DATA (demo data file missing): {exc}"
        ) from None
    return data


def _official_street_names() -> dict[str, str]:
    path = _data_dir() / STREET_CODES_FILE
    try:
        with path.open(encoding="utf-8") as handle:
            return {
                row["code"]: row["name"]
                for row in csv.DictReader(handle)
                if row["areaCode"] == DISTRICT_CODE
            }
    except OSError as exc:
        raise DemoError(f"找不到街道编码表 {path} (street code list missing): {exc}") from None


def _load_streets() -> tuple[PlannedUnit, list[dict[str, Any]], list[PlannedUnit]]:
    outline = _load_geojson(OUTLINE_FILE)["features"][0]
    district = PlannedUnit(
        DISTRICT_CODE, DISTRICT_NAME, Level.DISTRICT, clean_boundary(outline["geometry"]).geometry
    )
    features = _load_geojson(SUBDISTRICT_FILE)["features"]
    official = _official_street_names()
    streets: list[PlannedUnit] = []
    for feature in features:
        props = feature["properties"]
        code = str(props["code"])[:9]
        name = str(props["Name"]).strip()
        if official.get(code) != name:
            raise DemoError(
                f"街道 {code} {name} 与统计用区划代码不符 ({official.get(code)}) "
                f"(street does not match the official code list)"
            )
        streets.append(
            PlannedUnit(code, name, Level.STREET, clean_boundary(feature["geometry"]).geometry)
        )
    if {s.code for s in streets} != set(official):
        raise DemoError("东城区街道与统计用区划代码不一致 (streets differ from the official list)")
    streets.sort(key=lambda s: s.code)
    return district, features, streets


# --- planning -------------------------------------------------------------------------------


class _People:
    """Synthetic names and unique mobile numbers from one seeded stream."""

    def __init__(self) -> None:
        self.rng = _rng(7)
        self.taken = {login.mobile for login in DEMO_LOGINS}
        weights = 1.0 / (np.arange(len(SURNAMES)) + 4.0)
        self.surname_p = weights / weights.sum()

    def name(self) -> str:
        surname = SURNAMES[int(self.rng.choice(len(SURNAMES), p=self.surname_p))]
        return surname + GIVEN_NAMES[int(self.rng.integers(len(GIVEN_NAMES)))]

    def mobile(self) -> str:
        while True:
            prefix = MOBILE_PREFIXES[int(self.rng.integers(len(MOBILE_PREFIXES)))]
            number = f"{prefix}{int(self.rng.integers(0, 10**8)):08d}"
            if number not in self.taken:
                self.taken.add(number)
                return number


def _subdivide(
    parents: list[PlannedUnit], counts: list[int], level: str, name_for: Any
) -> list[PlannedUnit]:
    children: list[PlannedUnit] = []
    for parent, k in zip(parents, counts, strict=True):
        cells = row_major(partition(parent.geometry, k, seed=(int(parent.code),)), parent.geometry)
        for index, cell in enumerate(cells, start=1):
            children.append(
                PlannedUnit(f"{parent.code}{index:03d}", name_for(parent, index), level, cell)
            )
    return children


def _community_name(street: PlannedUnit, index: int) -> str:
    names = STREET_FLAVOUR[street.code[-3:]][0]
    if index <= len(names):
        return f"{names[index - 1]}社区"
    return f"{street.name.removesuffix('街道')}第{index}社区"


def _grid_name(community: PlannedUnit, index: int) -> str:
    return f"{community.name}第{index}网格"


def _plan_departments(
    streets: list[PlannedUnit], communities: list[PlannedUnit]
) -> list[PlannedDepartment]:
    rng = _rng(11)

    def phone() -> str:
        return f"010-6{int(rng.integers(0, 10**7)):07d}"

    departments = [
        PlannedDepartment(name, kind, DISTRICT_CODE, (), phone())
        for kind, name in DISTRICT_DEPARTMENTS
    ]
    by_street: dict[str, list[str]] = defaultdict(list)
    for community in communities:
        by_street[community.code[:9]].append(community.code)
    for s, street in enumerate(streets):
        short = street.name.removesuffix("街道")
        departments += [
            PlannedDepartment(
                f"{street.name}城管执法队", DepartmentKind.CITY_MANAGEMENT, street.code, (), phone()
            ),
            PlannedDepartment(f"{short}派出所", DepartmentKind.POLICE, street.code, (), phone()),
            PlannedDepartment(f"{short}司法所", DepartmentKind.JUSTICE, street.code, (), phone()),
        ]
        # Two property companies, each serving one or two of the street's communities.
        codes = by_street[street.code]
        for p in range(2):
            brand = PROPERTY_BRANDS[(2 * s + p) % len(PROPERTY_BRANDS)]
            served = tuple(codes[p::2][: 1 + int(rng.integers(0, 2))])
            departments.append(
                PlannedDepartment(
                    f"{brand}{short}项目部", DepartmentKind.PROPERTY, street.code, served, phone()
                )
            )
    return departments


def _building_types(rng: np.random.Generator) -> tuple[int, int, int]:
    """(floors, units, households) of one apartment building in a compound."""
    kind = rng.random()
    if kind < 0.6:  # 多层住宅
        floors, units, per_floor = int(rng.integers(4, 7)), int(rng.integers(2, 5)), 2
    elif kind < 0.85:  # 中高层
        floors, units, per_floor = int(rng.integers(9, 15)), int(rng.integers(2, 4)), 3
    else:  # 高层
        floors, units, per_floor = int(rng.integers(16, 29)), int(rng.integers(1, 3)), 4
    return floors, units, floors * units * per_floor


def _plan_buildings(
    grids: list[PlannedUnit], people: _People
) -> tuple[list[PlannedBuilding], list[PlannedUser]]:
    rng = _rng(13)
    areas = [area_m2(g.geometry) for g in grids]
    whole = sum(areas)
    # Half spread evenly, half by area: big grids get more buildings, small ones still some.
    weights = [0.5 / len(grids) + 0.5 * a / whole for a in areas]
    counts = allocate(weights, BUILDING_TOTAL, 3)
    house_numbers: dict[str, int] = defaultdict(int)
    community_index: dict[str, int] = defaultdict(int)
    roads_of: dict[str, tuple[str, ...]] = {}
    for grid in grids:
        community = grid.code[:12]
        if community not in roads_of:
            street_roads = STREET_FLAVOUR[grid.code[6:9]][1]
            i = int(community[-3:]) - 1
            roads_of[community] = tuple(
                street_roads[(3 * i + j) % len(street_roads)] for j in range(3)
            )
        community_index[community] += 1

    buildings: list[PlannedBuilding] = []
    users: list[PlannedUser] = []
    check = GridLocator([(i, g.code, g.geometry) for i, g in enumerate(grids)])
    for g_index, (grid, n) in enumerate(zip(grids, counts, strict=True)):
        inner = grid.geometry.buffer(-EDGE_MARGIN_DEG)
        if inner.is_empty or inner.area < grid.geometry.area * 0.2:
            inner = grid.geometry
        shapely.prepare(inner)
        roads = roads_of[grid.code[:12]]
        hutong = grid.code[6:9] in HUTONG_STREETS
        planned: list[tuple[str, str, float, float, int, int, int]] = []
        while len(planned) < n:
            road = roads[int(rng.integers(len(roads)))]
            house_numbers[road] += int(rng.integers(1, 5))
            number = house_numbers[road]
            center = sample_points(inner, 1, rng)[0]
            if hutong and rng.random() < 0.4:
                households = int(rng.integers(3, 13))
                planned.append(
                    (f"{road}{number}号", f"{road} {number}号", *center, 1, 1, households)
                )
                continue
            size = min(n - len(planned), int(rng.integers(2, 7)))
            floors, units, households = _building_types(rng)
            for b in range(1, size + 1):
                lon, lat = center
                for _ in range(20):
                    # Buildings of one compound stand within about 60 m of its centre.
                    cand = center + rng.uniform(-1, 1, 2) * [0.0007, 0.00054]
                    if shapely.contains_xy(inner, cand[0], cand[1]):
                        lon, lat = cand
                        break
                planned.append(
                    (
                        f"{number}号院{b}号楼",
                        f"{road} {number}号院 {b}号楼",
                        float(lon),
                        float(lat),
                        units,
                        floors,
                        households,
                    )
                )
        located = check.locate_many([p[2] for p in planned], [p[3] for p in planned])
        if (located != g_index).any():
            raise DemoError(f"楼栋位置不在网格 {grid.code} 内 (building outside its grid)")

        worker = LOGIN_BY_ROLE[Role.GRID_WORKER]
        if grid.code == worker.unit_code:
            worker_username = worker.username
        else:
            worker_username = f"gw{grid.code}"
            users.append(
                PlannedUser(
                    worker_username,
                    people.name(),
                    people.mobile(),
                    Role.GRID_WORKER,
                    grid.code,
                    public_phone=demo_work_phone(g_index),
                )
            )
        heads = max(1, math.ceil(n / 3))
        head_names: list[str] = []
        for h in range(heads):
            head = LOGIN_BY_ROLE[Role.BUILDING_HEAD]
            if grid.code == head.unit_code and h == 0:
                head_names.append(head.username)
                continue
            username = f"bh{grid.code}{h + 1:02d}"
            head_names.append(username)
            users.append(
                PlannedUser(username, people.name(), people.mobile(), Role.BUILDING_HEAD, grid.code)
            )
        for j, (name, address, lon, lat, units, floors, households) in enumerate(planned):
            if grid.code == DEMO_GRID_CODE:
                # The demo building head looks after the grid's first few buildings.
                owner = 0 if j < DEMO_HEADED_BUILDINGS else 1 + (j * (heads - 1)) // n
                owner = min(owner, heads - 1)
            else:
                owner = j * heads // n
            buildings.append(
                PlannedBuilding(
                    grid.code,
                    name,
                    address,
                    round(float(lon), 7),
                    round(float(lat), 7),
                    units,
                    floors,
                    households,
                    head_names[owner],
                )
            )
    return buildings, users


def plan_demo() -> DemoPlan:
    """Everything the demo will contain, computed without touching the database."""
    district, street_features, streets = _load_streets()
    street_counts = allocate([area_m2(s.geometry) for s in streets], COMMUNITY_TOTAL, 2)
    communities = _subdivide(streets, street_counts, Level.COMMUNITY, _community_name)
    grid_counts = allocate([area_m2(c.geometry) for c in communities], GRID_TOTAL, 2)
    grids = _subdivide(communities, grid_counts, Level.GRID, _grid_name)
    buildings, users = _plan_buildings(grids, _People())
    return DemoPlan(
        district=district,
        street_features=street_features,
        streets=streets,
        communities=communities,
        grids=grids,
        departments=_plan_departments(streets, communities),
        users=users,
        buildings=buildings,
    )


# --- writing --------------------------------------------------------------------------------


def _say(stdout: Writer | None, message: str) -> None:
    if stdout is not None:
        stdout.write(message + "\n")


def _check_free(plan: DemoPlan) -> None:
    """Refuse before writing if a planned username or mobile already belongs to someone."""
    usernames = [u.username for u in plan.users]
    mobiles = [u.mobile for u in plan.users]
    clashes: list[str] = []
    for start in range(0, len(usernames), 500):
        clashes += User.objects.filter(username__in=usernames[start : start + 500]).values_list(
            "username", flat=True
        )
        clashes += User.objects.filter(mobile__in=mobiles[start : start + 500]).values_list(
            "username", flat=True
        )
    if clashes:
        raise DemoError(
            f"演示用户与已有用户冲突：{', '.join(sorted(set(clashes))[:5])}，请使用空数据库 "
            f"(demo users clash with existing users; use an empty database)",
            field="users",
        )


# The demo grid workers' work numbers (公示电话), one per grid; building heads publish none, so
# the grid card shows both kinds of contact.
DEMO_WORK_PHONE = "010-85120000"


def demo_work_phone(grid_index: int) -> str:
    return f"010-8513{grid_index:04d}"


def _ensure_logins(password_hash: str) -> int:
    """Create missing demo logins and memberships; (re)set every demo password."""
    created = 0
    for login in DEMO_LOGINS:
        user = User.objects.filter(username=login.username).first()
        if user is None:
            if User.objects.filter(mobile=login.mobile).exists():
                raise DemoError(
                    f"手机号 {login.mobile} 已被其他用户使用 (the demo mobile is taken)",
                    field="mobile",
                )
            user = User.objects.create(
                username=login.username,
                display_name=login.display_name,
                mobile=login.mobile,
                # Grid workers publish a work number on the grid card; the others do not.
                public_phone=DEMO_WORK_PHONE if login.role == Role.GRID_WORKER else "",
                password=password_hash,
                is_staff=login.superuser,
                is_superuser=login.superuser,
            )
            created += 1
        else:
            user.password = password_hash
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
        target: dict[str, Any] = {}
        if login.unit_code:
            target["unit"] = OrgUnit.objects.get(code=login.unit_code)
        elif login.department_name:
            target["department"] = Department.objects.get(
                unit__code=DISTRICT_CODE, name=login.department_name
            )
        if not Membership.objects.filter(user=user, role=login.role, **target).exists():
            Membership.objects.create(user=user, role=login.role, **target)
    return created


def _user_ids(usernames: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(usernames), 500):
        ids.update(
            User.objects.filter(username__in=usernames[start : start + 500]).values_list(
                "username", "id"
            )
        )
    return ids


def _write(plan: DemoPlan, password_hash: str, stdout: Writer | None) -> dict[str, int]:
    _check_free(plan)
    district = actions.create_unit(
        code=plan.district.code,
        name=plan.district.name,
        level=Level.DISTRICT,
        boundary=mapping(plan.district.geometry),
    )
    for level, features in (
        (Level.STREET, plan.street_features),
        (Level.COMMUNITY, [c.feature() for c in plan.communities]),
        (Level.GRID, [g.feature() for g in plan.grids]),
    ):
        report = actions.import_boundaries(features=features, level=level)
        _say(stdout, f"  {level}: {len(report.created)} created, {len(report.repaired)} repaired")
    units = {u.code: u for u in OrgUnit.objects.filter(code__startswith=district.code)}

    for dept in plan.departments:
        actions.create_department(
            name=dept.name,
            kind=dept.kind,
            unit=units[dept.unit_code],
            service_areas=[units[code] for code in dept.service_area_codes],
            phone=dept.phone,
        )
    _say(stdout, f"  departments: {len(plan.departments)} created")

    logins = _ensure_logins(password_hash)
    User.objects.bulk_create(
        [
            User(
                username=u.username,
                display_name=u.display_name,
                mobile=u.mobile,
                public_phone=u.public_phone,
                password=make_password(None),
            )
            for u in plan.users
        ],
        batch_size=500,
    )
    user_ids = _user_ids([*(u.username for u in plan.users), *(x.username for x in DEMO_LOGINS)])
    Membership.objects.bulk_create(
        [
            Membership(user_id=user_ids[u.username], role=u.role, unit=units[u.unit_code])
            for u in plan.users
        ],
        batch_size=500,
    )
    _say(stdout, f"  users: {len(plan.users) + logins} created (unusable passwords except logins)")

    locator = build_grid_locator()
    grid_ids = locator.locate_many([b.lon for b in plan.buildings], [b.lat for b in plan.buildings])
    for building, grid_id in zip(plan.buildings, grid_ids, strict=True):
        if grid_id != units[building.grid_code].pk:
            raise DemoError(
                f"楼栋 {building.address} 不在网格 {building.grid_code} 内 (building outside its grid)"
            )
    Building.objects.bulk_create(
        [
            Building(
                name=b.name,
                address=b.address,
                lon=b.lon,
                lat=b.lat,
                grid_id=int(grid_id),
                unit_count=b.unit_count,
                floors=b.floors,
                household_count=b.household_count,
                building_head_id=user_ids[b.head_username],
            )
            for b, grid_id in zip(plan.buildings, grid_ids, strict=True)
        ],
        batch_size=500,
    )
    actions.bump_places_version()
    _say(stdout, f"  buildings: {len(plan.buildings)} created")
    return {
        "streets": len(plan.streets),
        "communities": len(plan.communities),
        "grids": len(plan.grids),
        "buildings": len(plan.buildings),
        "departments": len(plan.departments),
        "users": len(plan.users) + logins,
    }


def _district_is_complete(plan: DemoPlan) -> bool:
    """True when every planned unit exists; raises if the district exists only in part."""
    if not OrgUnit.objects.filter(code=DISTRICT_CODE).exists():
        return False
    existing = set(
        OrgUnit.objects.filter(code__startswith=DISTRICT_CODE).values_list("code", flat=True)
    )
    missing = plan.unit_codes - existing
    if missing:
        raise DemoError(
            f"{DISTRICT_NAME} ({DISTRICT_CODE}) 已存在但缺少 {len(missing)} 个演示单元，"
            f"请使用空数据库 (the district exists without the demo units; use an empty database)",
            field="district",
        )
    return True


def seed_demo(*, stdout: Writer | None = None) -> DemoResult:
    """Create the demo district, or, when it is already there, only reset the demo logins."""
    started = time.perf_counter()
    _say(stdout, f"Planning {DISTRICT_NAME} ({DISTRICT_CODE}) from {_data_dir()} ...")
    plan = plan_demo()
    _say(stdout, f"  planned in {time.perf_counter() - started:.1f} s")
    # Hashing is slow by design (argon2): hash the shared demo password once.
    password_hash = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        if _district_is_complete(plan):
            created_logins = _ensure_logins(password_hash)
            counts = {"users": created_logins}
            created = False
            _say(
                stdout,
                f"{DISTRICT_NAME} is already seeded: nothing changed"
                + (f" except {created_logins} missing login(s) recreated" if created_logins else "")
                + "; demo passwords reset.",
            )
        else:
            _say(stdout, "Writing ...")
            counts = _write(plan, password_hash, stdout)
            created = True
    # Demo cases in every state (idempotent); imported here because they build on this module.
    from wangge.cases.demo import seed_demo_cases

    counts["cases"] = seed_demo_cases(stdout=stdout)
    from wangge.registry.demo import seed_demo_registry

    counts.update(seed_demo_registry(stdout=stdout))
    elapsed = time.perf_counter() - started
    _say(stdout, f"Done in {elapsed:.1f} s.")
    return DemoResult(created=created, elapsed_s=elapsed, counts=counts)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def login_table(result: DemoResult) -> str:
    """The demo logins as a table for a terminal (CJK characters count as two columns)."""
    targets = dict(
        OrgUnit.objects.filter(code__in=[x.unit_code for x in result.logins]).values_list(
            "code", "name"
        )
    )
    rows = [("角色 role", "姓名 name", "所在 at", "登录手机号 mobile", "密码 password")]
    for login in result.logins:
        at = targets.get(login.unit_code, "") or login.department_name or "—"
        if login.superuser:
            at += " (superuser)"
        rows.append(
            (
                f"{login.role_label} {login.role}",
                login.display_name,
                at,
                login.mobile,
                result.password,
            )
        )
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
