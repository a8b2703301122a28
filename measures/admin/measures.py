"""Measures: the list with status and money, a measure's page with its timeline, and the
form that records or corrects a status event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import DecimalField, OuterRef, QuerySet, Subquery, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import conditional_escape, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from legislation.queries import legislation_chain
from legislation.services import measure_set_provisions
from measures.charts import format_money, stage_timeline_svg
from measures.choices import Axis, Confidence, FundingPhase, Stage, Verdict
from measures.forms import MeasureAdminForm, RecordEventForm, RetractEventForm
from measures.models import FundingLine, Measure, MeasureProvision, StatusEvent
from measures.resources import MeasureResource
from measures.search import search_measures
from measures.services import (
    measure_create,
    measure_update,
    refresh_expired_statuses,
    status_event_record,
    status_event_retract,
)
from strategy.admin import ServiceAdminMixin, SpreadsheetAdmin

PHASES_SHOWN = [FundingPhase.ANNOUNCED, FundingPhase.ALLOCATED, FundingPhase.SPENT]


# How the preview names what each valid row does (django-import-export's words).
ROW_DOES = {"new": _("New"), "skip": _("Skipped"), "delete": _("Delete"), "update": _("Update")}


def preview_table_rows(result: Any) -> SafeString:
    """The rows of the preview of a valid file, as django-import-export's template writes
    them, in one pass: a file of ten thousand rows is a table of ten thousand rows."""
    return mark_safe(  # noqa: S308 - each cell is a SafeString escaped by the row's diff
        "".join(
            f'<tr class="{row.import_type}"><td class="import-type">'
            f"{conditional_escape(ROW_DOES.get(row.import_type, ''))}</td>"
            + "".join(f"<td>{conditional_escape(cell)}</td>" for cell in row.diff or ())
            + "</tr>"
            for row in result.valid_rows()
        )
    )


class WholeFileImportMixin:
    """The import of a file checked as a whole (``WholeFileResource``). Its preview's
    table is written in one pass (``preview_table_rows``). If the file no longer passes at
    the confirm step (the record changed since its preview), nothing was written: say so,
    and go back to the import page, instead of reporting an import of nothing."""

    model: Any

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        response = super().import_action(request, **kwargs)  # type: ignore[misc]
        context = getattr(response, "context_data", None) or {}
        result = context.get("result")
        if result is not None and not (result.has_errors() or result.has_validation_errors()):
            context["preview_table_rows"] = preview_table_rows(result)
        return response

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        if result.has_errors() or result.has_validation_errors():
            self.message_user(  # type: ignore[attr-defined]
                request,
                "Nothing was imported: the file no longer passes its checks (the record has "
                "changed since the preview). Upload it again to see which rows to correct.",
                messages.ERROR,
            )
            meta = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_import"))
        return super().process_result(result, request)  # type: ignore[misc]


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


def money_trail(measure: Measure) -> list[FundingLine]:
    """The measure's funding lines in the order the money moved, each with the envelope it
    is drawn from and the lines it realises or is realised by."""
    return list(
        FundingLine.objects.filter(measure=measure)
        .select_related("parent", "realises", "source")
        .prefetch_related("realised_by")
        .order_by("announced_on", "id")
    )


class MeasureProvisionInline(admin.TabularInline):
    model = MeasureProvision
    fields = ("provision",)
    autocomplete_fields = ["provision"]
    extra = 0
    verbose_name = "provision carrying it"
    verbose_name_plural = "Law: the provisions carrying it"


def event_timeline(measure: Measure) -> list[StatusEvent]:
    return list(StatusEvent.objects.for_api().filter(measure=measure).in_effect_order())


@admin.register(Measure)
class MeasureAdmin(ServiceAdminMixin, WholeFileImportMixin, SpreadsheetAdmin):
    form = MeasureAdminForm
    resource_classes = [MeasureResource]
    change_form_template = "admin/measures/measure/change_form.html"
    # Short headers and no strategy column (it is a filter), so that the list fits a
    # 1366 px screen beside the navigation and the filters.
    list_display = [
        "title",
        "stage_now",
        "verdict_now",
        "confidence_now",
        "lead",
        "money_per_phase",
        "target",
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
    # What the search reads; the search itself is the API's (``get_search_results``).
    search_fields = ["title", "summary", "legal_vehicle", "category"]
    search_help_text = (
        "Finds other forms of a word (knife: knives), the start of the last word (kni) and "
        'small typos (zombei). "A phrase", OR and -word work as in a web search.'
    )
    autocomplete_fields = ["strategy", "lead_organisation"]
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
    inlines = [MeasureProvisionInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # The links are set through the service, as a whole: the ones kept and added.
        if formset.model is not MeasureProvision:
            super().save_formset(request, form, formset, change)
            return
        wanted = [
            inline.cleaned_data["provision"]
            for inline in formset.forms
            if inline.cleaned_data.get("provision") and not formset._should_delete_form(inline)
        ]
        measure_set_provisions(form.instance, wanted)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Measure]:
        queryset: Any = super().get_queryset(request).for_api()
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
        return queryset.with_current_status().with_overdue(None, "stage_then").annotate(**totals)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # The same search as the API's ``q``, so that both find the same measures.
        if not search_term.strip():
            return queryset, False
        return search_measures(queryset, search_term), False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # The list filters on the cached status: bring any expired cache up to date first
        # (usually nothing to do; see ``refresh_expired_statuses``).
        refresh_expired_statuses()
        return super().changelist_view(request, extra_context)

    @admin.display(description="Stage", ordering="stage_then")
    def stage_now(self, measure: Any) -> str:
        return Stage(measure.stage_then).label if measure.stage_then else "-"

    @admin.display(description="Verdict", ordering="verdict_then")
    def verdict_now(self, measure: Any) -> str:
        return Verdict(measure.verdict_then).label if measure.verdict_then else "-"

    @admin.display(description="Confidence", ordering="confidence_then")
    def confidence_now(self, measure: Any) -> str:
        return Confidence(measure.confidence_then).label if measure.confidence_then else "-"

    @admin.display(description="Lead", ordering="lead_organisation__name")
    def lead(self, measure: Measure) -> str:
        return measure.lead_organisation.name if measure.lead_organisation else "-"

    @admin.display(description="Money", ordering=None)
    def money_per_phase(self, measure: Any) -> str:
        # One phase a line, so that the column stays narrow.
        parts = [
            (FundingPhase(phase).label, format_money(getattr(measure, f"money_{phase}", None)))
            for phase in PHASES_SHOWN
            if getattr(measure, f"money_{phase}", None) is not None
        ]
        return format_html_join(mark_safe("<br>"), "{} {}", parts) or "-"

    @admin.display(description="Target", ordering="target_on")
    def target(self, measure: Measure) -> str:
        return date_format(measure.target_on, "j M Y") if measure.target_on else "-"

    @admin.display(description="Overdue", boolean=True, ordering="is_overdue")
    def overdue(self, measure: Any) -> bool:
        return bool(getattr(measure, "is_overdue", False))

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> Measure:
        return measure_create(fields=fields)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> Measure:
        # The form has locked the row and checked the version; the service checks again.
        return measure_update(
            measure=obj, fields=fields, expected_version=form.cleaned_data.get("expected_version")
        )

    # The timeline and the event form ---------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/record-event/",
                self.admin_site.admin_view(self.record_event_view),
                name="measures_measure_record_event",
            ),
            path(
                "<path:object_id>/events/<int:event_id>/retract/",
                self.admin_site.admin_view(self.retract_event_view),
                name="measures_measure_retract_event",
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
                (e.effective_on, e.value) for e in events if e.axis == Axis.STAGE and e.stands
            )
            context.update(
                legislation=legislation_chain(measure),
                money_trail=money_trail(measure),
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
                    effective_on_precision=corrected.effective_on_precision,
                    extent=corrected.extent,
                    area=corrected.area,
                    ends_on=corrected.ends_on,
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
                    effective_on_precision=form.cleaned_data["effective_on_precision"],
                    extent=form.cleaned_data["extent"],
                    area=form.cleaned_data["area"],
                    ends_on=form.cleaned_data["ends_on"],
                    rationale=form.cleaned_data["rationale"],
                    citations=form.citations(),
                    supersedes=form.cleaned_data.get("supersedes"),
                    recorded_by=request.user,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                verb = "Correction" if event.supersedes_id else "Event"
                self.message_user(
                    request,
                    f"{verb} recorded: {event.get_axis_display()} → {event.value_label} on {event.effective_on_label}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:measures_measure_change", args=[measure.pk])
                )
        title = (
            "Correct an event of"
            if corrected or form["supersedes"].value()
            else "Record a status event for"
        )
        return self.event_page(request, "record_event", measure, form, f"{title}: {measure.title}")

    def retract_event_view(
        self, request: HttpRequest, object_id: str, event_id: int
    ) -> HttpResponse:
        measure = get_object_or_404(Measure.objects.select_related("strategy"), pk=object_id)
        if not request.user.has_perm("measures.add_statusevent"):
            raise PermissionDenied
        event = get_object_or_404(StatusEvent.objects.for_api(), measure=measure, pk=event_id)
        form = RetractEventForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                status_event_retract(
                    event=event,
                    rationale=form.cleaned_data["rationale"],
                    citations=form.citations(),
                    recorded_by=request.user,
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                self.message_user(
                    request,
                    f"Event #{event.pk} retracted: {event.get_axis_display()} → "
                    f"{event.value_label} on {event.effective_on_label} no longer counts.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:measures_measure_change", args=[measure.pk])
                )
        return self.event_page(
            request,
            "retract_event",
            measure,
            form,
            f"Retract an event of: {measure.title}",
            event=event,
        )

    def event_page(
        self,
        request: HttpRequest,
        template: str,
        measure: Measure,
        form: forms.Form,
        title: str,
        **extra: Any,
    ) -> TemplateResponse:
        """A page of the measure's with a form about its events (record, correct, retract)."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": measure,
            "measure": measure,
            "form": form,
            "media": self.media + form.media,
            "is_popup": IS_POPUP_VAR in request.GET,
            "has_view_permission": True,
            **extra,
        }
        return TemplateResponse(request, f"admin/measures/measure/{template}.html", context)
