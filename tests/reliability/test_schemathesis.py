"""Schema-driven fuzzing: schemathesis generates requests from the committed ``openapi.yaml``,
valid ones and invalid ones, sends them to the application in process (WSGI) and checks
every answer against what the document promises.

Every check schemathesis has for a single response is on: no server error, a documented
status code, content type and headers, a body matching the documented schema, invalid input
refused, valid input accepted, missing required headers refused, undeclared methods
answered 405 with ``Allow``, and authentication not ignored (after a successful write, the
same request is sent again without the token and with a wrong one, and must be refused).

The database holds the cited seed data plus a few objects of every kind, so that generated
slugs and ids often name real objects instead of always missing; writes carry the token of
a researcher who may add and change everything. Each operation runs in a transaction that
is rolled back afterwards, so what one operation writes never reaches the next.

``FUZZ_EXAMPLES`` (default 100) sets the number of generated cases per operation and
``FUZZ_SEED`` the seed; ``make fuzz`` runs many more."""

from __future__ import annotations

import copy
import os
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.openapi.checks import RejectedPositiveData

from config.api.fields import LARGEST_ID
from config.wsgi import application
from measures.models import FundingLine, Measure, StatusEvent
from measures.seeding import load_seeds
from measures.services import measure_update
from strategy.changes import ChangeKind
from strategy.models import Organisation, Source, Strategy
from tests.factories import (
    FundingLineFactory,
    MeasureFactory,
    OrganisationFactory,
    SourceFactory,
    StrategyFactory,
    UserFactory,
)
from tests.support import WRITE_PERMISSIONS, grant, keep_fuzzing_figures, openapi_document
from webhooks.services import webhook_create

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
SEED = int(os.environ.get("FUZZ_SEED", "20180409"))

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            # Valid and invalid requests alike.
            "mode": "all",
            "max-examples": EXAMPLES,
            # The same cases on every run: no replay of earlier failures from a local store.
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
        },
        "checks": {
            # Every check is on; none is switched off.
            "enabled": True,
            # An invalid request may also be refused with 412 where it carries an
            # ``If-Match`` that is not the current ETag: RFC 9110 (13.2.1) evaluates
            # preconditions before the content is processed.
            "negative_data_rejection": {
                "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "412"]
            },
        },
    }
)

# A copy: schemathesis may annotate the document it is given.
schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi_document()), config=CONFIG)
schema.app = application

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def is_id(value: Any) -> bool:
    """A value the document allows as an id (a whole number from 1 to 2^63-1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= LARGEST_ID


def is_slug(value: Any) -> bool:
    return isinstance(value, str) and bool(SLUG.fullmatch(value))


class StoredNames:
    """What the database holds, by the values a URL or a body names it with."""

    token: str = ""
    organisations: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    sources: tuple[int, ...] = ()
    funding_lines: tuple[int, ...] = ()
    events: tuple[tuple[str, int], ...] = ()
    webhooks: tuple[int, ...] = ()
    deliveries: tuple[tuple[int, str], ...] = ()
    measures_of: dict[str, tuple[str, ...]] = {}
    funding_lines_of: dict[str, tuple[int, ...]] = {}


STORED = StoredNames()


def store_fuzzing_data() -> None:
    """The seed data, and a second strategy with a measure that has no events, a funding
    envelope with a line drawn from it, and an organisation that owns and leads nothing;
    their names go to ``STORED``."""
    load_seeds()
    owner = OrganisationFactory.create(slug="west-midlands-police", kind="police_force")
    strategy = StrategyFactory.create(slug="knife-crime-plan-2019", owner=owner)
    measure = MeasureFactory.create(
        slug="knife-crime-plan-first-measure", strategy=strategy, lead_organisation=owner
    )
    envelope = FundingLineFactory.create(strategy=strategy, title="Knife crime fund")
    FundingLineFactory.create(strategy=strategy, measure=measure, parent=envelope)
    OrganisationFactory.create(slug="youth-endowment-fund", kind="charity")
    SourceFactory.create()
    writer = UserFactory.create(username="fuzzing-writer")
    grant(writer, *WRITE_PERMISSIONS)
    STORED.token = Token.objects.create(user=writer).key
    webhook = webhook_create(
        owner=writer,
        fields={"target_url": "https://93.184.215.14/hook", "kinds": list(ChangeKind)},
    )
    measure_update(measure=measure, fields={"summary": "Watched by a subscription."})
    STORED.webhooks = (webhook.pk,)
    STORED.deliveries = tuple(
        (webhook.pk, str(pk)) for pk in webhook.deliveries.values_list("pk", flat=True)
    )
    STORED.organisations = tuple(
        Organisation.objects.order_by("slug").values_list("slug", flat=True)
    )
    STORED.strategies = tuple(Strategy.objects.order_by("slug").values_list("slug", flat=True))
    STORED.measures = tuple(Measure.objects.order_by("slug").values_list("slug", flat=True))
    STORED.sources = tuple(Source.objects.order_by("id").values_list("id", flat=True))
    STORED.funding_lines = tuple(FundingLine.objects.order_by("id").values_list("id", flat=True))
    STORED.events = tuple(StatusEvent.objects.order_by("id").values_list("measure__slug", "id"))
    STORED.measures_of = {
        slug: tuple(
            Measure.objects.filter(strategy__slug=slug)
            .order_by("slug")
            .values_list("slug", flat=True)
        )
        for slug in STORED.strategies
    }
    STORED.funding_lines_of = {
        slug: tuple(
            FundingLine.objects.filter(strategy__slug=slug)
            .order_by("id")
            .values_list("id", flat=True)
        )
        for slug in STORED.strategies
    }


def existing_path_parameters(path: str) -> list[dict[str, Any]]:
    """Path parameters that name real objects for the operation at ``path``."""
    if path.startswith("/api/v1/measures/{measure_slug}/events/{id}"):
        return [{"measure_slug": slug, "id": pk} for slug, pk in STORED.events]
    if path.startswith("/api/v1/measures/{measure_slug}"):
        return [{"measure_slug": slug} for slug in STORED.measures]
    if path.startswith("/api/v1/measures/{slug}"):
        return [{"slug": slug} for slug in STORED.measures]
    if path.startswith("/api/v1/organisations/{slug}"):
        return [{"slug": slug} for slug in STORED.organisations]
    if path.startswith("/api/v1/strategies/{slug}"):
        return [{"slug": slug} for slug in STORED.strategies]
    if path.startswith("/api/v1/sources/{id}"):
        return [{"id": pk} for pk in STORED.sources]
    if path.startswith("/api/v1/funding-lines/{id}"):
        return [{"id": pk} for pk in STORED.funding_lines]
    if path.startswith("/api/v1/webhooks/{webhook_pk}/deliveries/{id}"):
        return [{"webhook_pk": pk, "id": delivery} for pk, delivery in STORED.deliveries]
    if path.startswith("/api/v1/webhooks/{webhook_pk}"):
        return [{"webhook_pk": pk} for pk in STORED.webhooks]
    if path.startswith("/api/v1/webhooks/{id}"):
        return [{"id": pk} for pk in STORED.webhooks]
    return []


def is_well_formed(value: Any) -> bool:
    """A value the document allows where a slug or an id goes. An invalid one (from
    negative generation) is kept as generated: it is meant to be refused."""
    return is_id(value) or is_slug(value)


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Half the well-formed path parameters name an existing object, the other half are
    as generated (mostly missing: 404)."""
    assert context.operation is not None
    existing = existing_path_parameters(context.operation.path)
    if not existing or not all(is_well_formed(v) for v in path_parameters.values()):
        return st.just(path_parameters)
    return st.one_of(st.just(path_parameters), st.sampled_from(existing))


@st.composite
def referring_to_existing_objects(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the objects it names (by slug or id) replaced by stored ones, the
    measure and the envelope of a funding line taken from its strategy. Only valid values
    are replaced: an invalid one stays, to be refused."""
    body = dict(body)
    strategy = None
    if is_slug(body.get("strategy")):
        strategy = body["strategy"] = draw(st.sampled_from(STORED.strategies))
    for name in ("owner", "lead_organisation", "funder", "recipient"):
        if is_slug(body.get(name)):
            body[name] = draw(st.sampled_from(STORED.organisations))
    if is_slug(body.get("measure")):
        body["measure"] = draw(
            st.sampled_from(STORED.measures_of.get(strategy or "") or STORED.measures)
        )
    if is_id(body.get("parent")):
        lines = STORED.funding_lines_of.get(strategy or "") or STORED.funding_lines
        body["parent"] = draw(st.sampled_from(lines))
    if is_id(body.get("source")):
        body["source"] = draw(st.sampled_from(STORED.sources))
    if is_id(body.get("supersedes")):
        body["supersedes"] = draw(st.sampled_from([pk for _, pk in STORED.events]))
    if isinstance(body.get("citations"), list):
        body["citations"] = [
            {**citation, "source": draw(st.sampled_from(STORED.sources))}
            if isinstance(citation, dict) and is_id(citation.get("source"))
            else citation
            for citation in body["citations"]
        ]
    return body


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Half the bodies name stored objects where they name any, so that writes can succeed."""
    if not isinstance(body, dict):
        return st.just(body)
    return st.one_of(st.just(body), referring_to_existing_objects(body))


# What the server refuses for reasons a JSON Schema cannot state, by the words of its
# problem documents. A schema-valid request refused for any other reason fails the run.
UNSTATABLE_RULES = re.compile(
    "|".join(
        [
            # A reference to an object that is not stored, or a second object with a
            # unique value already taken.
            r"does not exist\.$",
            r"already exists\.$",
            # Slugs are fixed once created; a PUT or PATCH may only repeat them.
            r"cannot be changed once created\.$",
            # PostgreSQL cannot store text holding NUL.
            r"NUL character|Null characters are not allowed",
            # Rules across fields or across stored rows.
            r"period cannot end before it starts",
            r"belongs to another (strategy|measure)",
            r"quoted passage or a locator|Quote the passage",
            r"cannot move from",
            r"is recorded as the last day of that (month|year)",
            r"cannot end before it takes effect",
            r"Say why the value changed",
            r"is not a (stage|verdict|confidence);",
            r"already been corrected|must be one too",
            r"cannot be drawn from itself|are drawn from this one|funding lines in its strategy",
            r"can only realise one announced before it|cannot realise itself",
            # A webhook's target must resolve, to a public address, over HTTP(S); its
            # filter must name things that exist.
            r"could not be resolved\.$|resolves to an address that is not public",
            r"must be an http:// or https:// URL|cannot carry a user name or password",
            r"port is not a number",
            r"nothing has the slug",
            # A URL is one Django's validator takes: http(s) or ftp(s), a host with a
            # top-level domain. JSON Schema's `uri` also takes "reader:measure".
            r"^Enter a valid URL\.$",
            # Relevance is that of a search: it needs `q`.
            r"Order by relevance only with a search",
        ]
    )
)


def refused_for_unstatable_rules(response: schemathesis.Response) -> bool:
    """A 412 for an ``If-Match`` that is not the current ETag, or a 400 whose every error
    is one of ``UNSTATABLE_RULES``."""
    try:
        problem = response.json()
    except ValueError:
        return False
    if not isinstance(problem, dict):
        return False
    if response.status_code == 412:
        return str(problem.get("type", "")).endswith("/stale-version/")
    errors = problem.get("errors")
    return (
        response.status_code == 400
        and isinstance(errors, list)
        and bool(errors)
        and all(UNSTATABLE_RULES.search(str(error.get("detail", ""))) for error in errors)
    )


@schema.hook
def filter_failure(
    context: schemathesis.HookContext,
    failure: Any,
    case: schemathesis.Case,
    response: schemathesis.Response,
) -> bool:
    """Every failure counts, but a schema-valid request refused for a rule the document
    cannot state (``positive_data_acceptance`` otherwise expects it accepted)."""
    return not (
        isinstance(failure, RejectedPositiveData) and refused_for_unstatable_rules(response)
    )


def needs_the_writer(context: Any) -> bool:
    operation = context.operation
    return operation.method.upper() in ("POST", "PUT", "PATCH") or operation.path.startswith(
        "/api/v1/webhooks"
    )


@schema.auth(refresh_interval=None).apply_to(needs_the_writer)
class WriterToken:
    """The token of a researcher who may add and change everything, and who owns a webhook
    subscription. Reads of the record stay anonymous (or carry whatever credentials
    schemathesis generates for them)."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return STORED.token

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Token {data}"


@pytest.fixture(scope="module")
def stored(
    django_db_setup: None, django_db_blocker: Any, request: pytest.FixtureRequest
) -> Iterator[StoredNames]:
    """Committed for the whole module, so that the change feed (which shows only finished
    transactions) has something to show; emptied afterwards as a transactional test is."""
    with django_db_blocker.unblock():
        store_fuzzing_data()
        try:
            yield STORED
        finally:
            call_command("flush", interactive=False, verbosity=0)
    keep_fuzzing_figures(
        request.config,
        {"cases": dict(CASES), "requests": dict(REQUESTS), "seed": SEED, "examples": EXAMPLES},
    )


@pytest.fixture
def fuzzing(
    stored: StoredNames, db: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No throttling (thousands of requests a minute are the point), and requests served in
    the test's transaction: Django's request signals would otherwise close the connection
    after each response, as they do for a real server."""
    rates = {"anon": None, "user": None}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    # The throttle classes read the rates once, when DRF is imported.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)
    cache.clear()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        cache.clear()


# Cases generated per operation in this run, reported when the module ends.
CASES: Counter[str] = Counter()
REQUESTS: Counter[str] = Counter()


@schema.hook
def after_call(
    context: schemathesis.HookContext, case: schemathesis.Case, response: schemathesis.Response
) -> None:
    REQUESTS[case.operation.label] += 1


@schema.parametrize()
# The fixtures are meant to be shared by all of an operation's cases. Hypothesis's own
# defaults as the base, so that the suite's profile does not override the counts above.
@settings(
    settings.get_profile("default"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_the_promises_of_openapi_yaml(case: schemathesis.Case, fuzzing: None) -> None:
    CASES[case.operation.label] += 1
    try:
        case.call_and_validate()
    except Exception as failure:
        failure.add_note(f"Replay: make fuzz FUZZ_SEED={SEED} FUZZ_EXAMPLES={EXAMPLES}")
        raise
