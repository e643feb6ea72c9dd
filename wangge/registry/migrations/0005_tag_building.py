"""Each special-group tag carries its resident's building (nullable while it is filled in), so
that a tag search within a community is one index range. The NOT NULL and the index are in 0006:
PostgreSQL cannot alter a table in the transaction that just updated its rows."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_building(apps, schema_editor):  # type: ignore[no-untyped-def]
    ResidentTag = apps.get_model("registry", "ResidentTag")
    Resident = apps.get_model("registry", "Resident")
    ResidentTag.objects.update(
        building_id=Subquery(
            Resident.objects.filter(pk=OuterRef("resident_id")).values("household__building_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0004_digest_columns"),
        ("territory", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="residenttag",
            name="building",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="territory.building",
                verbose_name="楼栋",
            ),
        ),
        migrations.RunPython(fill_building, migrations.RunPython.noop),
    ]
