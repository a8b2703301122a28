"""Cross-row invariants that Django cannot declare: composite foreign keys.

- a correction supersedes an event of the same measure and axis;
- a funding line's measure belongs to the line's strategy;
- a funding line is drawn from an envelope of the same strategy.
"""

from django.db import migrations

FOREIGN_KEYS = [
    (
        "measures_statusevent",
        "measures_statusevent_supersedes_same_measure_axis",
        "(supersedes_id, measure_id, axis)",
        "measures_statusevent (id, measure_id, axis)",
    ),
    (
        "measures_fundingline",
        "measures_fundingline_measure_in_strategy",
        "(measure_id, strategy_id)",
        "measures_measure (id, strategy_id)",
    ),
    (
        "measures_fundingline",
        "measures_fundingline_parent_in_strategy",
        "(parent_id, strategy_id)",
        "measures_fundingline (id, strategy_id)",
    ),
]


class Migration(migrations.Migration):
    dependencies = [("measures", "0002_initial")]

    operations = [
        migrations.RunSQL(
            sql=(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY {columns} "
                f"REFERENCES {target};"
            ),
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {name};",
        )
        for table, name, columns, target in FOREIGN_KEYS
    ]
