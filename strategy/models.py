"""What frames the tracked measures: organisations, the strategies they publish, and the
sources that evidence every fact. Fields are declared one by one, Django's way: alike in
shape, each with its own meaning and example."""

from __future__ import annotations

from typing import Any, ClassVar

import pghistory
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q
from django.db.models.functions import Now

from strategy.choices import OrganisationKind, SourceKind

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"

# Every tracked model gets a ``<Model>History`` table, filled by PostgreSQL triggers, whose
# rows are reached from the object as ``obj.history``.
HISTORY_OBJ_FIELD = pghistory.ObjForeignKey(related_name="history", db_index=True)


class FieldCheckConstraint(models.CheckConstraint):
    """A check constraint about one field. The database enforces it; ``full_clean()``
    checks it too (as Django does every constraint) and reports a violation under
    ``field``, with the constraint's own message, so that a form or an API error names the
    field. The rule is then written once, here, for the database and for Python."""

    non_db_attrs = (*models.CheckConstraint.non_db_attrs, "field")

    def __init__(self, *, field: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.field = field

    def validate(self, model: Any, instance: Any, exclude: Any = None, using: Any = None) -> None:
        try:
            super().validate(model, instance, exclude=exclude, using=using or DEFAULT_DB_ALIAS)
        except ValidationError as error:
            raise ValidationError({self.field: error}) from None

    def deconstruct(self) -> tuple[str, Any, dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        return path, args, {**kwargs, "field": self.field}

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and self.field == getattr(other, "field", None)

    __hash__ = models.CheckConstraint.__hash__


def slug_is_lowercase(table: str) -> FieldCheckConstraint:
    return FieldCheckConstraint(
        condition=Q(slug__regex=SLUG_PATTERN),
        name=f"{table}_slug_lowercase_kebab",
        field="slug",
        violation_error_message=(
            "Use lowercase letters and digits in words joined by single hyphens, "
            "e.g. “home-office”."
        ),
    )


# What a model fixes once a row exists: a slug is part of public URLs. The services refuse a
# change of these fields, and the admin shows them read-only.
FIXED_ONCE_CREATED = ("slug",)


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="OrganisationHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class Organisation(models.Model):
    """A body that leads, funds or receives a measure, or that owns a strategy: a government
    department, a police force, a parliamentary body, a company, a party."""

    slug = models.SlugField(
        "slug",
        max_length=100,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “home-office”.",
    )
    name = models.CharField("name", max_length=200, help_text="e.g. “Home Office”.")
    kind = models.CharField(
        "kind",
        max_length=32,
        choices=OrganisationKind.choices,
        help_text="What sort of body it is, e.g. “department”.",
    )
    url = models.URLField(
        "website",
        max_length=500,
        blank=True,
        help_text="Official home page, e.g. “https://www.gov.uk/government/organisations/home-office”.",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["name"]
        verbose_name = "organisation"
        verbose_name_plural = "organisations"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values),
                name="strategy_organisation_kind_valid",
            ),
            slug_is_lowercase("strategy_organisation"),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="SourceHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class Source(models.Model):
    """A piece of evidence: a government page, a Hansard debate, an Act on legislation.gov.uk,
    a news report. Every status event and funding line cites at least one."""

    url = models.URLField(
        "URL",
        max_length=1000,
        unique=True,
        help_text="Where the evidence can be read, e.g. “https://www.legislation.gov.uk/ukpga/2019/17”.",
    )
    title = models.CharField(
        "title", max_length=500, help_text="e.g. “Offensive Weapons Act 2019”."
    )
    publisher = models.CharField(
        "publisher", max_length=200, blank=True, help_text="Who published it, e.g. “ITV News”."
    )
    kind = models.CharField(
        "kind",
        max_length=32,
        choices=SourceKind.choices,
        default=SourceKind.OTHER,
        help_text="What sort of evidence it is, e.g. “legislation”.",
    )
    published_on = models.DateField(
        "published on",
        null=True,
        blank=True,
        help_text="Date of publication if known, e.g. 2019-05-16.",
    )
    archived_url = models.URLField(
        "archived copy",
        max_length=1000,
        blank=True,
        help_text="A permanent copy, e.g. on the UK Government Web Archive.",
    )
    external_id = models.CharField(
        "external identifier",
        max_length=300,
        blank=True,
        help_text="An identifier in another register, e.g. “http://www.legislation.gov.uk/id/ukpga/2019/17”.",
    )
    note = models.TextField(
        "note",
        blank=True,
        help_text="Anything a reader should know, e.g. “copy of the Home Office press release”.",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    class Meta:
        ordering = ["-published_on", "title"]
        verbose_name = "source"
        verbose_name_plural = "sources"
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SourceKind.values), name="strategy_source_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class StrategyQuerySet(models.QuerySet["Strategy"]):
    def for_api(self) -> StrategyQuerySet:
        """With what a strategy is shown with: its owner and how many measures it has."""
        return self.select_related("owner").annotate(measure_count=models.Count("measures"))


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    model_name="StrategyHistory",
    obj_field=HISTORY_OBJ_FIELD,
)
class Strategy(models.Model):
    """A published government plan whose commitments are tracked as measures, e.g. the Home
    Office's Serious Violence Strategy of 9 April 2018."""

    slug = models.SlugField(
        "slug",
        max_length=100,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “serious-violence-strategy-2018”.",
    )
    title = models.CharField("title", max_length=300, help_text="e.g. “Serious Violence Strategy”.")
    owner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="strategies",
        verbose_name="owner",
        help_text="The organisation that published it, e.g. the Home Office.",
    )
    published_on = models.DateField(
        "published on", help_text="Date of publication, e.g. 2018-04-09."
    )
    summary = models.TextField(
        "summary", blank=True, help_text="What the strategy sets out to do, in a few sentences."
    )
    url = models.URLField(
        "URL",
        max_length=500,
        blank=True,
        help_text="The official page, e.g. “https://www.gov.uk/government/publications/serious-violence-strategy”.",
    )
    source = models.ForeignKey(
        Source,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="source",
        help_text="Evidence for the publication date and summary.",
    )
    source_quote = models.TextField(
        "quoted passage",
        blank=True,
        help_text="The passage of the source that supports it, e.g. “published on 9 April”.",
    )
    created_at = models.DateTimeField("created at", auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    objects = StrategyQuerySet.as_manager()

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["-published_on", "title"]
        verbose_name = "strategy"
        verbose_name_plural = "strategies"
        constraints = [slug_is_lowercase("strategy_strategy")]

    def __str__(self) -> str:
        return self.title
