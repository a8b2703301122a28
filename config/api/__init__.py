"""The API kit: what every endpoint of the API shares, whichever app it serves.

- ``views``: the base view sets (strict query parameters, problem responses, CSV lists,
  reads and writes);
- ``problems``: RFC 9457 problem details for every error, the 404/500 handlers included;
- ``conditional``: ``ETag``, ``If-None-Match`` and ``If-Match``;
- ``pagination`` and ``filters``: keyset pages and strict filters;
- ``parsers``, ``fields`` and ``csv_export``: what is read and written;
- ``schema`` and ``docs``: the OpenAPI generation, and the pages that show it;
- ``idempotency``: safe retries of POST with ``Idempotency-Key``, and its record
  (``models``);
- ``permissions``: public reads, permission-checked writes.

It imports neither ``strategy`` nor ``measures``; they import it. The site itself
(settings, URLs, servers, probes, logging) is the rest of ``config``."""
