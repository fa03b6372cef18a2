"""Exports saved other ways (gzip, Excel "Unicode text", semicolon CSV) through the ingest function
on moto: the S3 body is streamed as in production, and the figures are those of the plain export."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.ingest.support import T0, check_exact, context, export_bytes, put, sample_sales


def ingest_one(lambda_aws: dict[str, Any], key: str, data: bytes) -> dict[str, Any]:
    result = lambda_aws["handler"].handler(put(lambda_aws["s3"], key, data, T0), context())
    (record,) = result["imports"]
    assert isinstance(record, dict)
    return record


@pytest.mark.parametrize(
    ("key", "options"),
    [
        ("uploads/march.csv.gz", {"gzipped": True}),
        ("uploads/march.csv", {"gzipped": True}),  # gzip is known by its bytes, not its name
        ("uploads/march-unicode.csv", {"dialect": "unicode-text"}),  # Excel suggests .txt: the name must say .csv
        ("uploads/march-eu.csv", {"dialect": "semicolon", "messy": True}),
        ("uploads/march-eu.CSV.GZ", {"dialect": "semicolon", "gzipped": True}),
    ],
)
def test_an_export_saved_another_way_gives_the_figures_of_the_plain_export(
    lambda_aws: dict[str, Any], key: str, options: dict[str, Any]
) -> None:
    sales = sample_sales(seed=11, lines=300)
    plain = export_bytes(sales, client_names=True)
    record = ingest_one(lambda_aws, key, export_bytes(sales, client_names=True, **options))
    assert record["status"] == "SUCCEEDED", record["message"]
    assert record["rows_total"] == record["rows_ingested"] == 300
    check_exact(lambda_aws["storage"], [plain])


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "workbook.xlsx",
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml\x00\x00",
            "the file is an Excel workbook (.xlsx), not a CSV export",
        ),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old-format Excel workbook (.xls)"),
        ("receipt.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is a PNG image"),
    ],
)
def test_a_file_that_is_no_export_ends_failed_saying_what_it_is(
    lambda_aws: dict[str, Any], name: str, data: bytes, message: str
) -> None:
    # Named .csv (a workbook saved or renamed under an export's name): the name lets it in, the bytes tell.
    record = ingest_one(lambda_aws, f"uploads/{name}.csv", data)
    assert record["status"] == "FAILED"
    assert message in record["message"]
    assert lambda_aws["storage"].day_totals(date(2000, 1, 1), date(2100, 1, 1)) == {}
