"""/api/v1/strategies/{slug}/summary/ and /diff/: counts per stage, money per phase, and
what changed between two dates."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from measures.choices import Stage
from measures.models import Measure
from strategy.models import Strategy
from tests.api.conftest import API, ClientFor, assert_problem, assert_validation_problem
from tests.factories import FundingLineFactory, MeasureFactory, StrategyFactory
from tests.support import Record

pytestmark = pytest.mark.django_db


@pytest.fixture
def svs(record: Record) -> Strategy:
    """Three measures: one enacted (kept), one announced long overdue, one with no events;
    a £40m envelope, £11m drawn from it for a measure, £5m allocated to a measure
    directly, and £3.6m spent."""
    strategy = StrategyFactory.create(slug="svs")
    acid = MeasureFactory.create(
        slug="acid", strategy=strategy, target_on=datetime.date(2030, 1, 1)
    )
    youth = MeasureFactory.create(
        slug="youth", strategy=strategy, target_on=datetime.date(2019, 3, 31)
    )
    MeasureFactory.create(slug="quiet", strategy=strategy)
    MeasureFactory.create(slug="elsewhere")
    record(acid, "announced", datetime.date(2018, 4, 9))
    record(acid, "legislating", datetime.date(2018, 6, 20))
    record(acid, "enacted", datetime.date(2019, 5, 16))
    record(acid, "kept", datetime.date(2019, 5, 16), axis="verdict")
    record(youth, "announced", datetime.date(2018, 4, 9))
    record(youth, "amber_red", datetime.date(2019, 1, 1), axis="confidence")
    envelope = FundingLineFactory.create(strategy=strategy, amount=Decimal("40000000"))
    FundingLineFactory.create(
        strategy=strategy,
        measure=youth,
        parent=envelope,
        amount=Decimal("11000000"),
        phase="allocated",
    )
    FundingLineFactory.create(
        strategy=strategy, measure=acid, amount=Decimal("5000000"), phase="allocated"
    )
    FundingLineFactory.create(
        strategy=strategy, measure=youth, amount=Decimal("3600000"), phase="spent"
    )
    FundingLineFactory.create(amount=Decimal("999"))  # another strategy's money
    return strategy


def money(phase: str, total: str, line_count: int, ceiling_total: str = "0.00") -> dict[str, Any]:
    return {
        "currency": "GBP",
        "phase": phase,
        "total": total,
        "line_count": line_count,
        "ceiling_total": ceiling_total,
    }


def counts(data: dict, group: str) -> dict[str, int]:
    return {name: n for name, n in data[group].items() if n}


def test_summary_today(anonymous: APIClient, svs: Strategy) -> None:
    response = anonymous.get(f"{API}/strategies/svs/summary/")
    assert response.status_code == 200
    data = response.json()
    assert data["strategy"] == {"slug": "svs", "title": svs.title}
    assert data["as_of"] is None
    assert (data["measure_count"], data["overdue_count"]) == (3, 1)
    assert counts(data, "by_stage") == {"enacted": 1, "announced": 1, "none": 1}
    assert set(data["by_stage"]) == {*Stage.values, "none"}
    assert counts(data, "by_verdict") == {"kept": 1, "none": 2}
    assert counts(data, "by_confidence") == {"amber_red": 1, "none": 2}
    funding = data["funding"]
    # The £11m allocated from the announced envelope is money in the allocated phase: it is
    # counted there (the envelope has no allocated figure to hold it).
    assert funding["by_phase"] == [
        money("announced", "40000000.00", 1),
        money("allocated", "16000000.00", 2),
        money("spent", "3600000.00", 1),
    ]
    assert funding["envelope"] == [money("announced", "40000000.00", 1)]
    assert funding["drawn_from_envelope"] == [money("allocated", "11000000.00", 1)]
    assert funding["allocated_to_measures"] == [
        money("allocated", "16000000.00", 2),
        money("spent", "3600000.00", 1),
    ]
    assert funding["undated_line_count"] == 4


def test_summary_as_of_a_past_date(anonymous: APIClient, svs: Strategy) -> None:
    data = anonymous.get(f"{API}/strategies/svs/summary/", {"as_of": "2018-12-31"}).json()
    assert data["as_of"] == "2018-12-31"
    assert counts(data, "by_stage") == {"legislating": 1, "announced": 1, "none": 1}
    assert counts(data, "by_verdict") == {"none": 3}
    assert data["overdue_count"] == 0  # the youth target was 2019-03-31


def test_summary_of_a_strategy_with_nothing(anonymous: APIClient, db: None) -> None:
    StrategyFactory.create(slug="empty")
    data = anonymous.get(f"{API}/strategies/empty/summary/").json()
    assert (data["measure_count"], data["overdue_count"]) == (0, 0)
    assert data["funding"]["by_phase"] == []


def test_summary_errors(anonymous: APIClient, svs: Strategy) -> None:
    assert_problem(anonymous.get(f"{API}/strategies/none-such/summary/"), 404)
    assert_validation_problem(
        anonymous.get(f"{API}/strategies/svs/summary/", {"as_of": "2019-13-45"}), parameter="as_of"
    )
    assert_validation_problem(
        anonymous.get(f"{API}/strategies/svs/summary/", {"from": "2019-01-01"}), parameter="from"
    )


def test_diff_between_two_dates(anonymous: APIClient, svs: Strategy) -> None:
    response = anonymous.get(
        f"{API}/strategies/svs/diff/", {"from": "2018-05-01", "to": "2019-06-01"}
    )
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["strategy"]["slug"], data["date_from"], data["date_to"]) == (
        "svs",
        "2018-05-01",
        "2019-06-01",
    )
    rows = {row["slug"]: row for row in data["measures"]}
    assert list(rows) == ["acid", "quiet", "youth"]
    acid = rows["acid"]
    assert acid["status_from"] == {"stage": "announced", "verdict": None, "confidence": None}
    assert acid["status_to"] == {"stage": "enacted", "verdict": "kept", "confidence": None}
    assert acid["changed"] is True
    assert [(e["axis"], e["value"]) for e in acid["events"]] == [
        ("stage", "legislating"),
        ("stage", "enacted"),
        ("verdict", "kept"),
    ]
    assert rows["quiet"]["changed"] is False
    assert rows["quiet"]["events"] == []
    assert [(e["axis"], e["value"]) for e in rows["youth"]["events"]] == [
        ("confidence", "amber_red")
    ]


def test_a_diff_from_a_later_date_runs_backwards(anonymous: APIClient, svs: Strategy) -> None:
    forwards = anonymous.get(
        f"{API}/strategies/svs/diff/", {"from": "2018-05-01", "to": "2019-06-01"}
    ).json()
    backwards = anonymous.get(
        f"{API}/strategies/svs/diff/", {"from": "2019-06-01", "to": "2018-05-01"}
    ).json()
    assert (backwards["date_from"], backwards["date_to"]) == ("2019-06-01", "2018-05-01")
    for ahead, behind in zip(forwards["measures"], backwards["measures"], strict=True):
        assert (behind["status_from"], behind["status_to"]) == (
            ahead["status_to"],
            ahead["status_from"],
        )
        assert behind["changed"] == ahead["changed"]
        assert behind["events"] == ahead["events"][::-1]


def test_diff_changed_only(anonymous: APIClient, svs: Strategy) -> None:
    params = {"from": "2019-01-02", "to": "2019-06-01", "changed_only": "true"}
    data = anonymous.get(f"{API}/strategies/svs/diff/", params).json()
    assert [row["slug"] for row in data["measures"]] == ["acid"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"to": "2019-01-01"}, "from"),
        ({"from": "2019-01-01"}, "to"),
        ({"from": "2019-13-45", "to": "2020-01-01"}, "from"),
        ({"from": "2019-01-01", "to": "2020-01-01", "changed_only": "maybe"}, "changed_only"),
        ({"from": "2019-01-01", "to": "2020-01-01", "as_of": "2019-01-01"}, "as_of"),
    ],
)
def test_diff_parameter_errors(
    anonymous: APIClient, svs: Strategy, params: dict[str, str], parameter: str
) -> None:
    assert_validation_problem(
        anonymous.get(f"{API}/strategies/svs/diff/", params), parameter=parameter
    )


@pytest.mark.parametrize("report", ["summary", "diff"])
def test_reports_are_read_only(client_for: ClientFor, svs: Strategy, report: str) -> None:
    writer = client_for("strategy.change_strategy", "strategy.add_strategy")
    for method in ("post", "put", "patch", "delete"):
        assert_problem(getattr(writer, method)(f"{API}/strategies/svs/{report}/", {}), 405)


def test_reports_answer_if_none_match_with_304(anonymous: APIClient, svs: Strategy) -> None:
    url = f"{API}/strategies/svs/summary/"
    etag = anonymous.get(url)["ETag"]
    assert etag
    assert anonymous.get(url, headers={"If-None-Match": etag}).status_code == 304
    Measure.objects.filter(slug="quiet").update(target_on=datetime.date(2018, 1, 1))
    assert anonymous.get(url, headers={"If-None-Match": etag}).status_code == 200
