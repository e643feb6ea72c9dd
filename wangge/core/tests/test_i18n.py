"""The catalogues: the English one complete, the Chinese one giving every bilingual message its
Chinese part; both compiled, and what a user of either language actually sees."""

import ast
import contextlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import Context, Template
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from wangge.accounts.models import Role
from wangge.cases.models import Status
from wangge.core.bilingual import chinese_part, in_language
from wangge.core.django_gaps import CHINESE
from wangge.core.tests.fixtures import World, login_as

APP_DIR = Path(settings.BASE_DIR) / "wangge"
LOCALE_DIR = APP_DIR / "locale"
EN_PO = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
ZH_PO = LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@dataclass
class Message:
    msgid: str
    plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def read_po(path: Path) -> list[Message]:
    """Just enough of the PO format for makemessages' output (no msgctxt, no obsolete entries)."""
    messages: list[Message] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8").strip()):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        key = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                flags |= {f.strip() for f in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = ast.literal_eval(value)
        messages.append(
            Message(
                msgid=fields["msgid"],
                plural=fields.get("msgid_plural"),
                msgstrs=[v for k, v in fields.items() if k.startswith("msgstr")],
                flags=flags,
            )
        )
    return messages


def header(messages: list[Message]) -> dict[str, str]:
    assert messages[0].msgid == ""
    lines = messages[0].msgstrs[0].splitlines()
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


@pytest.fixture(scope="module")
def english() -> Iterator[None]:
    """Compile the catalogues if `make locales` has not, and load them afresh."""
    stale = [
        po
        for po in (EN_PO, ZH_PO)
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        # compilemessages walks the current directory: keep it to the app, not the venv.
        with contextlib.chdir(APP_DIR):
            call_command("compilemessages", verbosity=0)
    # Changing LOCALE_PATHS drops Django's cached catalogues, on the way in and out.
    with override_settings(LOCALE_PATHS=list(settings.LOCALE_PATHS)):
        yield


# --- what an English-speaking user sees -----------------------------------------------------


def test_role_and_status_labels_come_out_in_english(english: None) -> None:
    with translation.override("en"):
        assert str(Role.GRID_WORKER.label) == "Grid worker"
        assert str(Role.DISPATCHER.label) == "Dispatcher"
        assert str(Status.HANDLED.label) == "To verify"
        assert str(Status.CLOSED.label) == "Closed"
    with translation.override("zh-hans"):
        assert str(Role.GRID_WORKER.label) == "网格员"


def test_the_same_chinese_word_in_two_roles_gets_two_english_words(english: None) -> None:
    from wangge.cases.workflow import TRANSITIONS
    from wangge.public.present import STEPS

    with translation.override("en"):
        assert str(TRANSITIONS["reject"].label) == "Reject"  # the button
        assert str(Status.REJECTED.label) == "Rejected"  # the state
        assert [str(s) for s in STEPS] == ["Submitted", "Accepted", "Being handled", "Closed"]
        assert str(TRANSITIONS["accept"].label) == "Accept"
    with translation.override("zh-hans"):
        assert str(TRANSITIONS["reject"].label) == str(Status.REJECTED.label) == "不予受理"


def test_plural_forms_follow_english_grammar(english: None) -> None:
    template = Template(
        "{% load i18n %}{% blocktranslate count n=n %}{{ n }} 栋楼{% plural %}{{ n }} 栋楼"
        "{% endblocktranslate %}"
    )
    with translation.override("en"):
        assert template.render(Context({"n": 1})) == "1 building"
        assert template.render(Context({"n": 3})) == "3 buildings"
    with translation.override("zh-hans"):
        assert template.render(Context({"n": 3})) == "3 栋楼"


@pytest.mark.django_db
def test_the_login_page_is_english_for_the_language_cookie(english: None, client) -> None:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en"' in html
    assert "<title>Sign in ·" in html
    assert "Staff sign-in" in html
    assert "Mobile number or username" in html
    assert "工作人员登录" not in html


@pytest.mark.django_db
def test_the_login_page_follows_accept_language(english: None, client) -> None:
    html = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Staff sign-in" in html
    html = client.get(reverse("accounts:login")).content.decode()
    assert "工作人员登录" in html


def test_a_bilingual_error_shows_only_its_english_part(english: None) -> None:
    with translation.override("en"):
        message = translation.gettext("请填写%(label)s (%(label)s is required)") % {
            "label": translation.gettext("标题"),
        }
    assert message == "Title is required."


def test_a_bilingual_error_shows_only_its_chinese_part(english: None) -> None:
    with translation.override("zh-hans"):
        required = translation.gettext("请填写%(label)s (%(label)s is required)") % {
            "label": translation.gettext("标题"),
        }
        changed = translation.gettext("案件已被他人更新，请刷新后重试 (the case changed, reload)")
        heading = translation.gettext("请修改以下内容后再提交 (please correct the following)：")
    assert required == "请填写标题"
    assert changed == "案件已被他人更新，请刷新后重试"
    assert heading == "请修改以下内容后再提交："


@pytest.mark.parametrize(
    ("message", "chinese"),
    [
        ("请填写%(label)s (%(label)s is required)", "请填写%(label)s"),
        ("请回答“%(l)s” (required)", "请回答“%(l)s”"),
        ("请修改以下内容后再提交 (please correct the following)：", "请修改以下内容后再提交："),
        ("文件中没有「住户」表 (no 住户 sheet: use the template)", "文件中没有「住户」表"),
        ("%(name)s 须在范围内（WGS84）(invalid %(name)s)", "%(name)s 须在范围内（WGS84）"),
        # Units, formats and plain Chinese are not bilingual messages.
        ("面积 (km²)", None),
        ("建筑面积 (m²)", None),
        ("台账文件 (.xlsx)", None),
        ("坐标 (WGS84)", None),
        ("位置 (%(lon)s, %(lat)s) 不在网格内", None),
        ("请填写标题", None),
        ("Title is required.", None),
    ],
)
def test_the_chinese_part_of_a_message(message: str, chinese: str | None) -> None:
    assert chinese_part(message) == chinese


def test_stored_bilingual_text_is_shown_in_one_language() -> None:
    stored = "2027 年节假日安排尚未发布 (the 2027 schedule is missing)；请核对 (check it)"
    assert in_language(stored, "zh-hans") == "2027 年节假日安排尚未发布；请核对"
    assert in_language(stored, "en") == "The 2027 schedule is missing. Check it."
    assert in_language("王女士", "en") == "王女士"
    assert in_language("", "en") == ""


def test_a_signed_in_grid_worker_sees_the_home_page_in_english(
    english: None, world: World, client
) -> None:
    login_as(client, world.users["grid_worker"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("core:home")).content.decode()
    assert "My roles and areas" in html
    assert "Grid worker" in html
    assert "网格员" not in html


# --- the catalogues themselves --------------------------------------------------------------


def test_every_english_message_is_translated_and_none_is_fuzzy() -> None:
    messages = read_po(EN_PO)
    assert header(messages)["Plural-Forms"] == "nplurals=2; plural=(n != 1);"
    assert "fuzzy" not in messages[0].flags
    untranslated = [m.msgid for m in messages[1:] if not all(m.msgstrs)]
    fuzzy = [m.msgid for m in messages[1:] if "fuzzy" in m.flags]
    assert untranslated == []
    assert fuzzy == []
    plurals = [m for m in messages if m.plural is not None]
    assert plurals and all(len(m.msgstrs) == 2 for m in plurals)


def test_english_messages_keep_every_placeholder() -> None:
    for m in read_po(EN_PO)[1:]:
        expected = set(PLACEHOLDER.findall(m.msgid))
        for msgstr in m.msgstrs:
            assert set(PLACEHOLDER.findall(msgstr)) == expected, m.msgid


def test_the_chinese_catalogue_has_a_valid_header_and_the_same_messages() -> None:
    zh = read_po(ZH_PO)
    assert header(zh)["Plural-Forms"] == "nplurals=1; plural=0;"
    assert header(zh)["Content-Type"] == "text/plain; charset=UTF-8"
    assert {m.msgid for m in zh} == {m.msgid for m in read_po(EN_PO)}


def test_the_chinese_catalogue_gives_every_bilingual_message_its_chinese_part() -> None:
    """`make messages` fills these (scripts/zh_catalogue.py); a Chinese page then shows no
    English, and every other message keeps its msgid as it is."""
    filled = {m.msgid: m.msgstrs for m in read_po(ZH_PO)[1:]}
    assert sum(1 for msgid in filled if chinese_part(msgid)) > 150
    wrong = [
        msgid
        for msgid, strs in filled.items()
        if strs
        != (
            [chinese]
            if (chinese := chinese_part(msgid) or CHINESE.get(msgid))
            else [""] * len(strs)
        )
    ]
    assert wrong == [], "run `make messages`"


def _translated_strings(tree: ast.AST) -> set[int]:
    calls = {"_", "gettext", "gettext_lazy", "gettext_noop", "pgettext", "ngettext"}
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in calls:
                ids |= {id(arg) for arg in node.args}
    return ids


def test_no_bilingual_message_bypasses_the_catalogues() -> None:
    """A bilingual literal outside gettext would show its English on a Chinese page (and its
    Chinese on an English one). Operators' commands and the demo builders may keep them."""
    skip = {"management", "migrations", "tests"}
    operators = {"demo.py", "history.py"}
    found = []
    for path in sorted(APP_DIR.rglob("*.py")):
        if skip & set(path.relative_to(APP_DIR).parts) or path.name in operators:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        translated = _translated_strings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value if isinstance(v, ast.Constant) else "%(x)s" for v in node.values
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            if id(node) not in translated and chinese_part(str(text)):
                found.append(f"{path.relative_to(APP_DIR)}:{node.lineno} {text}")
    assert found == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")
def test_the_catalogue_holds_every_string_in_the_code(tmp_path: Path) -> None:
    """A string added to code or a template without re-running makemessages fails here."""
    source = tmp_path / "src"
    shutil.copytree(
        APP_DIR,
        source,
        ignore=shutil.ignore_patterns("locale", "static", "tests", "__pycache__"),
    )
    (source / "locale").mkdir()
    with contextlib.chdir(source), override_settings(LOCALE_PATHS=[source / "locale"]):
        call_command("makemessages", locale=["en"], verbosity=0)
    in_code = {m.msgid for m in read_po(source / "locale" / "en" / "LC_MESSAGES" / "django.po")}
    in_catalogue = {m.msgid for m in read_po(EN_PO)}
    missing = sorted(in_code - in_catalogue)
    assert missing == [], "run `make messages` and translate these in the English catalogue"
