"""What the public may read of a case's text: numbers hidden however they are written."""

import pytest

from wangge.public.privacy import HIDDEN, scrub


@pytest.mark.parametrize(
    "text",
    [
        "手机 13800138000 王",
        "手机 138 0013 8000 王",
        "手机 138-0013-8000 王",
        "手机 138.0013.8000 王",
        "手机 138．0013．8000 王",
        "手机 +86 138.0013.8000 王",
        "手机 １３８００１３８０００ 王",
        "手机 一三八零零一三八零零零 王",
        "手机 幺三八 零零幺三 八零零零 王",
        "座机 010.6512.3456 王",
    ],
)
def test_a_phone_number_is_hidden_however_it_is_written(text: str) -> None:
    assert scrub(text) == f"{text.split()[0]} {HIDDEN} 王"


@pytest.mark.parametrize(
    "text",
    ["3号楼2单元501室", "三三两两的人", "一五一十地说", "2026年11月", "第十二期", "温度 36.5 度"],
)
def test_ordinary_text_stays(text: str) -> None:
    assert scrub(text) == text
