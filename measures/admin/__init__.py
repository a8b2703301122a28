"""The researchers' admin of what is tracked, one module per concern:

- ``measures``: measures, with their timeline and the form to record or correct an event;
- ``events``: every status event, read-only, and their import from a spreadsheet;
- ``funding``: funding lines;
- ``audit``: the audit trail of every tracked table;
- ``strategies``: the section this app adds to a strategy's page (its measures per stage
  and its money per phase).

Every write goes through ``measures.services``, as the API's do."""

from measures.admin import audit, events, funding, measures, strategies

__all__ = ["audit", "events", "funding", "measures", "strategies"]
