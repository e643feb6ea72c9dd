from django.db import migrations


def seed(apps, schema_editor):
    from wangge.cases.catalogue import seed_categories

    seed_categories(apps.get_model("cases", "Category"), apps.get_model("cases", "PriorityPolicy"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
