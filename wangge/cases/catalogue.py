"""The seeded categories: digital city management event classes (大类/小类) and the seed
platform's 民生服务, 政策咨询, 矛盾纠纷, 安全隐患, with default departments and time limits.

Administrators change them in the admin; `seed_categories` only adds what is missing.
"""

from typing import Any

# (code, name, icon, [(code, name, department kind, priority, response h, resolution, unit)])
H, WD = "hours", "working_days"
CATALOGUE: list[tuple[str, str, str, list[tuple[str, str, str, str, int, int, str]]]] = [
    (
        "livelihood",
        "民生服务",
        "🏠",
        [
            ("elderly_care", "养老助老", "civil_affairs", "normal", 24, 7, WD),
            ("employment", "就业社保", "human_resources", "normal", 24, 7, WD),
            ("medical", "医疗卫生", "health", "normal", 24, 7, WD),
            ("property_service", "物业服务", "property", "normal", 24, 7, WD),
            ("utilities", "水电气热", "water", "urgent", 2, 24, H),
            ("livelihood_other", "其他民生诉求", "civil_affairs", "normal", 24, 7, WD),
        ],
    ),
    (
        "policy",
        "政策咨询",
        "❓",
        [
            ("policy_social_security", "社保医保政策", "human_resources", "normal", 24, 5, WD),
            ("policy_household", "户籍证照", "police", "normal", 24, 5, WD),
            ("policy_housing", "住房保障", "housing", "normal", 24, 5, WD),
            ("policy_subsidy", "补贴申领", "civil_affairs", "normal", 24, 5, WD),
        ],
    ),
    (
        "dispute",
        "矛盾纠纷",
        "🤝",
        [
            ("dispute_neighbour", "邻里纠纷", "justice", "normal", 24, 15, WD),
            ("dispute_property", "物业纠纷", "property", "normal", 24, 15, WD),
            ("dispute_labour", "劳资纠纷", "human_resources", "normal", 24, 15, WD),
            ("dispute_family", "婚姻家庭纠纷", "justice", "normal", 24, 15, WD),
        ],
    ),
    (
        "safety",
        "安全隐患",
        "⚠️",
        [
            ("fire_hazard", "消防隐患", "city_management", "urgent", 2, 3, WD),
            ("gas_hazard", "燃气隐患", "gas", "emergency", 2, 2, H),
            ("building_safety", "房屋安全", "housing", "urgent", 2, 7, WD),
            ("ebike_charging", "电动车违规充电", "city_management", "normal", 24, 3, WD),
        ],
    ),
    (
        "environment",
        "市容环境",
        "🧹",
        [
            ("exposed_garbage", "暴露垃圾", "city_management", "normal", 24, 2, WD),
            ("debris", "积存垃圾渣土", "city_management", "normal", 24, 3, WD),
            ("dirty_road", "道路不洁", "city_management", "normal", 24, 2, WD),
            ("green_space", "绿地脏乱", "environment", "normal", 24, 5, WD),
            ("graffiti", "乱涂乱画", "city_management", "normal", 24, 5, WD),
        ],
    ),
    (
        "advertising",
        "宣传广告",
        "📢",
        [
            ("illegal_flyers", "非法小广告", "city_management", "normal", 24, 3, WD),
            ("outdoor_ads", "违规户外广告", "city_management", "normal", 24, 7, WD),
        ],
    ),
    (
        "construction",
        "施工管理",
        "🏗️",
        [
            ("construction_noise", "施工扰民", "housing", "normal", 24, 3, WD),
            ("construction_dust", "工地扬尘", "environment", "normal", 24, 3, WD),
            ("road_occupation", "违规占道施工", "transport", "normal", 24, 5, WD),
        ],
    ),
    (
        "street_order",
        "街面秩序",
        "🚲",
        [
            ("street_vendors", "无照经营游商", "market", "normal", 24, 3, WD),
            ("outside_shop", "店外经营", "city_management", "normal", 24, 3, WD),
            ("bike_parking", "非机动车乱停放", "transport", "normal", 24, 2, WD),
            ("car_parking", "机动车违规停放", "police", "normal", 24, 2, WD),
        ],
    ),
    (
        "emergency",
        "突发事件",
        "🚨",
        [
            ("waterlogging", "道路积水", "water", "emergency", 2, 2, H),
            ("manhole", "井盖缺失破损", "city_management", "emergency", 2, 2, H),
            ("road_collapse", "路面塌陷", "transport", "emergency", 2, 2, H),
            ("pipe_burst", "供水管线破裂", "water", "urgent", 2, 24, H),
        ],
    ),
    (
        "other",
        "其他",
        "📝",
        [
            ("other_issue", "其他问题", "city_management", "normal", 24, 7, WD),
        ],
    ),
]

# The names English pages show (Category.name_en), by code.
ENGLISH_NAMES: dict[str, str] = {
    "livelihood": "Livelihood services",
    "elderly_care": "Elderly care",
    "employment": "Jobs and social insurance",
    "medical": "Health care",
    "property_service": "Property management",
    "utilities": "Water, power, gas, heating",
    "livelihood_other": "Other livelihood matters",
    "policy": "Policy questions",
    "policy_social_security": "Social and medical insurance policy",
    "policy_household": "Household registration and ID papers",
    "policy_housing": "Housing support",
    "policy_subsidy": "Subsidy applications",
    "dispute": "Disputes",
    "dispute_neighbour": "Neighbour disputes",
    "dispute_property": "Property management disputes",
    "dispute_labour": "Labour disputes",
    "dispute_family": "Marriage and family disputes",
    "safety": "Safety hazards",
    "fire_hazard": "Fire hazards",
    "gas_hazard": "Gas hazards",
    "building_safety": "Unsafe buildings",
    "ebike_charging": "Unsafe e-bike charging",
    "environment": "Cityscape and environment",
    "exposed_garbage": "Exposed rubbish",
    "debris": "Piled-up rubbish and debris",
    "dirty_road": "Dirty roads",
    "green_space": "Untidy green spaces",
    "graffiti": "Graffiti",
    "advertising": "Advertising",
    "illegal_flyers": "Illegal flyers",
    "outdoor_ads": "Unauthorised outdoor ads",
    "construction": "Construction",
    "construction_noise": "Construction noise",
    "construction_dust": "Construction dust",
    "road_occupation": "Unauthorised roadworks",
    "street_order": "Street order",
    "street_vendors": "Unlicensed street vendors",
    "outside_shop": "Trading outside shops",
    "bike_parking": "Badly parked bicycles and e-bikes",
    "car_parking": "Illegally parked cars",
    "emergency": "Emergencies",
    "waterlogging": "Flooded roads",
    "manhole": "Missing or broken manhole covers",
    "road_collapse": "Road collapses",
    "pipe_burst": "Burst water mains",
    "other": "Other",
    "other_issue": "Other issues",
}

EXTRA_QUESTIONS: dict[str, list[dict[str, Any]]] = {
    "elderly_care": [
        {
            "key": "age",
            "label": "老人年龄",
            "label_en": "Age",
            "type": "number",
            "integer": True,
            "min": 0,
            "max": 130,
            "required": False,
        },
        {
            "key": "lives_alone",
            "label": "是否独居",
            "label_en": "Lives alone",
            "type": "boolean",
            "required": False,
        },
    ],
    "utilities": [
        {
            "key": "utility",
            "label": "类型",
            "label_en": "Kind",
            "type": "choice",
            "choices": ["水", "电", "燃气", "供暖"],
            "choices_en": ["Water", "Electricity", "Gas", "Heating"],
            "required": True,
        },
        {
            "key": "households",
            "label": "影响户数",
            "label_en": "Households affected",
            "type": "number",
            "integer": True,
            "min": 1,
            "required": False,
        },
    ],
    "building_safety": [
        {
            "key": "floor",
            "label": "楼层",
            "label_en": "Floor",
            "type": "number",
            "integer": True,
            "min": -10,
            "max": 200,
            "required": False,
        },
    ],
}

PRIORITY_POLICIES: list[tuple[str, int | None, int | None]] = [
    # priority, response limit hours, resolution limit hours (DOMAIN.md §3 defaults)
    ("urgent", 2, None),
    ("emergency", 2, 2),
]


def seed_categories(category_model: Any, policy_model: Any) -> int:
    """Add the catalogue's missing categories and policies; returns how many rows were added."""
    added = 0
    # Migration 0002 seeds with the model as it was then, before the English names.
    has_english = any(f.name == "name_en" for f in category_model._meta.get_fields())

    def english(code: str) -> dict[str, str]:
        return {"name_en": ENGLISH_NAMES.get(code, "")} if has_english else {}

    for order, (code, name, icon, subs) in enumerate(CATALOGUE):
        parent, created = category_model.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "icon": icon,
                "sort_order": order * 100,
                **english(code),
            },
        )
        added += created
        for sub_order, (
            sub_code,
            sub_name,
            dept,
            priority,
            response,
            resolution,
            unit,
        ) in enumerate(subs):
            _, created = category_model.objects.get_or_create(
                code=sub_code,
                defaults={
                    "name": sub_name,
                    **english(sub_code),
                    "parent": parent,
                    "icon": icon,
                    "default_department_kind": dept,
                    "priority": priority,
                    "response_limit_hours": response,
                    "resolution_limit": resolution,
                    "resolution_unit": unit,
                    "questions": EXTRA_QUESTIONS.get(sub_code, []),
                    "sort_order": order * 100 + sub_order + 1,
                },
            )
            added += created
    for policy_priority, response_hours, resolution_hours in PRIORITY_POLICIES:
        _, created = policy_model.objects.get_or_create(
            priority=policy_priority,
            defaults={
                "response_limit_hours": response_hours,
                "resolution_limit_hours": resolution_hours,
            },
        )
        added += created
    return added
