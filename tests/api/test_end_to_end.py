"""Generated exports -> S3 -> the ingest handler -> the API, figures against tests/reckoning.py.

The sample generator (devtools/samplegen.py) writes exports with the real quirks (mixed date
forms, 3-decimal money, refunds, zero-total sales, comps); the reckoner (tests/reckoning.py)
computes the contract's figures from the same bytes with plain csv and Decimal. The API must agree with
it to the cent, for the whole range, for sub-ranges, and per day.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from devtools.s3events import build_put_event
from devtools.samplegen import generate_export
from tests.api.conftest import BUCKET
from tests.ingest.support import context
from tests.reckoning import RangeFigures, Reckoning, cents, reckon


def _export(lines: int, seed: int) -> bytes:
    out = io.BytesIO()
    generate_export(out, lines=lines, seed=seed, start=date(2025, 3, 1))
    return out.getvalue()


def _upload(s3: Any, key: str, data: bytes, when: datetime) -> dict[str, Any]:
    put = s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    return build_put_event(
        bucket=BUCKET, key=key, size=len(data), etag=put["ETag"].strip('"'), version_id=put.get("VersionId"), when=when
    )


@pytest.fixture
def ingested(aws: dict[str, Any]) -> Reckoning:
    """Two uploads: an export, then a longer one of the same shop that repeats and extends it."""
    # Imported here, with the environment set: like Lambda's INIT, the import reads the settings.
    ingest_handler = pytest.importorskip("ingest_handler")
    ingest_handler.reset()
    aws["s3"].put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first, second = _export(250, seed=11), _export(450, seed=11)
    t0 = datetime(2025, 4, 20, 9, 0, tzinfo=UTC)
    for n, data in enumerate((first, second)):
        event = _upload(aws["s3"], f"uploads/2025/04/20/export-{n}.csv", data, t0 + timedelta(minutes=n))
        result = ingest_handler.handler(event, context("IngestFunction"))  # the ingest's 900 s, not the API's 30 s
        assert [i["status"] for i in result["imports"]] == ["SUCCEEDED"], result
    ingest_handler.reset()
    return reckon([first, second])


def _expected(figures: RangeFigures) -> dict[str, Any]:
    return {
        "start": figures.start.isoformat(),
        "end": figures.end.isoformat(),
        "currency": "SGD",
        "total_revenue_sgd": _money(figures.total_revenue),
        "net_revenue_sgd": _money(figures.net_revenue),
        "tax_sgd": _money(figures.tax),
        "discounts_sgd": _money(figures.discounts),
        "order_count": figures.order_count,
        "average_order_value_sgd": _money(figures.average_order_value),
        "refund_count": figures.refund_count,
        "refunds_sgd": _money(figures.refunds),
    }


def _money(value: Decimal) -> str:
    text = format(cents(value), "f")
    return "0.00" if text == "-0.00" else text


def test_revenue_matches_the_reckoner(client: Any, ingested: Reckoning) -> None:
    first, last = ingested.first_day(), ingested.last_day()
    assert ingested.range(first, last).refund_count > 0  # the sample has refunds to get right
    ranges = [
        (first, last),
        (first - timedelta(days=30), last + timedelta(days=30)),
        (first, first),
        (first + timedelta(days=3), last - timedelta(days=2)),
    ]
    for start, end in ranges:
        reply = client.get("/metrics/revenue", {"start": start.isoformat(), "end": end.isoformat()})
        assert reply.status == 200, reply.text
        assert reply.json() == _expected(ingested.range(start, end)), (start, end)


def test_daily_matches_the_reckoner(client: Any, ingested: Reckoning) -> None:
    start, end = ingested.first_day() - timedelta(days=2), ingested.last_day() + timedelta(days=2)
    reply = client.get("/metrics/revenue/daily", {"start": start.isoformat(), "end": end.isoformat()})
    assert reply.status == 200, reply.text
    want = [
        {
            "date": d.day.isoformat(),
            "revenue_sgd": _money(d.revenue),
            "order_count": d.order_count,
            "average_order_value_sgd": _money(d.average_order_value),
        }
        for d in ingested.daily(start, end)
    ]
    assert reply.json()["days"] == want


def test_imports_are_listed_newest_first(client: Any, ingested: Reckoning) -> None:
    body = client.get("/imports").json()
    assert [i["key"] for i in body["imports"]] == ["uploads/2025/04/20/export-1.csv", "uploads/2025/04/20/export-0.csv"]
    one = body["imports"][0]
    reply = client.get(f"/imports/{one['import_id']}", path_parameters={"import_id": one["import_id"]})
    assert reply.status == 200 and reply.json() == one
    assert one["status"] == "SUCCEEDED" and one["rows_ingested"] == one["rows_total"] > 0
