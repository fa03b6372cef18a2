"""The reports through the metrics handler: series by day, week and month; comparisons with the
previous period or year; revenue by item, location and payment method; CSV downloads; the
rejects link. Figures are checked against the independent reckoner (tests/reckoning.py) on a
generated sample-shaped export (refunds, zero-total sales, empty payment methods, item names
with trailing spaces), ingested by the real ingest handler, then corrected by a second export
that moves lines between items, payment methods, locations and days.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from moto import mock_aws

from devtools.s3events import build_put_event
from tests.api.conftest import BUCKET, ENV, TABLE, ApiClient, reset_handlers
from tests.ingest.support import context, corrected, export_bytes, sample_sales
from tests.moto_resources import create_resources
from tests.reckoning import NONE_KEY, KeyFigures, RangeFigures, Reckoning, cents, reckon

FORMULA_ITEM = '=HYPERLINK("http://example.invalid","x")'


def _money(value: Decimal) -> str:
    text = format(cents(value), "f")
    return "0.00" if text == "-0.00" else text


def _exports() -> tuple[list[bytes], list[bytes]]:
    """(the two exports as uploaded, the same without the sale the ingest rejects)."""
    sales = sample_sales(seed=11, lines=420, per_day=14)
    first_line = sales[3].lines[0]
    sales[3] = replace(sales[3], lines=(replace(first_line, item_name=FORMULA_ITEM), *sales[3].lines[1:]))
    bad = sales[7].lines[0]
    sales[7] = replace(sales[7], lines=(replace(bad, item_total="abc"), *sales[7].lines[1:]))  # rejected whole
    # The correction leaves the bad sale out: its import rejects nothing (no rejects file).
    fixes = [
        corrected(s, Decimal("3.25"), move_days=i % 7 == 0, relabel=i % 4) if i % 6 == 0 else s
        for i, s in enumerate(sales[: len(sales) // 2])
        if i != 7
    ]
    uploaded = [export_bytes(sales), export_bytes(fixes)]
    clean = [export_bytes([s for s in group if s is not sales[7]]) for group in (sales, fixes)]
    return uploaded, clean


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Reckoning, Any]]:
    """moto with the table and bucket, the export and then its correction ingested by the ingest
    handler from S3 events (once for the module: an ingest on moto takes a while)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        reset_handlers()
        with mock_aws():
            s3 = boto3.client("s3")
            create_resources(boto3.client("dynamodb"), s3, table=TABLE, bucket=BUCKET)
            ingest_handler = pytest.importorskip("ingest_handler")
            ingest_handler.reset()
            uploaded, clean = _exports()
            t0 = datetime(2025, 5, 2, 9, 0, tzinfo=UTC)
            for n, data in enumerate(uploaded):
                key = f"uploads/2025/05/02/export-{n}.csv"
                put = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
                event = build_put_event(
                    bucket=BUCKET,
                    key=key,
                    size=len(data),
                    etag=put["ETag"].strip('"'),
                    version_id=put.get("VersionId"),
                    when=t0 + timedelta(minutes=n),
                )
                result = ingest_handler.handler(event, context())
                assert [i["status"] for i in result["imports"]] == [["PARTIAL", "SUCCEEDED"][n]], result
            ingest_handler.reset()
            yield reckon(clean), s3
        reset_handlers()


@pytest.fixture
def ingested(world: tuple[Reckoning, Any]) -> Reckoning:
    return world[0]


@pytest.fixture
def client(world: tuple[Reckoning, Any]) -> ApiClient:
    return ApiClient()


def q(start: date, end: date, **more: Any) -> dict[str, Any]:
    return {"start": start.isoformat(), "end": end.isoformat(), **more}


# -- series -----------------------------------------------------------------------------------------


def _period(figures: RangeFigures) -> dict[str, Any]:
    return {
        "start": figures.start.isoformat(),
        "end": figures.end.isoformat(),
        "revenue_sgd": _money(figures.total_revenue),
        "order_count": figures.order_count,
        "average_order_value_sgd": _money(figures.average_order_value),
        "refund_count": figures.refund_count,
        "refunds_sgd": _money(figures.refunds),
    }


def _weeks(start: date, end: date) -> list[tuple[date, date]]:
    """ISO weeks, Monday to Sunday, clipped: written out day by day, independently."""
    out: list[tuple[date, date]] = []
    day = start
    while day <= end:
        first = day
        while day < end and (day + timedelta(days=1)).weekday() != 0:
            day += timedelta(days=1)
        out.append((first, day))
        day += timedelta(days=1)
    return out


def _months(start: date, end: date) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    day = start
    while day <= end:
        first = day
        while day < end and (day + timedelta(days=1)).month == day.month:
            day += timedelta(days=1)
        out.append((first, day))
        day += timedelta(days=1)
    return out


def test_series_by_week_and_month_match_the_reckoner_with_clipped_ends(client: Any, ingested: Reckoning) -> None:
    start, end = ingested.first_day() + timedelta(days=3), ingested.last_day() + timedelta(days=9)
    assert start.weekday() != 0 and start.day != 1  # the first periods really are clipped
    for granularity, bounds in (("week", _weeks), ("month", _months)):
        reply = client.get("/metrics/revenue/series", q(start, end, granularity=granularity))
        assert reply.status == 200, reply.text
        body = reply.json()
        assert (body["start"], body["end"], body["currency"], body["granularity"]) == (
            start.isoformat(),
            end.isoformat(),
            "SGD",
            granularity,
        )
        want = [_period(ingested.range(a, b)) for a, b in bounds(start, end)]
        assert body["periods"] == want
        assert body["periods"][-1]["revenue_sgd"] == "0.00" or granularity == "month"


def test_series_by_day_is_every_day_and_is_the_default(client: Any, ingested: Reckoning) -> None:
    start, end = ingested.first_day() - timedelta(days=3), ingested.first_day() + timedelta(days=10)
    explicit = client.get("/metrics/revenue/series", q(start, end, granularity="day")).json()
    default = client.get("/metrics/revenue/series", q(start, end)).json()
    assert explicit == default
    assert default["periods"] == [_period(ingested.range(d, d)) for d in (start + timedelta(days=n) for n in range(14))]
    assert default["periods"][0] == {
        "start": start.isoformat(),
        "end": start.isoformat(),
        "revenue_sgd": "0.00",
        "order_count": 0,
        "average_order_value_sgd": "0.00",
        "refund_count": 0,
        "refunds_sgd": "0.00",
    }


def test_a_week_series_across_a_year_end_follows_iso_weeks() -> None:
    assert _weeks(date(2025, 12, 29), date(2026, 1, 11)) == [
        (date(2025, 12, 29), date(2026, 1, 4)),
        (date(2026, 1, 5), date(2026, 1, 11)),
    ]
    from salesmetrics.metrics import periods

    assert periods(date(2025, 12, 27), date(2026, 1, 6), "week") == [
        (date(2025, 12, 27), date(2025, 12, 28)),
        (date(2025, 12, 29), date(2026, 1, 4)),
        (date(2026, 1, 5), date(2026, 1, 6)),
    ]
    assert periods(date(2024, 1, 31), date(2024, 3, 1), "month") == [
        (date(2024, 1, 31), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 1)),
    ]
    assert periods(date(9999, 12, 27), date(9999, 12, 31), "week")[-1] == (date(9999, 12, 27), date(9999, 12, 31))


# -- comparisons ------------------------------------------------------------------------------------


def _pct(current: Fraction, previous: Fraction) -> str | None:
    """The issue's formula written out: (c - p) / |p| x 100, half-up to one decimal."""
    if previous == 0:
        return None
    value = (current - previous) / abs(previous) * 100
    tenths = int(abs(value) * 10 + Fraction(1, 2))
    return ("-" if value < 0 and tenths else "") + f"{tenths // 10}.{tenths % 10}"


def _aov(figures: RangeFigures) -> Fraction:
    return Fraction(figures.order_value) / figures.order_count if figures.order_count else Fraction(0)


def _comparison(now: RangeFigures, before: RangeFigures) -> dict[str, Any]:
    return {
        "start": before.start.isoformat(),
        "end": before.end.isoformat(),
        "total_revenue_sgd": _money(before.total_revenue),
        "net_revenue_sgd": _money(before.net_revenue),
        "tax_sgd": _money(before.tax),
        "discounts_sgd": _money(before.discounts),
        "order_count": before.order_count,
        "average_order_value_sgd": _money(before.average_order_value),
        "refund_count": before.refund_count,
        "refunds_sgd": _money(before.refunds),
        "change_pct": {
            "total_revenue_sgd": _pct(Fraction(now.total_revenue), Fraction(before.total_revenue)),
            "net_revenue_sgd": _pct(Fraction(now.net_revenue), Fraction(before.net_revenue)),
            "order_count": _pct(Fraction(now.order_count), Fraction(before.order_count)),
            "average_order_value_sgd": _pct(_aov(now), _aov(before)),
            "refunds_sgd": _pct(Fraction(now.refunds), Fraction(before.refunds)),
        },
    }


def test_compare_with_the_previous_period(client: Any, ingested: Reckoning) -> None:
    first = ingested.first_day()
    start, end = first + timedelta(days=12), first + timedelta(days=21)
    body = client.get("/metrics/revenue", q(start, end, compare="previous_period")).json()
    before = ingested.range(first + timedelta(days=2), first + timedelta(days=11))  # ten days, ending the day before
    assert body["comparison"] == _comparison(ingested.range(start, end), before)
    assert body["total_revenue_sgd"] == _money(ingested.range(start, end).total_revenue)
    changes = body["comparison"]["change_pct"].values()
    assert all(v is None or v.replace("-", "").replace(".", "").isdigit() for v in changes)


def test_compare_with_the_previous_year_and_nothing_then_is_null(client: Any, ingested: Reckoning) -> None:
    first, last = ingested.first_day(), ingested.last_day()
    body = client.get("/metrics/revenue", q(first, last, compare="previous_year")).json()
    a_year_before = ingested.range(first.replace(year=first.year - 1), last.replace(year=last.year - 1))
    assert a_year_before.sales_count == 0
    assert body["comparison"] == _comparison(ingested.range(first, last), a_year_before)
    assert set(body["comparison"]["change_pct"].values()) == {None}  # nothing sold then: no percentage


def test_a_year_before_29_february_is_28_february(client: Any, ingested: Reckoning) -> None:
    body = client.get("/metrics/revenue", q(date(2024, 2, 29), date(2028, 2, 29), compare="previous_year")).json()
    assert (body["comparison"]["start"], body["comparison"]["end"]) == ("2023-02-28", "2027-02-28")
    body = client.get("/metrics/revenue", q(date(2025, 3, 1), date(2025, 3, 1), compare="previous_period")).json()
    assert (body["comparison"]["start"], body["comparison"]["end"]) == ("2025-02-28", "2025-02-28")


def test_without_compare_the_answer_has_no_comparison(client: Any, ingested: Reckoning) -> None:
    body = client.get("/metrics/revenue", q(ingested.first_day(), ingested.last_day())).json()
    assert "comparison" not in body and len(body) == 11


def test_change_pct_rounds_half_up_to_one_decimal() -> None:
    from salesmetrics.metrics import change_pct

    assert change_pct(Decimal("112.50"), Decimal("100")) == "12.5"
    assert change_pct(Decimal(97), Decimal(100)) == "-3.0"
    assert change_pct(Decimal("100.05"), Decimal(100)) == "0.1"  # 0.05 -> 0.1: ties away from zero
    assert change_pct(Decimal("99.95"), Decimal(100)) == "-0.1"
    assert change_pct(Decimal("99.96"), Decimal(100)) == "0.0"  # -0.04: never "-0.0"
    assert change_pct(Decimal(-100), Decimal(-50)) == "-100.0"  # refunds doubled
    assert change_pct(Decimal(5), Decimal(0)) is None
    assert change_pct(2, 3) == "-33.3"
    assert change_pct(1, 3) == "-66.7"


# -- breakdowns -------------------------------------------------------------------------------------


def _row(key: str, f: KeyFigures) -> dict[str, Any]:
    return {
        "key": key,
        "revenue_sgd": _money(f.revenue),
        "net_revenue_sgd": _money(f.net_revenue),
        "quantity": int(f.quantity) if f.quantity == int(f.quantity) else float(f.quantity),
        "line_count": f.line_count,
        "sale_count": f.sale_count,
    }


def _expected_breakdown(truth: Reckoning, dimension: str, start: date, end: date, limit: int) -> dict[str, Any]:
    figures = truth.breakdown(dimension, start, end)
    ordered = sorted(figures.items(), key=lambda kv: (-cents(kv[1].revenue), kv[0]))
    rest = [f for _, f in ordered[limit:]]
    others = None
    if rest:
        quantity = sum((f.quantity for f in rest), Decimal(0))
        others = {
            "key_count": len(rest),
            "revenue_sgd": _money(sum((f.revenue for f in rest), Decimal(0))),
            "net_revenue_sgd": _money(sum((f.net_revenue for f in rest), Decimal(0))),
            "quantity": int(quantity) if quantity == int(quantity) else float(quantity),
            "line_count": sum(f.line_count for f in rest),
        }
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "currency": "SGD",
        "dimension": dimension,
        "total_revenue_sgd": _money(truth.range(start, end).total_revenue),
        "rows": [_row(k, f) for k, f in ordered[:limit]],
        "others": others,
    }


@pytest.mark.parametrize("dimension", ["item", "location", "payment_method"])
def test_revenue_by_each_dimension_matches_the_reckoner(client: Any, ingested: Reckoning, dimension: str) -> None:
    first, last = ingested.first_day(), ingested.last_day()
    one_day = first + timedelta(days=5)
    for start, end, limit in (
        (first, last, 1000),
        (first, last, 20),
        (one_day, one_day, 3),
        (first - timedelta(days=9), first - timedelta(days=1), 20),
    ):
        reply = client.get(
            f"/metrics/revenue/by/{dimension}", q(start, end, limit=limit), path_parameters={"dimension": dimension}
        )
        assert reply.status == 200, reply.text
        assert reply.json() == _expected_breakdown(ingested, dimension, start, end, limit), (start, end, limit)


def test_a_breakdown_counts_every_line_under_its_own_trimmed_key(client: Any, ingested: Reckoning) -> None:
    first, last = ingested.first_day(), ingested.last_day()
    items = client.get(
        "/metrics/revenue/by/item", q(first, last, limit=1000), path_parameters={"dimension": "item"}
    ).json()
    keys = [row["key"] for row in items["rows"]]
    assert all(key == key.strip() for key in keys) and "Mineral Water" in keys  # exported as "Mineral Water "
    assert FORMULA_ITEM in keys and items["others"] is None
    payments = client.get(
        "/metrics/revenue/by/payment_method",
        q(first, last, limit=1000),
        path_parameters={"dimension": "payment_method"},
    ).json()
    assert NONE_KEY in [row["key"] for row in payments["rows"]]  # lines without a payment method
    assert any(row["quantity"] < 0 or Decimal(row["revenue_sgd"]) < 0 for row in items["rows"]) or any(
        Decimal(r["revenue_sgd"]) == 0 for r in items["rows"]
    )


def test_rows_are_by_rounded_revenue_then_key_and_others_sum_the_rest(client: Any, ingested: Reckoning) -> None:
    first, last = ingested.first_day(), ingested.last_day()
    body = client.get("/metrics/revenue/by/item", q(first, last, limit=5), path_parameters={"dimension": "item"}).json()
    revenue = [Decimal(r["revenue_sgd"]) for r in body["rows"]]
    assert revenue == sorted(revenue, reverse=True) and len(body["rows"]) == 5
    whole = client.get(
        "/metrics/revenue/by/item", q(first, last, limit=1000), path_parameters={"dimension": "item"}
    ).json()
    assert whole["rows"][:5] == body["rows"]
    rest = whole["rows"][5:]
    assert body["others"]["key_count"] == len(rest)
    assert body["others"]["line_count"] == sum(r["line_count"] for r in rest)
    # The exact amounts add up to the range's revenue (each figure is then rounded on its own).
    truth = ingested.breakdown("item", first, last)
    assert sum((f.revenue for f in truth.values()), Decimal(0)) == ingested.range(first, last).total_revenue
    shown = sum(Decimal(r["revenue_sgd"]) for r in body["rows"]) + Decimal(body["others"]["revenue_sgd"])
    assert abs(shown - Decimal(body["total_revenue_sgd"])) <= Decimal("0.005") * (len(body["rows"]) + 2)


# -- CSV --------------------------------------------------------------------------------------------


def _csv(reply: Any) -> list[dict[str, str]]:
    assert reply.status == 200, reply.text
    assert reply.header("content-type") == "text/csv; charset=utf-8"
    disposition = reply.header("content-disposition") or ""
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.csv"')
    assert reply.text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(reply.text, newline="")))


def _as_text(value: Any) -> str:
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return "" if value is None else str(value)


def test_daily_csv_is_the_json_days_row_for_row(client: Any, ingested: Reckoning) -> None:
    query = q(ingested.first_day(), ingested.last_day())
    days = client.get("/metrics/revenue/daily", query).json()["days"]
    rows = _csv(client.get("/metrics/revenue/daily", {**query, "format": "csv"}))
    assert rows == [{k: _as_text(v) for k, v in day.items()} for day in days]


def test_series_csv_is_the_json_periods_row_for_row(client: Any, ingested: Reckoning) -> None:
    query = q(ingested.first_day(), ingested.last_day(), granularity="week")
    periods = client.get("/metrics/revenue/series", query).json()["periods"]
    rows = _csv(client.get("/metrics/revenue/series", {**query, "format": "csv"}))
    assert rows == [{k: _as_text(v) for k, v in p.items()} for p in periods]


def test_breakdown_csv_is_the_json_rows_then_others_and_formulas_are_inert(client: Any, ingested: Reckoning) -> None:
    query = q(ingested.first_day(), ingested.last_day(), limit=30)
    body = client.get("/metrics/revenue/by/item", query, path_parameters={"dimension": "item"}).json()
    rows = _csv(
        client.get("/metrics/revenue/by/item", {**query, "format": "csv"}, path_parameters={"dimension": "item"})
    )
    want = [{k: _as_text(v) for k, v in r.items()} for r in body["rows"]]
    for row in want:
        if row["key"] == FORMULA_ITEM:
            row["key"] = "'" + FORMULA_ITEM  # shown as text by a spreadsheet, never run
    others = body["others"]
    want.append(
        {
            "key": "(others)",
            "revenue_sgd": others["revenue_sgd"],
            "net_revenue_sgd": others["net_revenue_sgd"],
            "quantity": _as_text(others["quantity"]),
            "line_count": str(others["line_count"]),
            "sale_count": "",
        }
    )
    assert rows == want
    every = _csv(
        client.get(
            "/metrics/revenue/by/item",
            {**query, "limit": "1000", "format": "csv"},
            path_parameters={"dimension": "item"},
        )
    )
    assert "'" + FORMULA_ITEM in [r["key"] for r in every] and FORMULA_ITEM not in [r["key"] for r in every]
    assert all(Decimal(r["revenue_sgd"]) == Decimal(r["revenue_sgd"]).quantize(Decimal("0.01")) for r in rows)


# -- rejects ----------------------------------------------------------------------------------------


def test_rejects_redirects_to_a_five_minute_presigned_url_of_the_file(
    client: Any, world: tuple[Reckoning, Any]
) -> None:
    imports = client.get("/imports").json()["imports"]
    partial = [i for i in imports if i["rejects_key"]]
    assert partial
    record = partial[0]
    reply = client.get(f"/imports/{record['import_id']}/rejects", path_parameters={"import_id": record["import_id"]})
    assert reply.status == 302
    url = urlparse(reply.header("location") or "")
    assert url.path.endswith("/" + record["rejects_key"]) or url.path == f"/{BUCKET}/{record['rejects_key']}"
    params = parse_qs(url.query)
    assert params["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in params
    body = world[1].get_object(Bucket=BUCKET, Key=record["rejects_key"])["Body"].read().decode()
    assert "abc" in body and body.startswith("line,sale_id,reason")
    clean = [i for i in imports if not i["rejects_key"]]
    assert clean
    none = client.get(f"/imports/{clean[0]['import_id']}/rejects", path_parameters={"import_id": clean[0]["import_id"]})
    assert none.status == 404 and "no rejects file" in none.json()["message"]


@pytest.mark.parametrize("import_id", ["imp_0123456789abcdef01234567", "x" * 200, "a b", "%00"])
def test_rejects_of_an_unknown_import_is_404(client: Any, import_id: str) -> None:
    reply = client.get(f"/imports/{import_id}/rejects", path_parameters={"import_id": import_id})
    assert reply.status == 404 and reply.json()["message"].startswith("no import with import_id")


# -- bad parameters ---------------------------------------------------------------------------------

GOOD = {"start": "2025-03-01", "end": "2025-03-31"}
BAD_PARAMETERS = [
    ("/metrics/revenue/series", {**GOOD, "granularity": "year"}, "granularity"),
    ("/metrics/revenue/series", {**GOOD, "granularity": "Week"}, "granularity"),
    ("/metrics/revenue/series", {**GOOD, "format": "xlsx"}, "format"),
    ("/metrics/revenue/series", {"start": "2025-3-1", "end": "2025-03-31"}, "start"),
    ("/metrics/revenue/series", {"start": "2025-03-31", "end": "2025-03-01"}, "start"),
    ("/metrics/revenue/series", {"start": "2000-01-01", "end": "2025-03-01"}, "end"),
    ("/metrics/revenue/series", {"start": "2025-03-01"}, "end"),
    ("/metrics/revenue", {**GOOD, "compare": "last_year"}, "compare"),
    ("/metrics/revenue", {"start": "0001-01-01", "end": "0001-01-31", "compare": "previous_period"}, "compare"),
    ("/metrics/revenue", {"start": "0001-01-01", "end": "0001-01-31", "compare": "previous_year"}, "compare"),
    ("/metrics/revenue/daily", {**GOOD, "format": "CSV"}, "format"),
    ("/metrics/revenue/daily", {**GOOD, "format": "csv,json"}, "format"),
    ("/metrics/revenue/by/item", {**GOOD, "limit": "0"}, "limit"),
    ("/metrics/revenue/by/item", {**GOOD, "limit": "1001"}, "limit"),
    ("/metrics/revenue/by/item", {**GOOD, "limit": "ten"}, "limit"),
    ("/metrics/revenue/by/item", {**GOOD, "format": "pdf"}, "format"),
    ("/metrics/revenue/by/item", {"start": "2025-02-30", "end": "2025-03-31"}, "start"),
    ("/metrics/revenue/by/item", {"start": "2025-03-01", "end": "20250331"}, "end"),
]


@pytest.mark.parametrize(("path", "query", "parameter"), BAD_PARAMETERS, ids=[f"{p} {n}" for p, _, n in BAD_PARAMETERS])
def test_a_bad_parameter_is_a_400_naming_it(
    offline_client: Any, path: str, query: dict[str, str], parameter: str
) -> None:
    kw = {"path_parameters": {"dimension": "item"}} if "/by/" in path else {}
    reply = offline_client.get(path, query, **kw)
    assert reply.status == 400, reply.text
    body = reply.json()
    assert parameter in body["message"], body
    assert body["errors"][0]["parameter"] == parameter


@pytest.mark.parametrize("dimension", ["customer", "Item", "items", "payment-method"])
def test_an_unknown_dimension_is_a_400_naming_it(offline_client: Any, dimension: str) -> None:
    reply = offline_client.get(f"/metrics/revenue/by/{dimension}", GOOD, path_parameters={"dimension": dimension})
    assert reply.status == 400
    assert reply.json()["errors"][0] == {
        "parameter": "dimension",
        "location": "path",
        "type": "enum",
        "message": reply.json()["errors"][0]["message"],
    }
    assert "'dimension'" in reply.json()["message"] and "item" in reply.json()["message"]


@pytest.mark.parametrize("quantity", ["3", "-2", "0.5", "-1.333", "12345678901234567890.25", "0.000000000000000001"])
def test_a_quantity_is_an_exact_json_number_whatever_its_digits(quantity: str) -> None:
    from metrics_api.answers import json_answer
    from metrics_api.models import BreakdownRow

    # Keys that look like the answer's internal number marker stay text.
    key = "\\u0000number:5 \u00e9"
    row = BreakdownRow(
        key=key, revenue_sgd="1.00", net_revenue_sgd="1.00", quantity=Decimal(quantity), line_count=1, sale_count=1
    )
    body = json_answer(row).body
    parsed = json.loads(body, parse_float=Decimal)
    assert parsed["quantity"] == Decimal(quantity) and not isinstance(parsed["quantity"], str)
    assert parsed["key"] == key
