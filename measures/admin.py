"""The researchers' admin: measures with their timeline and a form to record an event,
funding lines, strategies with their money chart, and a read-only list of all events.
Every write goes through measures.services, like the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pghistory.admin
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import DecimalField, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from import_export.admin import ImportExportModelAdmin

from measures import reports
from measures.charts import money_by_phase_svg, stage_timeline_svg
from measures.choices import Axis, FundingPhase, Stage
from measures.forms import MeasureAdminForm, RecordEventForm
from measures.models import EventCitation, FundingLine, Measure, StatusEvent
from measures.resources import FundingLineResource, MeasureResource
from measures.services import (
    StaleVersionError,
    funding_line_create,
    funding_line_update,
    measure_create,
    measure_update,
    status_event_record,
)
from strategy.models import Strategy

PHASES_SHOWN = [FundingPhase.ANNOUNCED, FundingPhase.ALLOCATED, FundingPhase.SPENT]


def money(amount: Decimal | None) -> str:
    if amount is None:
        return "-"
    if amount >= 1_000_000:
        return f"£{amount / 1_000_000:,.2f}m"
    return f"£{amount:,.0f}"


class OverdueFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("no", "Not overdue")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(is_overdue=True)
        if self.value() == "no":
            return queryset.filter(is_overdue=False)
        return queryset


def event_timeline(measure: Measure) -> list[StatusEvent]:
    return list(
        measure.events.select_related("recorded_by", "supersedes")
        .prefetch_related(
            Prefetch("citations", queryset=EventCitation.objects.select_related("source")),
            "superseded_by",
        )
        .order_by("-effective_on", "-recorded_at", "-id")
    )


@admin.register(Measure)
class MeasureAdmin(ImportExportModelAdmin):
    form = MeasureAdminForm
    resource_classes = [MeasureResource]
    change_form_template = "admin/measures/measure/change_form.html"
    list_display = [
        "title",
        "strategy",
        "stage",
        "verdict",
        "confidence",
        "lead_organisation",
        "money_per_phase",
        "target_on",
        "overdue",
    ]
    list_filter = [
        "stage",
        "verdict",
        "confidence",
        OverdueFilter,
        "instrument",
        "strategy",
        "category",
        ("lead_organisation", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "slug", "summary", "legal_vehicle", "category"]
    autocomplete_fields = ["strategy", "lead_organisation"]
    list_select_related = ["strategy", "lead_organisation"]
    ordering = ["strategy__title", "title"]
    list_per_page = 50
    readonly_fields = [
        "stage",
        "stage_since",
        "verdict",
        "confidence",
        "version",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["slug", "strategy", "title", "summary", "category"]}),
        (
            "Delivery",
            {"fields": ["lead_organisation", "instrument", "legal_vehicle", "target_on"]},
        ),
        (
            "Status (from the event history; record an event to change it)",
            {"fields": ["stage", "stage_since", "verdict", "confidence"]},
        ),
        (
            "Record",
            {
                "fields": ["version", "created_at", "updated_at", "expected_version"],
                "classes": ["collapse"],
            },
        ),
    ]
    prepopulated_fields = {"slug": ("title",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Measure]:
        queryset: Any = super().get_queryset(request)
        totals = {}
        for phase in PHASES_SHOWN:
            lines = (
                FundingLine.objects.filter(
                    measure=OuterRef("pk"), phase=phase, parent__measure__isnull=True
                )
                .values("measure")
                .annotate(total=Sum("amount"))
                .values("total")
            )
            totals[f"money_{phase}"] = Subquery(
                lines, output_field=DecimalField(max_digits=18, decimal_places=2)
            )
        return queryset.with_overdue().annotate(**totals)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A slug is part of public URLs: fixed once the measure exists.
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj else dict(self.prepopulated_fields)

    @admin.display(description="Money", ordering=None)
    def money_per_phase(self, measure: Any) -> str:
        parts = [
            f"{FundingPhase(phase).label} {money(getattr(measure, f'money_{phase}', None))}"
            for phase in PHASES_SHOWN
            if getattr(measure, f"money_{phase}", None) is not None
        ]
        return " · ".join(parts) or "-"

    @admin.display(description="Overdue", boolean=True, ordering="is_overdue")
    def overdue(self, measure: Any) -> bool:
        return bool(getattr(measure, "is_overdue", False))

    def save_model(self, request: HttpRequest, obj: Measure, form: Any, change: bool) -> None:
        values = {
            name: form.cleaned_data[name]
            for name in MeasureAdminForm.Meta.fields
            if name in form.cleaned_data
        }
        if not change:
            created = measure_create(fields=values)
            obj.pk = created.pk
            obj.__dict__.update(created.__dict__)
            return
        values.pop("slug", None)
        try:
            measure_update(
                measure=obj,
                fields=values,
                expected_version=form.cleaned_data.get("expected_version"),
            )
        except StaleVersionError as error:
            # The form's lock makes this unreachable in practice; keep the message if not.
            raise ValidationError(str(error)) from error

    # The timeline and the event form ---------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/record-event/",
                self.admin_site.admin_view(self.record_event_view),
                name="measures_measure_record_event",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        measure = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if measure is not None:
            events = event_timeline(measure)
            stage_changes = sorted(
                (e.effective_on, e.value)
                for e in events
                if e.axis == Axis.STAGE and not e.superseded_by.all()
            )
            context.update(
                timeline=events,
                timeline_svg=stage_timeline_svg(stage_changes, until=timezone.localdate()),
                can_record_event=request.user.has_perm("measures.add_statusevent"),
                record_event_url=reverse("admin:measures_measure_record_event", args=[measure.pk]),
            )
        return super().change_view(request, object_id, form_url, extra_context=context)

    def record_event_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        measure = get_object_or_404(Measure.objects.select_related("strategy"), pk=object_id)
        if not request.user.has_perm("measures.add_statusevent"):
            raise PermissionDenied
        initial: dict[str, Any] = {"effective_on": timezone.localdate()}
        corrected = None
        if request.method == "GET" and request.GET.get("supersedes", "").isdigit():
            corrected = StatusEvent.objects.filter(
                measure=measure, pk=request.GET["supersedes"]
            ).first()
            if corrected is not None:
                initial.update(
                    supersedes=corrected.pk,
                    change=f"{corrected.axis}:{corrected.value}",
                    effective_on=corrected.effective_on,
                )
        form = RecordEventForm(request.POST or None, measure=measure, initial=initial)
        if request.method == "POST" and form.is_valid():
            axis, value = form.axis_and_value
            try:
                event = status_event_record(
                    measure=measure,
                    axis=axis,
                    value=value,
                    effective_on=form.cleaned_data["effective_on"],
                    rationale=form.cleaned_data["rationale"],
                    citations=form.citations(),
                    supersedes=form.cleaned_data.get("supersedes"),
                    recorded_by=request.user,
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    target = (
                        field
                        if field in form.fields
                        else ("change" if field in ("value", "axis") else None)
                    )
                    for message in errors:
                        form.add_error(target, message)
            else:
                verb = "Correction" if event.supersedes_id else "Event"
                self.message_user(
                    request,
                    f"{verb} recorded: {event.get_axis_display()} → {event.value_label} on {event.effective_on:%d %b %Y}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:measures_measure_change", args=[measure.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Correct an event of' if corrected or form['supersedes'].value() else 'Record a status event for'}: {measure.title}",
            "opts": self.model._meta,
            "original": measure,
            "measure": measure,
            "form": form,
            "media": self.media + form.media,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/measures/measure/record_event.html", context)


class EventCitationInline(admin.TabularInline):
    model = EventCitation
    fields = ("source", "quote", "locator")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StatusEvent)
class StatusEventAdmin(admin.ModelAdmin):
    """Every event of every measure, read-only: events are recorded and corrected from
    the measure's page, and never edited."""

    list_display = [
        "effective_on",
        "measure",
        "axis",
        "value_label",
        "recorded_at",
        "recorded_by",
        "corrected",
    ]
    list_filter = ["axis", "value", "effective_on", "recorded_at"]
    search_fields = ["measure__title", "measure__slug", "rationale"]
    list_select_related = ["measure", "recorded_by"]
    date_hierarchy = "effective_on"
    ordering = ["-recorded_at"]
    inlines = [EventCitationInline]
    fields = (
        "measure",
        "axis",
        "value",
        "effective_on",
        "recorded_at",
        "recorded_by",
        "rationale",
        "supersedes",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatusEvent]:
        return super().get_queryset(request).prefetch_related("superseded_by")

    @admin.display(description="Value")
    def value_label(self, event: StatusEvent) -> str:
        return event.value_label

    @admin.display(description="Corrected", boolean=True)
    def corrected(self, event: StatusEvent) -> bool:
        return bool(event.superseded_by.all())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FundingLine)
class FundingLineAdmin(ImportExportModelAdmin):
    resource_classes = [FundingLineResource]
    list_display = [
        "title",
        "amount_shown",
        "phase",
        "period_label",
        "measure",
        "strategy",
        "novelty",
        "funder",
        "recipient",
    ]
    list_filter = ["phase", "novelty", "strategy", "currency"]
    search_fields = ["title", "notes", "measure__title", "quote"]
    autocomplete_fields = ["strategy", "measure", "parent", "funder", "recipient", "source"]
    list_select_related = ["strategy", "measure", "funder", "recipient"]
    ordering = ["strategy__title", "period_start", "title"]
    readonly_fields = ["recorded_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["strategy", "measure", "parent", "title"]}),
        ("Money", {"fields": ["amount", "currency", "phase", "novelty"]}),
        ("Period", {"fields": ["period_start", "period_end", "period_label"]}),
        ("Who", {"fields": ["funder", "recipient"]}),
        ("Evidence", {"fields": ["source", "quote", "locator", "notes"]}),
        (
            "Record",
            {"fields": ["recorded_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, line: FundingLine) -> str:
        return f"{line.currency} {line.amount:,.2f}"

    def save_model(self, request: HttpRequest, obj: FundingLine, form: Any, change: bool) -> None:
        values = {
            name: form.cleaned_data[name] for name in form.cleaned_data if name in form.fields
        }
        if change:
            funding_line_update(line=obj, fields=values)
        else:
            created = funding_line_create(fields=values, recorded_by=request.user)
            obj.pk = created.pk


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    change_form_template = "admin/measures/strategy/change_form.html"
    list_display = ["title", "owner", "published_on"]
    list_filter = ["owner", "published_on"]
    search_fields = ["title", "slug", "summary"]
    autocomplete_fields = ["owner", "source"]
    list_select_related = ["owner"]
    ordering = ["-published_on"]
    readonly_fields = ["created_at", "updated_at"]
    prepopulated_fields = {"slug": ("title",)}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "slug"] if obj else list(self.readonly_fields)

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj else dict(self.prepopulated_fields)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        strategy = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if strategy is not None:
            summary = reports.strategy_summary(strategy, as_of=None)
            funding = summary["funding"]
            context.update(
                summary=summary,
                stage_rows=[
                    (Stage(stage).label if stage in Stage.values else "No stage yet", count)
                    for stage, count in summary["by_stage"].items()
                    if count
                ],
                money_svg=money_by_phase_svg(
                    [
                        ("All money (each sum counted once)", funding["by_phase"]),
                        ("Strategy-wide envelope", funding["envelope"]),
                        ("Drawn from the envelope", funding["drawn_from_envelope"]),
                        (
                            "Attached to measures, outside the envelope",
                            funding["allocated_to_measures"],
                        ),
                    ]
                ),
                measures_url=reverse("admin:measures_measure_changelist")
                + f"?strategy__id__exact={strategy.pk}",
            )
        return super().change_view(request, object_id, form_url, extra_context=context)


class AuditEventAdmin(pghistory.admin.EventsAdmin):
    """The audit trail of every tracked table: when, what, who, from where, and the change
    against the previous version of the row."""

    list_display = ["pgh_created_at", "object", "pgh_label", "who", "where", "changes"]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.list_display

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._usernames: dict[Any, str] = {}
        return super().changelist_view(request, extra_context)

    @admin.display(description="Object")
    def object(self, event: Any) -> str:
        return f"{event.pgh_obj_model.split('.')[-1]} #{event.pgh_obj_id}"

    @admin.display(description="Who")
    def who(self, event: Any) -> str:
        user_id = (event.pgh_context or {}).get("user")
        if user_id is None:
            return "- (no request: seed, import command or SQL)"
        if user_id not in self._usernames:
            user = get_user_model().objects.filter(pk=user_id).first()
            self._usernames[user_id] = user.get_username() if user else f"deleted user {user_id}"
        return self._usernames[user_id]

    @admin.display(description="Where")
    def where(self, event: Any) -> str:
        return str((event.pgh_context or {}).get("url") or "-")

    @admin.display(description="Change")
    def changes(self, event: Any) -> str:
        diff = event.pgh_diff or {}
        hidden = {"updated_at", "version"}
        parts = [
            f"{name}: {before!r} → {after!r}"
            for name, (before, after) in diff.items()
            if name not in hidden
        ]
        return "; ".join(parts) or ("created" if event.pgh_label == "insert" else "-")
