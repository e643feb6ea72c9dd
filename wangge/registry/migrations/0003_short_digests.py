"""Keyed digests shrink from 64 hex characters (the whole HMAC-SHA256) to 22 (its first 16 bytes
in URL-safe base64), compared byte for byte on PostgreSQL ("C" collation), and the three indexed
digests lose PostgreSQL's extra LIKE index (docs/decisions/0005).

Stored digests are converted, not recomputed: the new digest of a value is the old one's first
16 bytes, so no key is needed and rows under older keys stay findable. Going back widens the
columns but keeps the short digests (the rest of each HMAC is gone): code from before this
migration would not find those rows by ID or phone number, so going back is for development."""

import base64

from django.db import migrations, models

RESIDENT_DIGESTS = (
    "id_number_digest",
    "id_number_last4_digest",
    "mobile_digest",
    "mobile_last4_digest",
)
# (table, columns) to convert.
COLUMNS = (
    ("registry_resident", RESIDENT_DIGESTS),
    ("registry_enterprise", ("contact_mobile_digest",)),
)


def _short(value: str | None) -> str | None:
    if value is None or len(value) != 64:
        return value
    return base64.urlsafe_b64encode(bytes.fromhex(value)[:16])[:22].decode()


def shorten_digests(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        expression = (
            "rtrim(translate(encode(substr(decode({c}, 'hex'), 1, 16), 'base64'), '+/', '-_'), '=')"
        )
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        connection.connection.create_function("wangge_short_digest", 1, _short, deterministic=True)
        expression = "wangge_short_digest({c})"
    else:
        expression = ""
    for table, columns in COLUMNS:
        if expression:
            # One UPDATE per column: only rows with an old-format digest are touched. Every name
            # in the statement is one of this module's constants, quoted.
            with connection.cursor() as cursor:
                for column in columns:
                    name = quote(column)
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {name} = {expression.format(c=name)} "  # noqa: S608
                        f"WHERE length({name}) = 64"
                    )
            continue
        model = apps.get_model(
            "registry", "Resident" if table == "registry_resident" else "Enterprise"
        )
        for row in model.objects.values("pk", *columns).iterator(chunk_size=2000):
            model.objects.filter(pk=row["pk"]).update(**{c: _short(row[c]) for c in columns})


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0002_party_links_visits_resident_changes"),
    ]

    operations = [
        # The old indexes go first: converting a million digests need not update them.
        migrations.AlterField(
            model_name="resident",
            name="id_number_last4_digest",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="resident",
            name="mobile_digest",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="resident",
            name="mobile_last4_digest",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(shorten_digests, migrations.RunPython.noop, elidable=False),
    ]
