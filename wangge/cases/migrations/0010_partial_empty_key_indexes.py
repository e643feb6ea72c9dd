"""Index the case's lead grid worker, master case and idempotency key only where set.

Most cases have none of the three: their entries were NULLs that intake wrote into three indexes
and the bulk load sorted, and that no query reads (every lookup is `= value`). On a large table
this rebuilds three indexes (seconds per ten million cases, holding the table's write lock).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_verbose_times"),
        ("territory", "0004_verbose_times"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="case",
            name="case_unique_idempotency_key",
        ),
        migrations.AlterField(
            model_name="case",
            name="lead_worker",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lead_cases",
                to=settings.AUTH_USER_MODEL,
                verbose_name="主办网格员",
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="master",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="duplicates",
                to="cases.case",
                verbose_name="合并到",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("lead_worker__isnull", False)),
                fields=["lead_worker"],
                name="case_lead_worker",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("master__isnull", False)), fields=["master"], name="case_master"
            ),
        ),
        migrations.AddConstraint(
            model_name="case",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key__isnull", False)),
                fields=("idempotency_key",),
                name="case_unique_idempotency_key",
            ),
        ),
    ]
