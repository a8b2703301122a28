"""URLs: the admin, the API v1, its OpenAPI document with Swagger UI and Redoc."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from rest_framework.routers import DefaultRouter

from config import health
from config.api import docs, problems
from config.api.views import SLUG_LOOKUP
from legislation.views import BillViewSet, CommencementViewSet, ProvisionViewSet
from measures.views import (
    ChangeFeedViewSet,
    FundingLineViewSet,
    MeasureEventViewSet,
    MeasureViewSet,
    StrategyReportViewSet,
)
from strategy.views import OrganisationViewSet, SourceViewSet, StrategyViewSet
from webhooks.views import WebhookDeliveryViewSet, WebhookViewSet

router = DefaultRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
# The reports share the strategies' prefix; the root lists a prefix by the last view set
# registered under it, which must be the one with a list.
router.register("strategies", StrategyReportViewSet, basename="strategy-report")
router.register("strategies", StrategyViewSet, basename="strategy")
router.register("sources", SourceViewSet, basename="source")
router.register("measures", MeasureViewSet, basename="measure")
router.register(
    rf"measures/(?P<measure_slug>{SLUG_LOOKUP})/events",
    MeasureEventViewSet,
    basename="measure-event",
)
router.register("funding-lines", FundingLineViewSet, basename="fundingline")
router.register("changes", ChangeFeedViewSet, basename="change")
router.register("bills", BillViewSet, basename="bill")
router.register("provisions", ProvisionViewSet, basename="provision")
router.register("commencements", CommencementViewSet, basename="commencement")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register(
    r"webhooks/(?P<webhook_pk>[0-9]+)/deliveries",
    WebhookDeliveryViewSet,
    basename="webhook-delivery",
)


class FaviconView(RedirectView):
    """``/favicon.ico``, which browsers ask for whatever a page links, is the tracker's icon
    under its static (hashed, long-cached) URL."""

    permanent = True

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("tracker/favicon.ico")


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/schema/", docs.SchemaView.as_view(), name="schema"),
    path("api/docs/", docs.SwaggerUIView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", docs.RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/problems/<slug:slug>/", problems.describe_problem_type, name="problem-type"),
    path("", include("reader.urls")),
]

handler400 = "config.api.problems.bad_request"
handler403 = "config.api.problems.permission_denied"
handler404 = "config.api.problems.not_found"
handler500 = "config.api.problems.server_error"
