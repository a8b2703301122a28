"""The API in a browser: any API URL opened by a person (``Accept: text/html``) is shown
as a readable page of the same JSON, with its links, filters and pages. Clients that ask
for JSON, or for nothing in particular, keep getting JSON: this renderer comes after the
JSON one, so it is chosen only when HTML is what the request prefers.

The pages are for reading. Writing stays with JSON clients and the admin, so the page
has no forms: a form here would be a second way to write, with rules of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import renderers

from config.api.renderers import JSONRenderer


class ReadableAPIRenderer(renderers.BrowsableAPIRenderer):
    template = "rest_framework/tracker_api.html"

    def show_form_for_method(self, view: Any, method: str, request: Any, obj: Any) -> bool:
        return False

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None and response.has_header("ETag"):
            # The view's tag is that of the JSON; the page's own tag is computed from its
            # bytes by ConditionalGetMiddleware, so a browser's revalidation still works.
            del response["ETag"]
        return super().render(data, accepted_media_type, renderer_context)


def api_renderers(*extra: renderers.BaseRenderer) -> list[renderers.BaseRenderer]:
    """JSON first (the default answer), then any ``extra`` representation, then the page."""
    return [JSONRenderer(), *extra, ReadableAPIRenderer()]
