"""The tag's building required, and the index a tag search within a community ranges over (it
replaces the index on the group alone: its first column serves the same lookups)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_tag_building"),
        ("territory", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="residenttag",
            name="tag_group",
        ),
        migrations.AlterField(
            model_name="residenttag",
            name="building",
            field=models.ForeignKey(
                db_index=False,
                default=None,
                editable=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="territory.building",
                verbose_name="楼栋",
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="residenttag",
            index=models.Index(fields=["group", "building", "resident"], name="tag_group_building"),
        ),
    ]
