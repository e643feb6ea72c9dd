"""Fill the Chinese catalogue: every bilingual message ("中文 (English)") maps to its Chinese part,
and the Django messages of `wangge.core.django_gaps` to their Chinese.

Run after makemessages (`make messages` does both). Other messages keep an empty msgstr: their
msgid is the Chinese text already.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wangge.core.bilingual import chinese_part  # noqa: E402
from wangge.core.django_gaps import CHINESE  # noqa: E402

ZH_PO = ROOT / "wangge" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def quoted(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def fill(block: str) -> str:
    lines = block.split("\n")
    key = ""
    parts: dict[str, list[int]] = {}
    for i, line in enumerate(lines):
        if line.startswith("#"):
            continue
        if not line.startswith('"'):
            key = line.partition(" ")[0]
        parts.setdefault(key, []).append(i)
    if "msgid" not in parts or "msgstr" not in parts or "msgid_plural" in parts:
        return block
    msgid = "".join(
        ast.literal_eval(lines[i].partition(" ")[2] if i == parts["msgid"][0] else lines[i])
        for i in parts["msgid"]
    )
    chinese = chinese_part(msgid) or CHINESE.get(msgid)
    if chinese is None:
        return block
    first, *rest = parts["msgstr"]
    lines[first] = f"msgstr {quoted(chinese)}"
    kept = [line for i, line in enumerate(lines) if i not in rest]
    # A message whose msgid changed comes back from msgmerge fuzzy, with its old msgid ("#|"):
    # the rule makes it exact.
    lines = [_unfuzzy(line) for line in kept if not line.startswith("#|")]
    return "\n".join(line for line in lines if line)


def _unfuzzy(line: str) -> str:
    if not line.startswith("#,"):
        return line
    flags = [f.strip() for f in line[2:].split(",") if f.strip() != "fuzzy"]
    return "#, " + ", ".join(flags) if flags else ""


def main() -> int:
    text = ZH_PO.read_text(encoding="utf-8")
    blocks = text.rstrip("\n").split("\n\n")
    filled = [blocks[0], *(fill(b) for b in blocks[1:])]
    ZH_PO.write_text("\n\n".join(filled) + "\n", encoding="utf-8")
    count = sum(1 for old, new in zip(blocks, filled, strict=True) if old != new)
    print(
        f"{ZH_PO.relative_to(ROOT)}: {count} bilingual messages (re)filled with their Chinese part"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
