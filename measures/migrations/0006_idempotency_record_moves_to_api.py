from django.db import migrations


class Migration(migrations.Migration):
    """The idempotency record belongs to the API kit (``config.api``): it leaves this app's
    state here, and ``api.0001`` takes over the table."""

    dependencies = [
        ("measures", "0005_idempotency_records"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
    ]
