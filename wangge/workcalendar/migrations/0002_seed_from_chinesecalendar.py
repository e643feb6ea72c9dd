"""Seed every fresh database with the holiday schedules chinesecalendar knows (2004–2026)."""

from django.db import migrations


def seed(apps, schema_editor):
    from wangge.workcalendar.actions import seed_from_chinesecalendar

    seed_from_chinesecalendar(apps=apps)


def unseed(apps, schema_editor):
    apps.get_model("workcalendar", "CalendarYear").objects.filter(source="chinesecalendar").delete()
    apps.get_model("workcalendar", "CalendarState").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("workcalendar", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
