import strategy.models
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('strategy', '0001_initial'),
    ]

    operations = [
        # The same constraints in the database; only how Python reports a violation
        # changes (under the field it is about), so the tables are not touched.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='organisation',
                    name='strategy_organisation_slug_lowercase_kebab',
                ),
                migrations.RemoveConstraint(
                    model_name='strategy',
                    name='strategy_strategy_slug_lowercase_kebab',
                ),
                migrations.AddConstraint(
                    model_name='organisation',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(('slug__regex', '^[a-z0-9]+(?:-[a-z0-9]+)*$')), field='slug', name='strategy_organisation_slug_lowercase_kebab', violation_error_message='Use lowercase letters and digits in words joined by single hyphens, e.g. “home-office”.'),
                ),
                migrations.AddConstraint(
                    model_name='strategy',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(('slug__regex', '^[a-z0-9]+(?:-[a-z0-9]+)*$')), field='slug', name='strategy_strategy_slug_lowercase_kebab', violation_error_message='Use lowercase letters and digits in words joined by single hyphens, e.g. “home-office”.'),
                ),
            ],
            database_operations=[],
        ),
    ]
