"""The composites a handler (`AwsStorage`) or a use-case test (`MemoryStorage`) builds: each is
every capability at once, and a use case given one reaches them all through it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from salesmetrics.imports import ImportRecord, ImportStatus
from salesmetrics.sales import DayTotals, Sale, SaleChange, SaleLine
from salesmetrics.storage.base import SaleWrite, WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.moto_resources import BUCKET, moto_aws

DAY = date(2025, 3, 1)


@pytest.fixture(params=["memory", "aws"])
def composite(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """(the composite, a function that uploads bytes to BUCKET and answers the version id)."""
    if request.param == "memory":
        fake = MemoryStorage()
        yield fake, lambda key, data: fake.put_object(BUCKET, key, data)
        return
    with moto_aws() as aws:
        s3 = aws["s3"]
        yield aws["storage"], lambda key, data: str(s3.put_object(Bucket=BUCKET, Key=key, Body=data)["VersionId"])


def test_one_composite_answers_for_every_capability(composite: tuple[Any, Any]) -> None:
    storage, upload = composite
    line = SaleLine(1, "Bay hire", Decimal(1), None, None, None, Decimal(0), Decimal("34.88"), "Visa", "Studio")
    sale = Sale.build("1", DAY, "c1", (line,))
    written = WriteBatch(
        writes=[SaleWrite(sale, "v1", "imp_1", "imp_1", None, SaleChange.CREATED, "h")],
        day_deltas={DAY: DayTotals.of(sale.total, sale.tax, sale.discounts)},
    )
    assert storage.commit(written).written  # sales
    assert storage.day_totals(DAY, DAY)[DAY].revenue == Decimal("34.88")
    storage.put_import(ImportRecord("imp_1", BUCKET, "uploads/a.csv", ImportStatus.SUCCEEDED, "2026-12-01T10:00:00Z"))
    assert [r.import_id for r in storage.list_imports(5, None)[0]] == ["imp_1"]  # imports
    version = upload("uploads/a.csv", b"Sale ID\r\n1\r\n")
    with storage.open_object(BUCKET, "uploads/a.csv", version) as stream:  # objects
        assert stream.read() == b"Sale ID\r\n1\r\n"
    storage.put_rejects(BUCKET, "rejects/imp_1.csv", io.BytesIO(b"x"))
    assert BUCKET in storage.presign_download(BUCKET, "rejects/imp_1.csv", 60)
    storage.check_table()  # health
    storage.check_bucket(BUCKET)
