from django.db import migrations


def fill_english_choices(apps, schema_editor):
    """The seeded choice questions get their options' English labels, where an administrator
    has not changed the options or labelled them already (the stored answers keep the values)."""
    from wangge.cases.catalogue import EXTRA_QUESTIONS

    Category = apps.get_model("cases", "Category")
    for category in Category.objects.filter(code__in=list(EXTRA_QUESTIONS)):
        seeded = {q["key"]: q for q in EXTRA_QUESTIONS[category.code] if "choices_en" in q}
        questions = []
        changed = False
        for question in category.questions or []:
            source = seeded.get(question.get("key")) if isinstance(question, dict) else None
            if (
                source is not None
                and question.get("choices") == source["choices"]
                and "choices_en" not in question
            ):
                question = {**question, "choices_en": source["choices_en"]}
                changed = True
            questions.append(question)
        if changed:
            category.questions = questions
            category.save(update_fields=["questions"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_question_english_labels"),
    ]

    operations = [
        migrations.RunPython(fill_english_choices, migrations.RunPython.noop),
    ]
