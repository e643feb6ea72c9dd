from django.db import migrations, models


def fill_number_bounds(apps, schema_editor):
    """The seeded number questions get their bounds (an age from 0 to 130, at least one
    household affected, a floor from -10 to 200; whole numbers), where an administrator has not
    set bounds of their own. Answers already stored are left as they are."""
    from wangge.cases.catalogue import EXTRA_QUESTIONS

    Category = apps.get_model("cases", "Category")
    bounds = ("min", "max", "integer")
    for category in Category.objects.filter(code__in=list(EXTRA_QUESTIONS)):
        seeded = {q["key"]: q for q in EXTRA_QUESTIONS[category.code] if q.get("type") == "number"}
        questions = []
        changed = False
        for question in category.questions or []:
            source = seeded.get(question.get("key")) if isinstance(question, dict) else None
            if (
                source is not None
                and question.get("type") == "number"
                and not any(key in question for key in bounds)
            ):
                question = {**question, **{k: source[k] for k in bounds if k in source}}
                changed = True
            questions.append(question)
        if changed:
            category.questions = questions
            category.save(update_fields=["questions"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_question_english_choices"),
    ]

    operations = [
        migrations.AlterField(
            model_name="category",
            name="questions",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='列表，每项如 {"key": "floor", "label": "楼层", "label_en": "Floor", "type": "number", "required": true}；type 可为 text、number、boolean、date、choice（需 choices 列表）；label_en 可省略，英文页面显示；number 可加 min、max（数字）和 integer（true：只收整数）',
                verbose_name="附加问题",
            ),
        ),
        migrations.RunPython(fill_number_bounds, migrations.RunPython.noop),
    ]
