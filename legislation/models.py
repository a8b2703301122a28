"""The law's path as data: a bill and its dated stages in each House, the Act it became, the
Act's provisions with their territorial extent, and the instruments that brought provisions
into force, where and until when. A measure links to the provisions that carry it
(``measures.MeasureProvision``). Fields are declared one by one, Django's way."""

from __future__ import annotations

from typing import Any, ClassVar

import pghistory
from django import forms
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils.text import capfirst

from legislation.choices import BillStageKind, Extent, House, extent_label
from strategy.models import (
    FIXED_ONCE_CREATED,
    HISTORY_OBJ_FIELD,
    FieldCheckConstraint,
    Source,
    slug_is_lowercase,
)


class ExtentField(ArrayField):
    """The nations something applies or extends to, stored as a text array; a form shows it
    as one checkbox per nation."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("base_field", models.CharField(max_length=16, choices=Extent.choices))
        super().__init__(**kwargs)

    def formfield(self, **kwargs: Any) -> Any:
        return forms.TypedMultipleChoiceField(
            choices=Extent.choices,
            required=not self.blank,
            widget=forms.CheckboxSelectMultiple,
            label=capfirst(self.verbose_name),
            help_text=self.help_text,
        )


def extent_field(help_text: str) -> ExtentField:
    return ExtentField(
        verbose_name="extent", default=list, db_default=[], blank=True, help_text=help_text
    )


def extent_is_valid(table: str, field: str = "extent") -> FieldCheckConstraint:
    """Every element names a nation (the array's element choices are not checked by
    PostgreSQL otherwise)."""
    return FieldCheckConstraint(
        condition=Q(**{f"{field}__contained_by": Extent.values}),
        name=f"{table}_{field}_valid",
        field=field,
        violation_error_message=f"Name nations from: {', '.join(Extent.values)}.",
    )


def cited_if_sourced(table: str) -> FieldCheckConstraint:
    """A row that names a source quotes it or says where in it."""
    return FieldCheckConstraint(
        condition=Q(source__isnull=True) | ~Q(quote="") | ~Q(locator=""),
        name=f"{table}_quote_or_locator",
        field="quote",
        violation_error_message="Quote the passage or give a locator.",
    )


def tracked(name: str) -> Any:
    return pghistory.track(
        pghistory.InsertEvent(),
        pghistory.UpdateEvent(),
        pghistory.DeleteEvent(),
        model_name=name,
        obj_field=HISTORY_OBJ_FIELD,
    )


def citation_fields() -> tuple[models.Field, models.Field, models.Field]:
    return (
        models.ForeignKey(
            Source,
            on_delete=models.PROTECT,
            related_name="+",
            verbose_name="source",
            help_text="Where the fact is stated.",
        ),
        models.TextField(
            "quoted passage", blank=True, help_text="The words that state it, quoted exactly."
        ),
        models.CharField(
            "locator",
            max_length=300,
            blank=True,
            help_text="Where in the source, e.g. “reg. 2(a)” or “col. 345”.",
        ),
    )


@tracked("BillHistory")
class Bill(models.Model):
    """A bill before Parliament, e.g. the Offensive Weapons Bill of session 2017-19."""

    slug = models.SlugField(
        "slug",
        max_length=120,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “offensive-weapons-bill-2017-19”.",
    )
    title = models.CharField("title", max_length=300, help_text="e.g. “Offensive Weapons Bill”.")
    session = models.CharField(
        "session", max_length=20, help_text="The parliamentary session, e.g. “2017-19”."
    )
    parliament_bill_id = models.PositiveIntegerField(
        "Parliament bill id",
        null=True,
        blank=True,
        unique=True,
        help_text="The bill's number on bills.parliament.uk, e.g. 2187; empty if not known.",
    )
    url = models.URLField("URL", max_length=500, help_text="The bill's page.")
    created_at = models.DateTimeField("created at", auto_now_add=True, db_default=Now())
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["slug"]
        verbose_name = "bill"
        verbose_name_plural = "bills"
        constraints = [slug_is_lowercase("legislation_bill")]

    def __str__(self) -> str:
        return f"{self.title} ({self.session})"


@tracked("BillStageHistory")
class BillStage(models.Model):
    """One dated step of a bill in one House, cited: “second reading in the Commons on 27
    June 2018”."""

    bill = models.ForeignKey(
        Bill,
        on_delete=models.CASCADE,
        related_name="stages",
        verbose_name="bill",
        help_text="The bill that took the step.",
    )
    house = models.CharField(
        "house", max_length=16, choices=House.choices, help_text="e.g. “commons”."
    )
    stage = models.CharField(
        "stage", max_length=32, choices=BillStageKind.choices, help_text="e.g. “second_reading”."
    )
    on = models.DateField("date", help_text="The day of the step, e.g. 2018-06-27.")
    source, quote, locator = citation_fields()
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    class Meta:
        ordering = ["bill_id", "on", "id"]
        verbose_name = "bill stage"
        verbose_name_plural = "bill stages"
        constraints = [
            models.CheckConstraint(
                condition=Q(house__in=House.values), name="legislation_billstage_house_valid"
            ),
            models.CheckConstraint(
                condition=Q(stage__in=BillStageKind.values),
                name="legislation_billstage_stage_valid",
            ),
            cited_if_sourced("legislation_billstage"),
            models.UniqueConstraint(
                fields=["bill", "house", "stage", "on"],
                name="legislation_billstage_once",
                violation_error_message="This stage is already recorded for that day.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}, {self.get_house_display()}, {self.on}"


@tracked("ActHistory")
class Act(models.Model):
    """An Act of Parliament, e.g. the Offensive Weapons Act 2019 (c. 17)."""

    slug = models.SlugField(
        "slug",
        max_length=120,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “offensive-weapons-act-2019”.",
    )
    title = models.CharField(
        "title", max_length=300, help_text="e.g. “Offensive Weapons Act 2019”."
    )
    citation = models.CharField(
        "citation", max_length=40, help_text="Its chapter number, e.g. “2019 c. 17”."
    )
    uri = models.URLField(
        "legislation.gov.uk URI",
        max_length=300,
        unique=True,
        help_text="Its identifier, e.g. “http://www.legislation.gov.uk/id/ukpga/2019/17”.",
    )
    url = models.URLField("URL", max_length=500, blank=True, help_text="Its text.")
    bill = models.OneToOneField(
        Bill,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="act",
        verbose_name="bill",
        help_text="The bill it was enacted from.",
    )
    royal_assent_on = models.DateField(
        "Royal Assent", null=True, blank=True, help_text="e.g. 2019-05-16."
    )
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["slug"]
        verbose_name = "Act"
        verbose_name_plural = "Acts"
        constraints = [slug_is_lowercase("legislation_act")]

    def __str__(self) -> str:
        return self.title


class ProvisionQuerySet(models.QuerySet["Provision"]):
    def for_api(self) -> ProvisionQuerySet:
        return self.select_related("act").prefetch_related(
            models.Prefetch("measures", queryset=_measures_only())
        )


def _measures_only() -> Any:
    from measures.models import Measure

    return Measure.objects.only("id", "slug", "title")


@tracked("ProvisionHistory")
class Provision(models.Model):
    """A section, group of sections or schedule of an Act, with its territorial extent:
    “s. 6, offence of having a corrosive substance in a public place, England and Wales”."""

    slug = models.SlugField(
        "slug",
        max_length=120,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “owa-2019-s-6”.",
    )
    act = models.ForeignKey(
        Act,
        on_delete=models.PROTECT,
        related_name="provisions",
        verbose_name="Act",
        help_text="The Act it is part of.",
    )
    reference = models.CharField(
        "reference",
        max_length=60,
        help_text="As a lawyer writes it, e.g. “s. 6”, “ss. 1-4”, “Sch. 1”, “Part 2 (ss. 14-33)”.",
    )
    title = models.CharField(
        "title",
        max_length=300,
        help_text="Its heading, e.g. “Offence of having a corrosive substance in a public place”.",
    )
    uri = models.URLField(
        "legislation.gov.uk URI",
        max_length=300,
        blank=True,
        help_text="e.g. “http://www.legislation.gov.uk/id/ukpga/2019/17/section/6”.",
    )
    extent = extent_field("The nations it extends to; empty if not recorded.")
    note = models.TextField("note", blank=True, help_text="Anything a reader should know.")
    source, quote, locator = (
        models.ForeignKey(
            Source,
            on_delete=models.PROTECT,
            null=True,
            blank=True,
            related_name="+",
            verbose_name="source",
            help_text="Where its title and extent were read.",
        ),
        *citation_fields()[1:],
    )
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    objects = ProvisionQuerySet.as_manager()

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["act_id", "id"]
        verbose_name = "provision"
        verbose_name_plural = "provisions"
        constraints = [
            slug_is_lowercase("legislation_provision"),
            extent_is_valid("legislation_provision"),
            cited_if_sourced("legislation_provision"),
        ]

    def __str__(self) -> str:
        return f"{self.act}, {self.reference}"

    @property
    def extent_label(self) -> str:
        return extent_label(self.extent)


class CommencementQuerySet(models.QuerySet["Commencement"]):
    def for_api(self) -> CommencementQuerySet:
        return self.select_related("act", "source").prefetch_related(
            models.Prefetch(
                "provisions", queryset=Provision.objects.only("id", "slug", "reference")
            )
        )


@tracked("CommencementHistory")
class Commencement(models.Model):
    """An instrument bringing provisions into force on a date, in some nations, optionally
    only in an area and until a date (a pilot): “SI 2021/762 brings Part 2 into force in the
    Metropolitan police district from 5 July 2021 to 31 March 2023”."""

    slug = models.SlugField(
        "slug",
        max_length=120,
        unique=True,
        help_text="Stable identifier used in URLs, e.g. “si-2022-418-reg-2-a”.",
    )
    act = models.ForeignKey(
        Act,
        on_delete=models.PROTECT,
        related_name="commencements",
        verbose_name="Act",
        help_text="The Act whose provisions it commences.",
    )
    instrument = models.CharField(
        "instrument", max_length=60, help_text="Its number, e.g. “SI 2022/418” or “SSI 2020/410”."
    )
    instrument_title = models.CharField(
        "instrument title",
        max_length=300,
        help_text="e.g. “The Offensive Weapons Act 2019 (Commencement No. 2 and Saving Provision) Regulations 2022”.",
    )
    instrument_uri = models.URLField(
        "instrument URI",
        max_length=300,
        blank=True,
        help_text="e.g. “http://www.legislation.gov.uk/id/uksi/2022/418”.",
    )
    made_on = models.DateField("made on", null=True, blank=True, help_text="e.g. 2022-03-31.")
    in_force_on = models.DateField(
        "in force on", help_text="The day the provisions come into force, e.g. 2022-04-06."
    )
    ends_on = models.DateField(
        "ends on",
        null=True,
        blank=True,
        help_text="The last day they are in force under it, for a pilot, e.g. 2023-03-31.",
    )
    extent = extent_field("The nations where it brings them into force.")
    area = models.CharField(
        "area",
        max_length=200,
        blank=True,
        db_default="",
        help_text="An area within those nations, for a pilot, e.g. “Metropolitan police district”.",
    )
    provisions = models.ManyToManyField(
        Provision,
        related_name="commencements",
        verbose_name="provisions",
        help_text="What it brings into force.",
    )
    source, quote, locator = citation_fields()
    note = models.TextField("note", blank=True, help_text="Anything a reader should know.")
    updated_at = models.DateTimeField("updated at", auto_now=True, db_default=Now())

    objects = CommencementQuerySet.as_manager()

    fixed_once_created: ClassVar[tuple[str, ...]] = FIXED_ONCE_CREATED

    class Meta:
        ordering = ["in_force_on", "id"]
        verbose_name = "commencement"
        verbose_name_plural = "commencements"
        constraints = [
            slug_is_lowercase("legislation_commencement"),
            extent_is_valid("legislation_commencement"),
            cited_if_sourced("legislation_commencement"),
            FieldCheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=F("in_force_on")),
                name="legislation_commencement_period_in_order",
                field="ends_on",
                violation_error_message="It cannot end before it comes into force.",
            ),
        ]
        indexes = [models.Index(fields=["in_force_on"], name="legislation_commence_on")]

    def __str__(self) -> str:
        return f"{self.instrument}: in force {self.in_force_on}"

    @property
    def extent_label(self) -> str:
        return extent_label(self.extent)
