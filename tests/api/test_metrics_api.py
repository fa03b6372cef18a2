"""GET /metrics/revenue and /metrics/revenue/daily: figures against an independent reckoning.

Day aggregates are written straight into the table (the items ingest keeps, docs/architecture.md)
from a small set of known sales, then the API's answers are compared with figures reckoned here
from the sales themselves, by the contract's rules, with Fractions and a hand-written half-up.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import boto3
import pytest

# (sale_id, day, total, tax, discounts): refunds, a zero-total sale, third-decimal amounts that
# round half-up, and days without sales inside the ranges asked for.
SALES: list[tuple[str, str, str, str, str]] = [
    ("S0", "2025-02-28", "999.00", "74.00", "0"),  # outside most ranges
    ("S1", "2025-03-01", "34.88", "2.88", "0"),
    ("S2", "2025-03-01", "10.005", "0.826", "1.115"),  # half-up: 10.01
    ("S3", "2025-03-01", "-50.00", "-4.13", "0"),  # a refund
    ("S4", "2025-03-01", "0.00", "0", "25.00"),  # complimentary: neither order nor refund
    ("S5", "2025-03-03", "12.345", "1.02", "1.50"),
    ("S6", "2025-03-03", "20.00", "1.65", "0"),
    ("S7", "2025-03-03", "20.00", "1.65", "0"),  # same figures, another sale
    ("S8", "2025-03-10", "-5.555", "-0.459", "0"),  # refund rounding half-up (away from 0)
    ("S9", "2025-03-12", "1.00", "0", "0"),
    ("S10", "2025-03-12", "1.00", "0", "0"),
    ("S11", "2025-03-12", "0.005", "0", "0"),  # aov (2.005 / 3) = 0.668.. -> 0.67
]


def half_up(value: Fraction) -> str:
    """Cents, half-up (ties away from zero), written out by hand: independent of money.py."""
    cents = int(abs(value) * 100 + Fraction(1, 2))  # floor(x + 1/2) for x >= 0
    if cents == 0:
        return "0.00"
    return ("-" if value < 0 else "") + f"{cents // 100}.{cents % 100:02d}"


def reckon(start: str, end: str) -> dict[str, Any]:
    sales = [(d, Fraction(t), Fraction(x), Fraction(dc)) for _, d, t, x, dc in SALES if start <= d <= end]
    orders = [t for _, t, _, _ in sales if t > 0]
    refunds = [t for _, t, _, _ in sales if t < 0]
    return {
        "start": start,
        "end": end,
        "currency": "SGD",
        "total_revenue_sgd": half_up(sum((t for _, t, _, _ in sales), Fraction(0))),
        "net_revenue_sgd": half_up(sum((t - x for _, t, x, _ in sales), Fraction(0))),
        "tax_sgd": half_up(sum((x for _, _, x, _ in sales), Fraction(0))),
        "discounts_sgd": half_up(sum((dc for _, _, _, dc in sales), Fraction(0))),
        "order_count": len(orders),
        "average_order_value_sgd": half_up(sum(orders, Fraction(0)) / len(orders)) if orders else "0.00",
        "refund_count": len(refunds),
        "refunds_sgd": half_up(sum(refunds, Fraction(0))),
    }


def reckon_daily(start: str, end: str) -> list[dict[str, Any]]:
    days = []
    day = date.fromisoformat(start)
    while day <= date.fromisoformat(end):
        figures = reckon(day.isoformat(), day.isoformat())
        days.append(
            {
                "date": day.isoformat(),
                "revenue_sgd": figures["total_revenue_sgd"],
                "order_count": figures["order_count"],
                "average_order_value_sgd": figures["average_order_value_sgd"],
            }
        )
        day += timedelta(days=1)
    return days


def write_day_aggregates(table: Any) -> None:
    """The `DAYS` items ingest would have written for SALES (docs/architecture.md)."""
    days: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "revenue": Decimal(0),
            "net": Decimal(0),
            "tax": Decimal(0),
            "discounts": Decimal(0),
            "order_count": 0,
            "order_value": Decimal(0),
            "refund_count": 0,
            "refunds": Decimal(0),
            "sales_count": 0,
        }
    )
    for _, day, total_s, tax_s, disc_s in SALES:
        total, tax, disc = Decimal(total_s), Decimal(tax_s), Decimal(disc_s)
        agg = days[day]
        agg["revenue"] += total
        agg["net"] += total - tax
        agg["tax"] += tax
        agg["discounts"] += disc
        agg["sales_count"] += 1
        if total > 0:
            agg["order_count"] += 1
            agg["order_value"] += total
        elif total < 0:
            agg["refund_count"] += 1
            agg["refunds"] += total
    with table.batch_writer() as batch:
        for day, agg in days.items():
            batch.put_item(Item={"pk": "DAYS", "sk": day, "rev": 1, **agg})


@pytest.fixture
def stored(aws: dict[str, Any]) -> None:
    write_day_aggregates(aws["table_resource"])


def test_half_up_reckoner_itself() -> None:
    assert half_up(Fraction("10.005")) == "10.01"
    assert half_up(Fraction("-5.555")) == "-5.56"
    assert half_up(Fraction("2.004")) == "2.00"
    assert half_up(Fraction("-0.004")) == "0.00"
    assert half_up(Fraction(2005, 3000)) == "0.67"
    assert half_up(Fraction(1, 8)) == "0.13"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-03-01", "2025-03-31"),  # everything of March, empty days included
        ("2025-02-01", "2025-12-31"),  # everything
        ("2025-03-01", "2025-03-01"),  # one day: an order, a refund, a zero-total sale
        ("2025-03-02", "2025-03-02"),  # a day without sales
        ("2025-03-04", "2025-03-09"),  # only empty days
        ("2025-03-10", "2025-03-10"),  # only a refund
        ("2025-03-12", "2025-03-12"),  # aov needs rounding
        ("2024-01-01", "2024-12-31"),  # before any sale
    ],
)
def test_revenue_equals_reckoning(client: Any, stored: None, start: str, end: str) -> None:
    reply = client.get("/metrics/revenue", {"start": start, "end": end})
    assert reply.status == 200, reply.text
    assert reply.json() == reckon(start, end)


def test_revenue_figures_spelled_out(client: Any, stored: None) -> None:
    """The reckoning, checked once by hand for 2025-03-01..03-03."""
    body = client.get("/metrics/revenue", {"start": "2025-03-01", "end": "2025-03-03"}).json()
    # totals: 34.88 + 10.005 - 50 + 0 + 12.345 + 20 + 20 = 47.23
    assert body["total_revenue_sgd"] == "47.23"
    # orders: S1, S2, S5, S6, S7 = 97.23 / 5 = 19.446 -> 19.45
    assert body["order_count"] == 5
    assert body["average_order_value_sgd"] == "19.45"
    assert (body["refund_count"], body["refunds_sgd"]) == (1, "-50.00")
    # tax: 2.88 + 0.826 - 4.13 + 1.02 + 1.65 + 1.65 = 3.896 -> 3.90; net 47.23 - 3.896 = 43.334
    assert (body["tax_sgd"], body["net_revenue_sgd"]) == ("3.90", "43.33")
    assert body["discounts_sgd"] == "27.62"  # 1.115 + 25 + 1.5 = 27.615 -> 27.62


def test_money_is_strings_with_two_decimals(client: Any, stored: None) -> None:
    body = client.get("/metrics/revenue", {"start": "2025-02-01", "end": "2025-03-31"}).json()
    for name, value in body.items():
        if name.endswith("_sgd"):
            assert isinstance(value, str), name
            assert value.replace("-", "", 1).replace(".", "", 1).isdigit() and value[-3] == ".", value
    assert isinstance(body["order_count"], int) and isinstance(body["refund_count"], int)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2025-02-27", "2025-03-13"),
        ("2025-03-02", "2025-03-02"),
        ("2025-03-04", "2025-03-09"),
    ],
)
def test_daily_equals_reckoning(client: Any, stored: None, start: str, end: str) -> None:
    reply = client.get("/metrics/revenue/daily", {"start": start, "end": end})
    assert reply.status == 200, reply.text
    body = reply.json()
    assert (body["start"], body["end"], body["currency"]) == (start, end, "SGD")
    assert body["days"] == reckon_daily(start, end)


def test_daily_days_sum_to_summary(client: Any, stored: None) -> None:
    query = {"start": "2025-02-20", "end": "2025-03-20"}
    daily = client.get("/metrics/revenue/daily", query).json()["days"]
    summary = client.get("/metrics/revenue", query).json()
    assert [d["date"] for d in daily] == sorted(d["date"] for d in daily)
    assert len(daily) == 29
    assert sum(d["order_count"] for d in daily) == summary["order_count"]
    empty = next(d for d in daily if d["date"] == "2025-03-05")
    assert empty == {"date": "2025-03-05", "revenue_sgd": "0.00", "order_count": 0, "average_order_value_sgd": "0.00"}


def test_longest_range_is_one_query(client: Any, stored: None) -> None:
    """3660 days inclusive is allowed and costs one DynamoDB Query, whatever is stored."""
    calls: list[str] = []

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    session = boto3._get_default_session()  # the storage's clients come from the default session
    session.events.register("before-call.dynamodb", count)
    try:
        start = date(2016, 1, 1)
        end = start + timedelta(days=3659)
        query = {"start": start.isoformat(), "end": end.isoformat()}
        reply = client.get("/metrics/revenue/daily", query)
        assert reply.status == 200, reply.text
        assert len(reply.json()["days"]) == 3660
        assert calls == ["Query"]
        calls.clear()
        assert client.get("/metrics/revenue", query).status == 200
        assert calls == ["Query"]
    finally:
        session.events.unregister("before-call.dynamodb", count)


@pytest.mark.parametrize("path", ["/metrics/revenue", "/metrics/revenue/daily"])
def test_range_too_long_is_400_naming_end(offline_client: Any, path: str) -> None:
    start = date(2016, 1, 1)
    client = offline_client
    reply = client.get(path, {"start": start.isoformat(), "end": (start + timedelta(days=3660)).isoformat()})
    assert reply.status == 400
    body = reply.json()
    assert "end" in body["message"] and "3661" in body["message"] and "3660" in body["message"]
    assert body["errors"][0]["parameter"] == "end"


@pytest.mark.parametrize("path", ["/metrics/revenue", "/metrics/revenue/daily"])
def test_start_after_end_is_400_naming_start(offline_client: Any, path: str) -> None:
    reply = offline_client.get(path, {"start": "2025-03-02", "end": "2025-03-01"})
    assert reply.status == 400
    assert reply.json()["message"].startswith("start (2025-03-02) is after end")
    assert reply.json()["errors"][0]["parameter"] == "start"


@pytest.mark.parametrize("path", ["/metrics/revenue", "/metrics/revenue/daily"])
@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ({"end": "2025-03-01"}, "start"),
        ({"start": "2025-03-01"}, "end"),
        ({}, "start"),
        ({"start": "2025-3-1", "end": "2025-03-01"}, "start"),
        ({"start": "2025-03-01", "end": "0"}, "end"),  # a unix timestamp to pydantic
        ({"start": "2025-03-01", "end": "1740787200"}, "end"),
        ({"start": "2025-02-30", "end": "2025-03-01"}, "start"),  # not a calendar date
        ({"start": "2025-03-01T00:00:00", "end": "2025-03-01"}, "start"),
        ({"start": "", "end": "2025-03-01"}, "start"),
        ({"start": "yesterday", "end": "2025-03-01"}, "start"),
        ({"start": "2025-03-01", "end": "2025-03-01 "}, "end"),
        ({"start": ["2025-03-01", "2025-03-02"], "end": "2025-03-03"}, "start"),  # repeated -> "a,b"
    ],
)
def test_bad_dates_are_400_naming_the_parameter(
    offline_client: Any, path: str, query: dict[str, Any], bad: str
) -> None:
    reply = offline_client.get(path, query)
    assert reply.status == 400, reply.text
    body = reply.json()
    assert f"'{bad}'" in body["message"]
    assert body["errors"][0]["parameter"] == bad
    assert body["errors"][0]["location"] == "query"


def test_extreme_dates_do_not_fail(client: Any) -> None:
    for start, end in (("0001-01-01", "0001-01-02"), ("9999-12-30", "9999-12-31")):
        reply = client.get("/metrics/revenue/daily", {"start": start, "end": end})
        assert reply.status == 200, reply.text
        assert [d["date"] for d in reply.json()["days"]] == [start, end]
