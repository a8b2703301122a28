"""Atom feeds of a strategy's and a measure's changes: each status event as it was
recorded, newest first, with its evidence. A correction is an entry of its own that says
what it corrects."""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from measures.models import Measure, StatusEvent
from reader.views import not_found
from strategy.models import Strategy

ENTRIES = 50
AUTHOR = "Policy Measure Tracker"


class ChangesFeed(Feed):
    """What the strategy and measure feeds share: one entry per status event."""

    feed_type = Atom1Feed
    author_name = AUTHOR

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except Http404:
            return not_found(request)

    def events(self) -> QuerySet[StatusEvent]:
        return StatusEvent.objects.for_api().order_by("-recorded_at", "-id")

    def item_title(self, item: StatusEvent) -> str:
        change = (
            f"{item.measure.title}: {item.get_axis_display().lower()} "
            f"{item.value_label} from {item.effective_on_label}"
        )
        if item.is_retraction:
            return f"Retraction. {change}"
        return f"Correction. {change}" if item.supersedes_id else change

    def item_link(self, item: StatusEvent) -> str:
        return f"{reverse('reader:measure', kwargs={'slug': item.measure.slug})}#event-{item.pk}"

    def item_description(self, item: StatusEvent) -> str:
        evidence = format_html_join(
            "",
            '<blockquote><p>“{}”</p><footer>{} <a href="{}">{}</a>{}</footer></blockquote>',
            (
                (
                    citation.quote or citation.locator,
                    citation.source.publisher,
                    citation.source.url,
                    citation.source.title,
                    f", {citation.locator}" if citation.locator and citation.quote else "",
                )
                for citation in item.citations.all()
            ),
        )
        verb = "withdraws" if item.is_retraction else "corrects"
        corrects = (
            format_html("<p>This {} an earlier event (#{}).</p>", verb, item.supersedes_id)
            if item.supersedes_id
            else ""
        )
        return format_html(
            "<p>{}</p>{}{}<p>In effect from {}; applies: {}.</p>",
            item.rationale,
            corrects,
            evidence,
            item.effective_on_label,
            item.scope_label,
        )

    def item_updateddate(self, item: StatusEvent) -> datetime.datetime:
        return item.recorded_at

    def item_pubdate(self, item: StatusEvent) -> datetime.datetime:
        return item.recorded_at


class StrategyChangesFeed(ChangesFeed):
    def get_object(self, request: HttpRequest, slug: str) -> Strategy:
        return Strategy.objects.get(slug=slug)

    def title(self, obj: Strategy) -> str:
        return f"Changes to {obj.title}"

    def subtitle(self, obj: Strategy) -> str:
        return "Each stage, verdict and confidence change of its measures, with its evidence."

    def link(self, obj: Strategy) -> str:
        return reverse("reader:strategy", kwargs={"slug": obj.slug})

    def feed_url(self, obj: Strategy) -> str:
        return reverse("reader:strategy-feed", kwargs={"slug": obj.slug})

    def items(self, obj: Strategy) -> list[StatusEvent]:
        return list(self.events().filter(measure__strategy=obj)[:ENTRIES])


class MeasureChangesFeed(ChangesFeed):
    def get_object(self, request: HttpRequest, slug: str) -> Measure:
        return Measure.objects.for_api().get(slug=slug)

    def title(self, obj: Measure) -> str:
        return f"Changes to {obj.title}"

    def subtitle(self, obj: Measure) -> str:
        return "Each stage, verdict and confidence change of this measure, with its evidence."

    def link(self, obj: Measure) -> str:
        return reverse("reader:measure", kwargs={"slug": obj.slug})

    def feed_url(self, obj: Measure) -> str:
        return reverse("reader:measure-feed", kwargs={"slug": obj.slug})

    def items(self, obj: Measure) -> list[StatusEvent]:
        return list(self.events().filter(measure=obj)[:ENTRIES])
