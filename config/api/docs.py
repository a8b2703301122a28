"""The pages that document the API: Swagger UI, Redoc and the OpenAPI document itself.
drf-spectacular's views, answering only GET and HEAD, with errors as problem documents
like every other endpoint (their HTML renderer has no template for an error)."""

from __future__ import annotations

from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from config.api.views import ProblemResponsesMixin

READ_ONLY = ["get", "head"]


class SchemaView(ProblemResponsesMixin, SpectacularAPIView):
    http_method_names = READ_ONLY


class SwaggerUIView(ProblemResponsesMixin, SpectacularSwaggerSplitView):
    http_method_names = READ_ONLY


class RedocView(ProblemResponsesMixin, SpectacularRedocView):
    http_method_names = READ_ONLY
