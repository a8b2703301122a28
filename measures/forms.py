"""Admin forms: editing a measure without overwriting a colleague's edit, and recording a
status event with its evidence."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils import timezone

from legislation.choices import DatePrecision, Extent
from measures.choices import AXIS_VALUES, Axis
from measures.models import EventCitation, Measure, StatusEvent
from measures.services import (
    MEASURE_WRITABLE_FIELDS,
    CitationInput,
    StaleVersionError,
    measure_lock,
)
from strategy.models import Source

STALE_MESSAGE = (
    "Someone else saved this measure while you were editing it ({who}, version {current}; "
    "you opened version {expected}). Your changes were not saved. Open the measure again to "
    "see their changes, then re-apply yours."
)


def last_editor(measure: Measure) -> str:
    """Who made the latest recorded change of the measure, from the audit trail."""
    latest = measure.history.order_by("-pgh_created_at").select_related("pgh_context").first()  # type: ignore[attr-defined]
    if latest is None:
        return "unknown"
    when = timezone.localtime(latest.pgh_created_at).strftime("%d %b %Y %H:%M")
    user_id = (latest.pgh_context.metadata or {}).get("user") if latest.pgh_context else None
    if user_id is None:
        return f"at {when}"
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id).first()
    return f"{user.get_username() if user else 'a deleted user'} at {when}"


class MeasureAdminForm(forms.ModelForm):
    """Carries the version the researcher opened; saving over a newer version is refused,
    with the name of whoever saved it."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Measure
        fields = list(MEASURE_WRITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        expected = cleaned.get("expected_version")
        if self.instance.pk and expected is not None:
            # The admin wraps the whole save in a transaction, so the lock is held until the
            # edit is written: no other save can slip in between check and write. The
            # service says whether the version is stale; this says it in the admin's words.
            try:
                measure_lock(measure=self.instance, expected_version=expected)
            except StaleVersionError as error:
                raise ValidationError(
                    STALE_MESSAGE.format(
                        who=last_editor(self.instance),
                        current=error.current,
                        expected=error.expected,
                    ),
                    code="stale_version",
                ) from error
        return cleaned


def _value_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (
            str(axis.label),
            [(f"{axis.value}:{value}", str(label)) for value, label in AXIS_VALUES[axis].choices],
        )
        for axis in Axis
    ]


class EventChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.pk}: {obj.get_axis_display()} → {obj.value_label} on {obj.effective_on:%d %b %Y}"


class RecordEventForm(forms.Form):
    """A status event with at least one citation. The choice of value names its axis
    (stage, verdict or delivery confidence)."""

    change = forms.ChoiceField(
        label="New value",
        choices=_value_choices,
        help_text="The stage, verdict or delivery confidence the measure moved to.",
    )
    effective_on = forms.DateField(
        label="Effective on",
        widget=AdminDateWidget,
        help_text=(
            "When it became (or becomes) true in the world, e.g. the commencement date; a "
            "future date records a scheduled change. Known only to the month or year: its "
            "last day."
        ),
    )
    effective_on_precision = forms.TypedChoiceField(
        label="Date known to the",
        choices=DatePrecision.choices,
        initial=DatePrecision.DAY,
        required=False,
        empty_value=DatePrecision.DAY,
        help_text="How much of the date the evidence gives.",
    )
    extent = forms.TypedMultipleChoiceField(
        label="Applies in",
        choices=Extent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick the nations it is limited to; none ticked: not limited.",
    )
    area = forms.CharField(
        required=False,
        max_length=200,
        help_text="Only for a change limited to an area (a pilot), e.g. “Metropolitan police district”.",
    )
    ends_on = forms.DateField(
        label="Ends on",
        required=False,
        widget=AdminDateWidget,
        help_text="Only if it is known to end (a pilot): the last day it holds.",
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Why the value changed, e.g. “SI 2022/418 commenced section 6”.",
    )
    supersedes = EventChoiceField(
        queryset=StatusEvent.objects.none(),
        required=False,
        label="Corrects",
        help_text="Only for a correction: the earlier event this one replaces. It stays in the history.",
    )
    source = forms.ModelChoiceField(
        queryset=Source.objects.all(),
        widget=AutocompleteSelect(EventCitation._meta.get_field("source"), admin.site),
        help_text="Where the evidence is. Add a source first if it is new.",
    )
    quote = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text="The passage that supports the event.",
    )
    locator = forms.CharField(
        required=False, max_length=300, help_text="Or where in the source, e.g. “reg. 2(b)”."
    )
    second_source = forms.ModelChoiceField(
        queryset=Source.objects.all(),
        required=False,
        widget=AutocompleteSelect(EventCitation._meta.get_field("source"), admin.site),
        help_text="Optional second piece of evidence.",
    )
    second_quote = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 80})
    )
    second_locator = forms.CharField(required=False, max_length=300)

    def __init__(self, *args: Any, measure: Measure, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.measure = measure
        self.fields["supersedes"].queryset = (  # type: ignore[attr-defined]
            StatusEvent.objects.filter(measure=measure)
            .standing()
            .order_by("-effective_on", "-recorded_at")
        )

    @property
    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The form's fields in the two groups the page shows."""
        groups = {
            "What changed": [
                "change",
                "effective_on",
                "effective_on_precision",
                "rationale",
                "supersedes",
            ],
            "Where and until when": ["extent", "area", "ends_on"],
            "Evidence": [
                "source",
                "quote",
                "locator",
                "second_source",
                "second_quote",
                "second_locator",
            ],
        }
        return [(title, [self[name] for name in names]) for title, names in groups.items()]

    def add_service_errors(self, error: ValidationError) -> None:
        """Show what ``status_event_record`` refused next to the field it is about."""
        for key, messages in error.message_dict.items():
            for message in messages:
                self.add_error(self._field_for(key), message)

    def _field_for(self, key: str) -> str | None:
        if key in ("axis", "value"):
            return "change"
        if key == "citations":
            return "source"
        if key.startswith("citations."):
            _, index, name = key.split(".", 2)
            key = name if index == "0" else f"second_{name}"
        return key if key in self.fields else None

    @property
    def axis_and_value(self) -> tuple[str, str]:
        axis, value = self.cleaned_data["change"].split(":", 1)
        return axis, value

    def citations(self) -> list[CitationInput]:
        data = self.cleaned_data
        result = [
            CitationInput(source=data["source"], quote=data["quote"], locator=data["locator"])
        ]
        if data.get("second_source"):
            result.append(
                CitationInput(
                    source=data["second_source"],
                    quote=data["second_quote"],
                    locator=data["second_locator"],
                )
            )
        return result


class RetractEventForm(forms.Form):
    """Why a status event should not have been recorded, with evidence if there is any."""

    rationale = forms.CharField(
        label="Why it is retracted",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="E.g. “Recorded against the wrong measure: this Royal Assent is the Act's other measure.”",
    )
    source = forms.ModelChoiceField(
        queryset=Source.objects.all(),
        required=False,
        widget=AutocompleteSelect(EventCitation._meta.get_field("source"), admin.site),
        help_text="Optional: a source that shows the event was wrong.",
    )
    quote = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 80}),
        help_text="The passage that shows it.",
    )
    locator = forms.CharField(
        required=False, max_length=300, help_text="Or where in the source, e.g. “para. 4”."
    )

    def citations(self) -> list[CitationInput]:
        data = self.cleaned_data
        if not data.get("source"):
            return []
        return [CitationInput(source=data["source"], quote=data["quote"], locator=data["locator"])]

    def add_service_errors(self, error: ValidationError) -> None:
        """Show what ``status_event_retract`` refused: the citation's fields beside them, the
        rest (the event was already corrected, a move left behind) above the form."""
        for key, messages in error.message_dict.items():
            field = key.rsplit(".", 1)[-1] if key.startswith("citations.") else key
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
