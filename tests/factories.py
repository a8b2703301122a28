"""Factories for tests: valid objects by default, overridable field by field."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from measures.choices import FundingPhase, Instrument
from measures.models import FundingLine, Measure
from strategy.choices import OrganisationKind, SourceKind
from strategy.models import Organisation, Source, Strategy


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"researcher{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class OrganisationFactory(factory.django.DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    slug = factory.Sequence(lambda n: f"organisation-{n}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.DEPARTMENT


class SourceFactory(factory.django.DjangoModelFactory[Source]):
    class Meta:
        model = Source

    url = factory.Sequence(lambda n: f"https://www.gov.uk/government/news/source-{n}")
    title = factory.Sequence(lambda n: f"Source {n}")
    publisher = "Home Office"
    kind = SourceKind.GOVERNMENT
    published_on = datetime.date(2018, 4, 9)


class StrategyFactory(factory.django.DjangoModelFactory[Strategy]):
    class Meta:
        model = Strategy

    slug = factory.Sequence(lambda n: f"strategy-{n}")
    title = factory.Sequence(lambda n: f"Strategy {n}")
    owner = factory.SubFactory(OrganisationFactory)
    published_on = datetime.date(2018, 4, 9)
    summary = "A plan."


class MeasureFactory(factory.django.DjangoModelFactory[Measure]):
    class Meta:
        model = Measure

    slug = factory.Sequence(lambda n: f"measure-{n}")
    strategy = factory.SubFactory(StrategyFactory)
    title = factory.Sequence(lambda n: f"Measure {n}")
    summary = "What was promised."
    category = "Law enforcement and criminal justice"
    lead_organisation = factory.SubFactory(OrganisationFactory)
    instrument = Instrument.LEGISLATION


class FundingLineFactory(factory.django.DjangoModelFactory[FundingLine]):
    class Meta:
        model = FundingLine

    strategy = factory.SubFactory(StrategyFactory)
    title = factory.Sequence(lambda n: f"Fund {n}")
    amount = Decimal("1000000.00")
    currency = "GBP"
    phase = FundingPhase.ANNOUNCED
    source = factory.SubFactory(SourceFactory)
    quote = "backed with £1m"


class TokenFactory(factory.django.DjangoModelFactory[Token]):
    """An API token; its key is generated when it is saved."""

    class Meta:
        model = Token

    user = factory.SubFactory(UserFactory)
