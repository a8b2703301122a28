import strategy.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('measures', '0006_idempotency_record_moves_to_api'),
        ('strategy', '0002_constraints_name_their_field'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The same constraints in the database; only how Python reports a violation
        # changes (under the field it is about), so the tables are not touched.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='eventcitation',
                    name='measures_eventcitation_quote_or_locator',
                ),
                migrations.RemoveConstraint(
                    model_name='fundingline',
                    name='measures_fundingline_period_in_order',
                ),
                migrations.RemoveConstraint(
                    model_name='fundingline',
                    name='measures_fundingline_not_own_parent',
                ),
                migrations.RemoveConstraint(
                    model_name='fundingline',
                    name='measures_fundingline_quote_or_locator',
                ),
                migrations.RemoveConstraint(
                    model_name='measure',
                    name='measures_measure_slug_lowercase_kebab',
                ),
                migrations.AddConstraint(
                    model_name='eventcitation',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(models.Q(('quote', ''), _negated=True), models.Q(('locator', ''), _negated=True), _connector='OR'), field='quote', name='measures_eventcitation_quote_or_locator', violation_error_message='Quote the passage or give a locator.'),
                ),
                migrations.AddConstraint(
                    model_name='fundingline',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(('period_start__isnull', True), ('period_end__isnull', True), ('period_start__lte', models.F('period_end')), _connector='OR'), field='period_end', name='measures_fundingline_period_in_order', violation_error_message='The period cannot end before it starts.'),
                ),
                migrations.AddConstraint(
                    model_name='fundingline',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(('parent__isnull', True), models.Q(('parent', models.F('id')), _negated=True), _connector='OR'), field='parent', name='measures_fundingline_not_own_parent', violation_error_message='A funding line cannot be drawn from itself.'),
                ),
                migrations.AddConstraint(
                    model_name='fundingline',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(models.Q(('quote', ''), _negated=True), models.Q(('locator', ''), _negated=True), _connector='OR'), field='quote', name='measures_fundingline_quote_or_locator', violation_error_message='Quote the passage or give a locator.'),
                ),
                migrations.AddConstraint(
                    model_name='measure',
                    constraint=strategy.models.FieldCheckConstraint(condition=models.Q(('slug__regex', '^[a-z0-9]+(?:-[a-z0-9]+)*$')), field='slug', name='measures_measure_slug_lowercase_kebab', violation_error_message='Use lowercase letters and digits in words joined by single hyphens, e.g. “home-office”.'),
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterField(
            model_name='statusevent',
            name='rationale',
            field=models.TextField(error_messages={'blank': 'Say why the value changed.'}, help_text='Why the value changed, e.g. “SI 2022/418 commenced section 6 on 6 April 2022”.', verbose_name='rationale'),
        ),
        migrations.AlterField(
            model_name='statuseventhistory',
            name='rationale',
            field=models.TextField(error_messages={'blank': 'Say why the value changed.'}, help_text='Why the value changed, e.g. “SI 2022/418 commenced section 6 on 6 April 2022”.', verbose_name='rationale'),
        ),
        migrations.AlterConstraint(
            model_name='statusevent',
            name='measures_statusevent_superseded_once',
            constraint=models.UniqueConstraint(fields=('supersedes',), name='measures_statusevent_superseded_once', violation_error_code='unique', violation_error_message='That event has already been corrected; correct the correction.'),
        ),
    ]
