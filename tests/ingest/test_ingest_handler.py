"""The ingest function end to end on moto: real-shaped S3 events in, exact figures out."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from salesmetrics.config import get_settings
from salesmetrics.storage.dynamodb import DynamoStorage
from tests.ingest.support import (
    BUCKET,
    T0,
    check_exact,
    context,
    corrected,
    create_resources,
    export_bytes,
    put,
    sample_sales,
)
from tests.reckoning import reckon


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

        get_settings.cache_clear()
        for cached in (ingest_handler._storage, ingest_handler._ingest_once, ingest_handler._idempotency_config):
            cached.cache_clear()
        yield {"s3": s3, "ddb": ddb, "table": table, "handler": ingest_handler,
               "storage": DynamoStorage(table)}
        get_settings.cache_clear()


@pytest.fixture
def output(aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Everything the function printed: its JSON logs (Powertools' handler keeps the stream it was
    created with, so point it at a buffer) and its EMF metrics (printed to stdout)."""
    buffer = io.StringIO()
    handler = aws["handler"].logger.registered_handler
    previous = handler.setStream(buffer)
    capsys.readouterr()
    yield lambda: buffer.getvalue() + capsys.readouterr().out
    handler.setStream(previous)


def ingest(aws: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = aws["handler"].handler(event, context())
    return result


def only_import(result: dict[str, Any]) -> dict[str, Any]:
    assert len(result["imports"]) == 1, result
    record: dict[str, Any] = result["imports"][0]
    return record


def test_an_export_becomes_exact_figures_and_an_import_record(aws: dict[str, Any]) -> None:
    data = export_bytes(sample_sales(seed=1, lines=400), client_names=True, bom=True)
    record = only_import(ingest(aws, put(aws["s3"], "uploads/march sales+refunds.csv", data, T0)))

    assert record["status"] == "SUCCEEDED"
    assert record["key"] == "uploads/march sales+refunds.csv"  # decoded from `march+sales%2Brefunds.csv`
    assert record["rows_total"] == record["rows_ingested"] == 400
    truth = reckon([data])
    assert record["sales_created"] == len(truth.sales)
    assert record["rows_rejected"] == 0 and record["rejects_key"] is None
    check_exact(aws["storage"], [data])
    stored = aws["storage"].get_import(record["import_id"])
    assert stored is not None and stored.status == "SUCCEEDED" and stored.finished_at


def test_redelivery_of_the_same_event_changes_nothing(aws: dict[str, Any]) -> None:
    data = export_bytes(sample_sales(seed=2, lines=200))
    event = put(aws["s3"], "uploads/a.csv", data, T0)
    first = only_import(ingest(aws, event))
    again = only_import(ingest(aws, event))
    assert again == first  # the idempotency layer returns the finished import
    check_exact(aws["storage"], [data])


def test_the_same_file_under_another_key_and_an_overlapping_slice_change_nothing(aws: dict[str, Any]) -> None:
    sales = sample_sales(seed=3, lines=300)
    data = export_bytes(sales)
    ingest(aws, put(aws["s3"], "uploads/a.csv", data, T0))
    copy = only_import(ingest(aws, put(aws["s3"], "uploads/copy of a.csv", data, T0 + timedelta(minutes=1))))
    overlap = export_bytes(sales[len(sales) // 3: 2 * len(sales) // 3])
    sliced = only_import(ingest(aws, put(aws["s3"], "uploads/slice.csv", overlap, T0 + timedelta(minutes=2))))

    assert copy["sales_created"] == copy["sales_updated"] == 0
    assert copy["sales_unchanged"] == len(reckon([data]).sales)
    assert sliced["sales_created"] == sliced["sales_updated"] == 0
    check_exact(aws["storage"], [data, data, overlap])


def test_a_corrected_export_replaces_earlier_versions_and_moves_redated_sales(aws: dict[str, Any]) -> None:
    sales = sample_sales(seed=4, lines=300)
    data = export_bytes(sales)
    ingest(aws, put(aws["s3"], "uploads/a.csv", data, T0))
    fixed = [corrected(s, move_days=1 if i % 2 else 0) if i % 10 == 0 else s for i, s in enumerate(sales)]
    fix = export_bytes(fixed[:150])
    record = only_import(ingest(aws, put(aws["s3"], "uploads/fix.csv", fix, T0 + timedelta(hours=1))))
    assert record["sales_updated"] == 15
    check_exact(aws["storage"], [data, fix])


def test_a_late_event_of_an_older_upload_never_overrides_a_newer_one(aws: dict[str, Any]) -> None:
    sales = sample_sales(seed=5, lines=120)
    old = export_bytes(sales)
    new = export_bytes([corrected(s) for s in sales])
    old_event = put(aws["s3"], "uploads/old.csv", old, T0)
    new_event = put(aws["s3"], "uploads/new.csv", new, T0 + timedelta(minutes=5))
    ingest(aws, new_event)
    late = only_import(ingest(aws, old_event))  # e.g. an async retry delivered after the newer file
    assert late["sales_updated"] == late["sales_created"] == 0
    check_exact(aws["storage"], [old, new])


@pytest.mark.parametrize(("name", "data", "message"), [
    ("empty", b"", "empty"),
    ("whitespace", b"\r\n\r\n  \r\n", "empty"),
    ("header only", b"Sale Date,Sale ID,Item Total\r\n", "no sales lines"),
    ("not csv", b"%PDF-1.7\n\x00\x01\x02 binary", "PDF document"),
    ("wrong columns", b"Name,Email\nAda,ada@example.com\n", "missing required column"),
    ("undecodable header", b"\x81\x8d\x8f,\x90\x9d\n\x81,\x9d\n", "missing required column"),
])
def test_an_unusable_file_ends_failed_without_a_retry(aws: dict[str, Any], name: str, data: bytes,
                                                      message: str) -> None:
    record = only_import(ingest(aws, put(aws["s3"], f"uploads/{name}.csv", data, T0)))
    assert record["status"] == "FAILED"
    assert message in record["message"]
    assert aws["storage"].day_totals(date(2000, 1, 1), date(2100, 1, 1)) == {}


def _rejects(aws: dict[str, Any], key: str) -> list[list[str]]:
    body = aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
    return list(csv.reader(io.StringIO(body, newline="")))


def test_bad_lines_reject_their_sale_into_an_inert_rejects_file_and_the_rest_ingests(aws: dict[str, Any]) -> None:
    header = "Sale Date,Client,Sale ID,Item name,Tax,Item Total\r\n"
    rows = [
        "3/1/2025,Ada Lovelace,1,Water,0.036,0.436\r\n",
        '3/1/2025,Grace Hopper,2,"=HYPERLINK(""http://evil"",""x"")",0,10\r\n',
        "3/1/2025,Grace Hopper,2,Balls,0,abc\r\n",
        "03/02/2025,Alan Turing,3,Lesson,16.2,196.2\r\n",
        "3/2/2025,Alan Turing,4,Refund,-16.2,-196.2\r\n",
        "2/30/2025,Edsger,5,Gloves,0,5\r\n",
    ]
    data = (header + "".join(rows)).encode()
    record = only_import(ingest(aws, put(aws["s3"], "uploads/mixed.csv", data, T0)))

    assert record["status"] == "PARTIAL"
    assert (record["rows_total"], record["rows_ingested"], record["rows_rejected"]) == (6, 3, 3)
    rejects = _rejects(aws, record["rejects_key"])
    assert rejects[0] == ["line", "sale_id", "reason", "Sale Date", "Sale ID", "Item name", "Tax", "Item Total"]
    by_line = {int(r[0]): r for r in rejects[1:]}
    assert set(by_line) == {3, 4, 7}
    assert "Item Total" in by_line[4][2] and "line 4" in by_line[3][2]
    assert by_line[3][5].startswith("'=HYPERLINK")  # inert in a spreadsheet
    assert "Sale Date" in by_line[7][2]
    assert not any("Grace" in cell or "Hopper" in cell for row in rejects for cell in row)
    day = aws["storage"].day_totals(date(2025, 3, 1), date(2025, 3, 2))
    assert day[date(2025, 3, 1)].revenue == Decimal("0.436")
    assert day[date(2025, 3, 2)].revenue == Decimal(0)
    assert day[date(2025, 3, 2)].refund_count == 1 and day[date(2025, 3, 2)].order_count == 1


def test_a_ten_megabyte_field_rejects_its_row_only(aws: dict[str, Any]) -> None:
    big = "x" * (10 * 1024 * 1024)
    data = (f'Sale Date,Sale ID,Item Total,Sales Notes\n3/1/2025,1,5,"{big}"\n3/1/2025,2,7,ok\n').encode()
    record = only_import(ingest(aws, put(aws["s3"], "uploads/big.csv", data, T0)))
    assert record["status"] == "PARTIAL" and record["rows_ingested"] == 1 and record["rows_rejected"] == 1
    rejects = _rejects(aws, record["rejects_key"])
    assert "longer than" in rejects[1][2]


def test_client_names_never_reach_logs_or_stored_items(aws: dict[str, Any], output: Any) -> None:
    data = (b"Sale Date,Client ID,Client,Sale ID,Item Total\r\n"
            b"3/1/2025,100001,Zelda Quintanilla,1,5\r\n3/1/2025,100002,Zelda Quintanilla,2,abc\r\n")
    record = only_import(ingest(aws, put(aws["s3"], "uploads/names.csv", data, T0)))
    logs = output()
    assert "import finished" in logs
    items = aws["ddb"].scan(TableName=aws["table"])["Items"]
    rejects = aws["s3"].get_object(Bucket=BUCKET, Key=record["rejects_key"])["Body"].read().decode()
    for text in (logs, json.dumps(items), rejects):
        assert "Zelda" not in text and "Quintanilla" not in text
    assert "100001" in json.dumps(items)  # the client id is kept


def test_every_log_line_of_an_import_carries_its_correlation_id(aws: dict[str, Any], output: Any) -> None:
    logging.getLogger("salesmetrics").setLevel(logging.INFO)
    event = put(aws["s3"], "uploads/a.csv", export_bytes(sample_sales(seed=6, lines=50)), T0)
    request_id = event["Records"][0]["responseElements"]["x-amz-request-id"]
    record = only_import(ingest(aws, event))
    lines = [json.loads(line) for line in output().splitlines() if line.startswith("{")]
    logs = [entry for entry in lines if "level" in entry]
    emf = [entry for entry in lines if "_aws" in entry]
    assert logs, "the import logged nothing"
    assert all(entry.get("correlation_id") == request_id for entry in logs), logs
    assert all(entry.get("import_id") == record["import_id"] for entry in logs)
    metrics = {m["Name"] for entry in emf for d in entry["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"ImportsSucceeded", "LinesIngested", "LinesRejected", "SalesCreated", "IngestDurationMs"} <= metrics
    assert emf[0]["LinesIngested"] == [50.0]


def test_objects_outside_the_uploads_prefix_and_foreign_events_are_ignored(aws: dict[str, Any]) -> None:
    event = put(aws["s3"], "rejects/x.csv", b"Sale Date,Sale ID,Item Total\n3/1/2025,1,5\n", T0)
    assert ingest(aws, event)["imports"] == []
    assert ingest(aws, {"hello": "world"})["imports"] == []
