"""Exports saved other ways (gzip, Excel "Unicode text", semicolon CSV) through the ingest function
on moto: the S3 body is streamed as in production, and the figures are those of the plain export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from moto import mock_aws

from salesmetrics.config import get_settings
from salesmetrics.storage.dynamodb import DynamoStorage
from tests.ingest.support import T0, check_exact, context, create_resources, export_bytes, put, sample_sales


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sales-ingest-test")
    monkeypatch.setenv("UPLOADS_PREFIX", "uploads/")
    monkeypatch.setenv("REJECTS_PREFIX", "rejects/")
    with mock_aws():
        ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
        table = create_resources(ddb, s3)
        monkeypatch.setenv("TABLE_NAME", table)
        import ingest_handler

        ingest_handler.reset()
        yield {"s3": s3, "handler": ingest_handler, "storage": DynamoStorage(table)}
        get_settings.cache_clear()


def ingest_one(aws: dict[str, Any], key: str, data: bytes) -> dict[str, Any]:
    result = aws["handler"].handler(put(aws["s3"], key, data, T0), context())
    (record,) = result["imports"]
    assert isinstance(record, dict)
    return record


@pytest.mark.parametrize(("key", "options"), [
    ("uploads/march.csv.gz", {"gzipped": True}),
    ("uploads/march.csv", {"gzipped": True}),  # gzip is known by its bytes, not its name
    ("uploads/march-unicode.csv", {"dialect": "unicode-text"}),  # Excel suggests .txt: the name must say .csv
    ("uploads/march-eu.csv", {"dialect": "semicolon", "messy": True}),
    ("uploads/march-eu.CSV.GZ", {"dialect": "semicolon", "gzipped": True}),
])
def test_an_export_saved_another_way_gives_the_figures_of_the_plain_export(aws: dict[str, Any], key: str,
                                                                            options: dict[str, Any]) -> None:
    sales = sample_sales(seed=11, lines=300)
    plain = export_bytes(sales, client_names=True)
    record = ingest_one(aws, key, export_bytes(sales, client_names=True, **options))
    assert record["status"] == "SUCCEEDED", record["message"]
    assert record["rows_total"] == record["rows_ingested"] == 300
    check_exact(aws["storage"], [plain])


@pytest.mark.parametrize(("name", "data", "message"), [
    ("workbook.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml\x00\x00",
     "the file is an Excel workbook (.xlsx), not a CSV export"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old-format Excel workbook (.xls)"),
    ("receipt.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is a PNG image"),
])
def test_a_file_that_is_no_export_ends_failed_saying_what_it_is(aws: dict[str, Any], name: str, data: bytes,
                                                                 message: str) -> None:
    # Named .csv (a workbook saved or renamed under an export's name): the name lets it in, the bytes tell.
    record = ingest_one(aws, f"uploads/{name}.csv", data)
    assert record["status"] == "FAILED"
    assert message in record["message"]
    assert aws["storage"].day_totals(date(2000, 1, 1), date(2100, 1, 1)) == {}
