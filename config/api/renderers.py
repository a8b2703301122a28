"""The API's JSON: DRF's ``JSONRenderer``, its bytes written by orjson.

DRF writes JSON with the standard library's encoder and a Python ``default`` for what JSON
has no type for. For a page of fifty measures (47 KB) that took about 200 µs of a request's
1.4 ms; orjson writes the same bytes in about 15 µs (``docs/performance.md``).

The bytes are DRF's, not merely equivalent JSON:

- compact separators, UTF-8 rather than ``\\u`` escapes, and U+2028 and U+2029 escaped
  afterwards, as DRF does;
- dates, times and instants go to DRF's own ``JSONEncoder.default``
  (``OPT_PASSTHROUGH_DATETIME``), as does every other type orjson does not write itself
  (lazy translations, decimals, querysets);
- whatever orjson refuses (a key that is not a string, an integer beyond 64 bits, a lone
  surrogate, nesting deeper than 254) and anything DRF's ``default`` would turn into a
  float is written by DRF's renderer instead, so it gives exactly what it gave before,
  error included;
- an indented rendering (``Accept: application/json; indent=4``, the browsable page) and
  settings other than DRF's defaults (``UNICODE_JSON``, ``COMPACT_JSON``) are DRF's too.

The one difference left is a ``float`` written directly into the data: orjson writes one
below 1e-4 without an exponent (``0.00001`` for ``1e-05``) and writes NaN as ``null`` where
DRF refuses it. No representation of the API holds a float (money is text, counts are
integers): ``tests/api/test_renderers.py`` holds the committed OpenAPI document to that,
and holds both renderers' bytes equal for everything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_DRF_DEFAULT = JSONEncoder().default
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
# U+2028 and U+2029 in UTF-8, and as DRF escapes them.
_SEPARATORS = re.compile(b"\xe2\x80[\xa8\xa9]")
_ESCAPED = {"\u2028".encode(): b"\\u2028", "\u2029".encode(): b"\\u2029"}


class _WrittenAsFloatError(TypeError):
    """DRF's ``default`` gave a float (a ``Decimal``): its text is left to DRF's encoder."""


def _default(value: Any) -> Any:
    converted = _DRF_DEFAULT(value)
    if isinstance(converted, float):
        raise _WrittenAsFloatError
    return converted


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, the same bytes, written by orjson where it writes them alike."""

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if (
            data is not None
            and self.compact
            and not self.ensure_ascii
            and self.get_indent(accepted_media_type or "", renderer_context or {}) is None
        ):
            try:
                content = orjson.dumps(data, default=_default, option=_OPTIONS)
            except TypeError:  # orjson.JSONEncodeError is a TypeError
                pass
            else:
                # Both begin with this byte, which a search finds at memchr's speed; a
                # search for either whole (three bytes) read a page of 47 KB at 1 GB/s.
                if b"\xe2" in content:
                    content = _SEPARATORS.sub(lambda found: _ESCAPED[found[0]], content)
                return content
        return super().render(data, accepted_media_type, renderer_context)
