import django.db.models.functions.datetime
from django.db import migrations, models

RENAME = """
ALTER TABLE measures_idempotencyrecord RENAME TO api_idempotencyrecord;
ALTER TABLE api_idempotencyrecord RENAME CONSTRAINT measures_idempotencyrecord_pkey TO api_idempotencyrecord_pkey;
ALTER TABLE api_idempotencyrecord RENAME CONSTRAINT measures_idempotency_scope_key TO api_idempotencyrecord_scope_key;
ALTER TABLE api_idempotencyrecord RENAME CONSTRAINT measures_idempotencyrecord_status_code_check TO api_idempotencyrecord_status_code_check;
ALTER INDEX measures_idempotency_created RENAME TO api_idempotency_created;
ALTER SEQUENCE measures_idempotencyrecord_id_seq RENAME TO api_idempotencyrecord_id_seq;
"""
RENAME_BACK = """
ALTER SEQUENCE api_idempotencyrecord_id_seq RENAME TO measures_idempotencyrecord_id_seq;
ALTER INDEX api_idempotency_created RENAME TO measures_idempotency_created;
ALTER TABLE api_idempotencyrecord RENAME CONSTRAINT api_idempotencyrecord_status_code_check TO measures_idempotencyrecord_status_code_check;
ALTER TABLE api_idempotencyrecord RENAME CONSTRAINT api_idempotencyrecord_scope_key TO measures_idempotency_scope_key;
ALTER TABLE api_idempotencyrecord RENAME CONSTRAINT api_idempotencyrecord_pkey TO measures_idempotencyrecord_pkey;
ALTER TABLE api_idempotencyrecord RENAME TO measures_idempotencyrecord;
"""


class Migration(migrations.Migration):
    """Takes over the idempotency records that ``measures`` created (its 0005): the table and
    its constraints are renamed, the rows kept."""

    initial = True

    dependencies = [
        ("measures", "0006_idempotency_record_moves_to_api"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("scope", models.CharField(help_text="Hash of the credentials the request carried: keys are per client.", max_length=64, verbose_name="scope")),
                        ("key", models.CharField(help_text="The client's Idempotency-Key.", max_length=255, verbose_name="key")),
                        ("fingerprint", models.CharField(help_text="Hash of the path, query and body: the same key may not be reused for another request.", max_length=64, verbose_name="fingerprint")),
                        ("status_code", models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="status code")),
                        ("headers", models.JSONField(blank=True, default=dict, verbose_name="headers")),
                        ("body", models.BinaryField(blank=True, default=b"", verbose_name="body")),
                        ("created_at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), editable=False, verbose_name="created at")),
                    ],
                    options={
                        "verbose_name": "idempotency record",
                        "verbose_name_plural": "idempotency records",
                        "indexes": [models.Index(fields=["created_at"], name="api_idempotency_created")],
                        "constraints": [models.UniqueConstraint(fields=("scope", "key"), name="api_idempotencyrecord_scope_key")],
                    },
                ),
            ],
            database_operations=[migrations.RunSQL(RENAME, reverse_sql=RENAME_BACK)],
        ),
    ]
