"""A category's extra questions: typed fields validated on intake."""

from datetime import date
from typing import Any

from django.utils.translation import gettext as _

from wangge.core.errors import DomainError, ValidationFailed

QUESTION_TYPES = {"text", "number", "boolean", "date", "choice"}


def check_questions(questions: Any) -> list[dict[str, Any]]:
    """Validate a category's question definitions (admin input)."""
    if not isinstance(questions, list):
        raise DomainError(_("附加问题必须是列表 (questions must be a list)"), field="questions")
    keys: set[str] = set()
    for i, q in enumerate(questions):
        where = f"questions[{i}]"
        if not isinstance(q, dict) or not str(q.get("key", "")).isidentifier():
            raise DomainError(
                _("第 %(i)d 个问题缺少合法的 key (bad key)") % {"i": i + 1}, field=where
            )
        if q["key"] in keys:
            raise DomainError(
                _("问题 key 重复：%(k)s (duplicate key)") % {"k": q["key"]}, field=where
            )
        keys.add(q["key"])
        if q.get("type") not in QUESTION_TYPES:
            raise DomainError(
                _("问题类型须为 %(t)s (bad type)") % {"t": "/".join(sorted(QUESTION_TYPES))},
                field=where,
            )
        if q["type"] == "choice" and not (isinstance(q.get("choices"), list) and q["choices"]):
            raise DomainError(_("选择题需要 choices 列表 (choice needs choices)"), field=where)
        if not q.get("label"):
            raise DomainError(_("问题需要 label (label required)"), field=where)
        if "label_en" in q and not isinstance(q["label_en"], str):
            raise DomainError(_("label_en 须为文字 (label_en must be text)"), field=where)
        if "choices_en" in q and not (
            isinstance(q["choices_en"], list)
            and len(q["choices_en"]) == len(q.get("choices") or [])
            and all(isinstance(c, str) for c in q["choices_en"])
        ):
            raise DomainError(
                _(
                    "choices_en 须为与 choices 一一对应的文字列表 "
                    "(choices_en: one text for each of the choices)"
                ),
                field=where,
            )
        if q["type"] == "number":
            _check_bounds(q, where)
    return questions


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == value
        and value not in (float("inf"), float("-inf"))
    )


def _check_bounds(question: dict[str, Any], where: str) -> None:
    """A number question's optional "min" and "max" (numbers, min ≤ max) and "integer"
    (true: whole numbers only)."""
    for key in ("min", "max"):
        if key in question and not _is_number(question[key]):
            raise DomainError(
                _("%(key)s 须为数字 (%(key)s must be a number)") % {"key": key}, field=where
            )
    if "min" in question and "max" in question and question["min"] > question["max"]:
        raise DomainError(_("min 不能大于 max (min must not exceed max)"), field=where)
    if "integer" in question and not isinstance(question["integer"], bool):
        raise DomainError(
            _("integer 须为 true 或 false (integer must be true or false)"), field=where
        )
    if question.get("integer") and any(
        float(question[key]) != int(question[key]) for key in ("min", "max") if key in question
    ):
        raise DomainError(
            _("只收整数的问题，min 和 max 也须为整数 (integer questions need whole-number bounds)"),
            field=where,
        )


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def question_label(question: dict[str, Any]) -> str:
    """A question's label in the reader's language: its optional "label_en" on English pages."""
    from wangge.cases.models import category_label

    return category_label(str(question.get("label") or ""), question.get("label_en"))


def choice_options(question: dict[str, Any]) -> list[tuple[str, str]]:
    """A choice question's (stored value, label in the reader's language) pairs: the labels of
    its optional "choices_en" on English pages. The stored answer is always the value."""
    from wangge.cases.models import category_label

    values = [str(c) for c in question.get("choices") or []]
    english = question.get("choices_en")
    if not isinstance(english, list) or len(english) != len(values):
        english = [None] * len(values)
    return [(v, category_label(v, e)) for v, e in zip(values, english, strict=True)]


def answer_label(question: dict[str, Any] | None, value: Any) -> str:
    """A stored answer as the reader reads it (a choice in their language)."""
    if question is not None and question.get("type") == "choice":
        return dict(choice_options(question)).get(str(value), str(value))
    return str(value)


def _coerce(question: dict[str, Any], value: Any) -> Any:
    kind = question["type"]
    if kind == "text":
        text = str(value).strip()
        if len(text) > 500:
            raise ValueError(_("不能超过 500 字"))
        if "\x00" in text:  # PostgreSQL cannot store it (in JSON either)
            raise ValueError(_("Null characters are not allowed."))
        return text
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError(_("须为数字"))
        try:
            number = float(value)
        except OverflowError:
            raise ValueError(_("数值过大")) from None
        except (TypeError, ValueError):
            raise ValueError(_("须为数字")) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(_("须为数字"))
        if question.get("integer") and not number.is_integer():
            raise ValueError(_("须为整数"))
        if number.is_integer() and abs(number) >= 2**53:
            # Beyond what a float holds exactly (and what JSON readers read back exactly).
            raise ValueError(_("数值过大"))
        low, high = question.get("min"), question.get("max")
        if low is not None and number < low:
            raise ValueError(
                _("不能小于 %(limit)s (at least %(limit)s)") % {"limit": _number_text(low)}
            )
        if high is not None and number > high:
            raise ValueError(
                _("不能大于 %(limit)s (at most %(limit)s)") % {"limit": _number_text(high)}
            )
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes", "on", "是"}:
            return True
        if text in {"false", "0", "no", "off", "否"}:
            return False
        raise ValueError(_("须为 是/否"))
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(_("须为日期，格式如 2026-05-01")) from None
    if kind == "choice":
        if value not in question["choices"]:
            raise ValueError(
                _("须为以下之一：%(c)s")
                % {"c": "、".join(label for _value, label in choice_options(question))}
            )
        return value
    raise ValueError(kind)


def clean_answers(*, category: Any, answers: dict[str, Any]) -> dict[str, Any]:
    """Answers keyed by question key, coerced to their types; every problem reported at once."""
    if not isinstance(answers, dict):
        raise DomainError(_("附加信息格式不正确 (answers must be an object)"), field="answers")
    errors: list[DomainError] = []
    clean: dict[str, Any] = {}
    known = {q["key"]: q for q in category.questions or []}
    for key in answers:
        if key not in known:
            errors.append(
                DomainError(
                    _("未知的问题 %(k)s (unknown question)") % {"k": key}, field=f"answers.{key}"
                )
            )
    for key, question in known.items():
        value = answers.get(key)
        if value is None or value == "":
            if question.get("required"):
                errors.append(
                    DomainError(
                        _("请回答“%(l)s” (required)") % {"l": question_label(question)},
                        field=f"answers.{key}",
                        code="required",
                    )
                )
            continue
        try:
            clean[key] = _coerce(question, value)
        except ValueError as exc:
            errors.append(
                DomainError(
                    _("%(label)s：%(reason)s") % {"label": question_label(question), "reason": exc},
                    field=f"answers.{key}",
                )
            )
    if errors:
        raise ValidationFailed(errors)
    return clean


# --- the questions on HTML forms ------------------------------------------------------------
# Every category's questions are rendered on the reporting pages (patrol report, 随手拍, a visit
# turned into a case), each category's in its own fieldset shown when that category is chosen
# (cases/_questions.html, cases/questions.js). Inputs are named per category, so answers typed
# for one category and left behind when the reporter chose another are never read.


def input_name(category: Any, key: str) -> str:
    return f"answer-{category.pk}-{key}"


def answers_from_form(category: Any, data: Any) -> dict[str, str]:
    """The chosen category's answers from a submitted form (blank ones left out)."""
    answers: dict[str, str] = {}
    for question in category.questions or []:
        value = str(data.get(input_name(category, question["key"]), "") or "").strip()
        if value:
            answers[question["key"]] = value
    return answers


def form_answer_errors(category: Any, data: Any) -> list[DomainError]:
    """What is wrong with the chosen category's answers on a form that is refused for other
    fields too: named at once, not on the next submit."""
    try:
        clean_answers(category=category, answers=answers_from_form(category, data))
    except DomainError as exc:
        return list(getattr(exc, "errors", None) or [exc])
    return []


def answer_errors(exc: DomainError) -> dict[str, str]:
    """The answers' errors of a refused intake, keyed by question key."""
    errors = getattr(exc, "errors", None) or [exc]
    return {
        e.field.removeprefix("answers."): e.message
        for e in errors
        if e.field and e.field.startswith("answers.")
    }


def form_questions(
    categories: Any, *, selected: str, data: Any, errors: dict[str, str]
) -> list[dict[str, Any]]:
    """What cases/_questions.html renders: for each category with questions, its fieldset."""
    blocks = []
    for category in categories:
        if not category.questions:
            continue
        chosen = str(category.pk) == selected
        items = []
        for q in category.questions:
            name = input_name(category, q["key"])
            items.append(
                {
                    "key": q["key"],
                    "name": name,
                    "label": question_label(q),
                    "type": q["type"],
                    "required": bool(q.get("required")),
                    "choices": choice_options(q),
                    "min": _number_text(q["min"]) if _is_number(q.get("min")) else "",
                    "max": _number_text(q["max"]) if _is_number(q.get("max")) else "",
                    "step": "1" if q.get("integer") is True else "any",
                    # (numeric keyboards on phones have no minus key)
                    "negative": not (_is_number(q.get("min")) and q["min"] >= 0),
                    "value": str(data.get(name, "") or "") if data is not None else "",
                    "error": errors.get(q["key"], "") if chosen else "",
                }
            )
        blocks.append({"category": category, "chosen": chosen, "questions": items})
    return blocks
