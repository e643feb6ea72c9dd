from django.db import migrations, models


def fill_english_labels(apps, schema_editor):
    """The seeded categories' extra questions get their English labels; a question an
    administrator changed (another label) or labelled in English already stays as it is."""
    from wangge.cases.catalogue import EXTRA_QUESTIONS

    Category = apps.get_model("cases", "Category")
    for category in Category.objects.filter(code__in=list(EXTRA_QUESTIONS)):
        seeded = {q["key"]: q for q in EXTRA_QUESTIONS[category.code]}
        questions = []
        changed = False
        for question in category.questions or []:
            source = seeded.get(question.get("key"))
            if (
                isinstance(question, dict)
                and source is not None
                and question.get("label") == source["label"]
                and not question.get("label_en")
            ):
                question = {**question, "label_en": source["label_en"]}
                changed = True
            questions.append(question)
        if changed:
            category.questions = questions
            category.save(update_fields=["questions"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_category_english_name"),
    ]

    operations = [
        migrations.AlterField(
            model_name="category",
            name="questions",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='列表，每项如 {"key": "floor", "label": "楼层", "label_en": "Floor", "type": "number", "required": true}；type 可为 text、number、boolean、date、choice（需 choices 列表）；label_en 可省略，英文页面显示',
                verbose_name="附加问题",
            ),
        ),
        migrations.RunPython(fill_english_labels, migrations.RunPython.noop),
    ]
