"""The digest columns at their new size (22 characters, "C" collation on PostgreSQL) and their
indexes, declared in Meta.indexes so that PostgreSQL builds no LIKE index beside them. Apart
from 0003 because PostgreSQL cannot alter a table in the transaction that just updated its rows
(their deferred foreign-key checks are still pending)."""

from django.db import migrations, models

import wangge.registry.models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_short_digests"),
    ]

    operations = [
        migrations.AlterField(
            model_name="enterprise",
            name="contact_mobile_digest",
            field=wangge.registry.models.DigestField(blank=True, editable=False, max_length=22),
        ),
        migrations.AlterField(
            model_name="resident",
            name="id_number_digest",
            field=wangge.registry.models.DigestField(blank=True, editable=False, max_length=22),
        ),
        migrations.AlterField(
            model_name="resident",
            name="id_number_last4_digest",
            field=wangge.registry.models.DigestField(blank=True, editable=False, max_length=22),
        ),
        migrations.AlterField(
            model_name="resident",
            name="mobile_digest",
            field=wangge.registry.models.DigestField(blank=True, editable=False, max_length=22),
        ),
        migrations.AlterField(
            model_name="resident",
            name="mobile_last4_digest",
            field=wangge.registry.models.DigestField(blank=True, editable=False, max_length=22),
        ),
        migrations.AddIndex(
            model_name="resident",
            index=models.Index(fields=["id_number_last4_digest"], name="resident_id_last4"),
        ),
        migrations.AddIndex(
            model_name="resident",
            index=models.Index(fields=["mobile_digest"], name="resident_mobile"),
        ),
        migrations.AddIndex(
            model_name="resident",
            index=models.Index(fields=["mobile_last4_digest"], name="resident_mobile_last4"),
        ),
    ]
