"""The ingest function end to end on moto: real-shaped S3 events in, exact figures out."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from salesmetrics.config import get_settings
from salesmetrics.filenames import NOT_AN_EXPORT
from tests.ingest.support import (
    BUCKET,
    T0,
    check_exact,
    context,
    corrected,
    export_bytes,
    put,
    sample_sales,
)
from tests.reckoning import reckon


@pytest.fixture
def output(lambda_aws: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Everything the function printed: its JSON logs (Powertools' handler keeps the stream it was
    created with, so point it at a buffer) and its EMF metrics (printed to stdout)."""
    buffer = io.StringIO()
    handler = lambda_aws["handler"].logger.registered_handler
    previous = handler.setStream(buffer)
    capsys.readouterr()
    yield lambda: buffer.getvalue() + capsys.readouterr().out
    handler.setStream(previous)


def ingest(lambda_aws: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = lambda_aws["handler"].handler(event, context())
    return result


def only_import(result: dict[str, Any]) -> dict[str, Any]:
    assert len(result["imports"]) == 1, result
    record: dict[str, Any] = result["imports"][0]
    return record


def test_an_export_becomes_exact_figures_and_an_import_record(lambda_aws: dict[str, Any]) -> None:
    data = export_bytes(sample_sales(seed=1, lines=400), client_names=True, bom=True)
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], "uploads/march sales+refunds.csv", data, T0)))

    assert record["status"] == "SUCCEEDED"
    assert record["key"] == "uploads/march sales+refunds.csv"  # decoded from `march+sales%2Brefunds.csv`
    assert record["rows_total"] == record["rows_ingested"] == 400
    truth = reckon([data])
    assert record["sales_created"] == len(truth.sales)
    assert record["rows_rejected"] == 0 and record["rejects_key"] is None
    check_exact(lambda_aws["storage"], [data])
    stored = lambda_aws["storage"].get_import(record["import_id"])
    assert stored is not None and stored.status == "SUCCEEDED" and stored.finished_at


def test_redelivery_of_the_same_event_changes_nothing(lambda_aws: dict[str, Any]) -> None:
    data = export_bytes(sample_sales(seed=2, lines=200))
    event = put(lambda_aws["s3"], "uploads/a.csv", data, T0)
    first = only_import(ingest(lambda_aws, event))
    again = only_import(ingest(lambda_aws, event))
    assert again == first  # the idempotency layer returns the finished import
    check_exact(lambda_aws["storage"], [data])


def test_the_same_file_under_another_key_and_an_overlapping_slice_change_nothing(lambda_aws: dict[str, Any]) -> None:
    sales = sample_sales(seed=3, lines=300)
    data = export_bytes(sales)
    ingest(lambda_aws, put(lambda_aws["s3"], "uploads/a.csv", data, T0))
    s3 = lambda_aws["s3"]
    copy = only_import(ingest(lambda_aws, put(s3, "uploads/copy of a.csv", data, T0 + timedelta(minutes=1))))
    overlap = export_bytes(sales[len(sales) // 3 : 2 * len(sales) // 3])
    sliced = only_import(ingest(lambda_aws, put(s3, "uploads/slice.csv", overlap, T0 + timedelta(minutes=2))))

    assert copy["sales_created"] == copy["sales_updated"] == 0
    assert copy["sales_unchanged"] == len(reckon([data]).sales)
    assert sliced["sales_created"] == sliced["sales_updated"] == 0
    check_exact(lambda_aws["storage"], [data, data, overlap])


def test_a_corrected_export_replaces_earlier_versions_and_moves_redated_sales(lambda_aws: dict[str, Any]) -> None:
    sales = sample_sales(seed=4, lines=300)
    data = export_bytes(sales)
    ingest(lambda_aws, put(lambda_aws["s3"], "uploads/a.csv", data, T0))
    fixed = [corrected(s, move_days=1 if i % 2 else 0) if i % 10 == 0 else s for i, s in enumerate(sales)]
    fix = export_bytes(fixed[:150])
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], "uploads/fix.csv", fix, T0 + timedelta(hours=1))))
    assert record["sales_updated"] == 15
    check_exact(lambda_aws["storage"], [data, fix])


def test_a_late_event_of_an_older_upload_never_overrides_a_newer_one(lambda_aws: dict[str, Any]) -> None:
    sales = sample_sales(seed=5, lines=120)
    old = export_bytes(sales)
    new = export_bytes([corrected(s) for s in sales])
    old_event = put(lambda_aws["s3"], "uploads/old.csv", old, T0)
    new_event = put(lambda_aws["s3"], "uploads/new.csv", new, T0 + timedelta(minutes=5))
    ingest(lambda_aws, new_event)
    late = only_import(ingest(lambda_aws, old_event))  # e.g. an async retry delivered after the newer file
    assert late["sales_updated"] == late["sales_created"] == 0
    check_exact(lambda_aws["storage"], [old, new])


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty", b"", "empty"),
        ("whitespace", b"\r\n\r\n  \r\n", "empty"),
        ("header only", b"Sale Date,Sale ID,Item Total\r\n", "no sales lines"),
        ("not csv", b"%PDF-1.7\n\x00\x01\x02 binary", "PDF document"),
        ("wrong columns", b"Name,Email\nAda,ada@example.com\n", "missing required column"),
        ("undecodable header", b"\x81\x8d\x8f,\x90\x9d\n\x81,\x9d\n", "missing required column"),
    ],
)
def test_an_unusable_file_ends_failed_without_a_retry(
    lambda_aws: dict[str, Any], name: str, data: bytes, message: str
) -> None:
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], f"uploads/{name}.csv", data, T0)))
    assert record["status"] == "FAILED"
    assert message in record["message"]
    assert lambda_aws["storage"].day_totals(date(2000, 1, 1), date(2100, 1, 1)) == {}


def _rejects(lambda_aws: dict[str, Any], key: str) -> list[list[str]]:
    body = lambda_aws["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
    return list(csv.reader(io.StringIO(body, newline="")))


def test_bad_lines_reject_their_sale_into_an_inert_rejects_file_and_the_rest_ingests(
    lambda_aws: dict[str, Any],
) -> None:
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
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], "uploads/mixed.csv", data, T0)))

    assert record["status"] == "PARTIAL"
    assert (record["rows_total"], record["rows_ingested"], record["rows_rejected"]) == (6, 3, 3)
    rejects = _rejects(lambda_aws, record["rejects_key"])
    assert rejects[0] == ["line", "sale_id", "reason", "Sale Date", "Sale ID", "Item name", "Tax", "Item Total"]
    by_line = {int(r[0]): r for r in rejects[1:]}
    assert set(by_line) == {3, 4, 7}
    assert "Item Total" in by_line[4][2] and "line 4" in by_line[3][2]
    assert by_line[3][5].startswith("'=HYPERLINK")  # inert in a spreadsheet
    assert "Sale Date" in by_line[7][2]
    assert not any("Grace" in cell or "Hopper" in cell for row in rejects for cell in row)
    day = lambda_aws["storage"].day_totals(date(2025, 3, 1), date(2025, 3, 2))
    assert day[date(2025, 3, 1)].revenue == Decimal("0.436")
    assert day[date(2025, 3, 2)].revenue == Decimal(0)
    assert day[date(2025, 3, 2)].refund_count == 1 and day[date(2025, 3, 2)].order_count == 1


def test_a_ten_megabyte_field_rejects_its_row_only(lambda_aws: dict[str, Any]) -> None:
    big = "x" * (10 * 1024 * 1024)
    data = (f'Sale Date,Sale ID,Item Total,Sales Notes\n3/1/2025,1,5,"{big}"\n3/1/2025,2,7,ok\n').encode()
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], "uploads/big.csv", data, T0)))
    assert record["status"] == "PARTIAL" and record["rows_ingested"] == 1 and record["rows_rejected"] == 1
    rejects = _rejects(lambda_aws, record["rejects_key"])
    assert "longer than" in rejects[1][2]


def test_client_names_never_reach_logs_or_stored_items(lambda_aws: dict[str, Any], output: Any) -> None:
    data = (
        b"Sale Date,Client ID,Client,Sale ID,Item Total\r\n"
        b"3/1/2025,100001,Zelda Quintanilla,1,5\r\n3/1/2025,100002,Zelda Quintanilla,2,abc\r\n"
    )
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], "uploads/names.csv", data, T0)))
    logs = output()
    assert "import finished" in logs
    items = lambda_aws["ddb"].scan(TableName=lambda_aws["table"])["Items"]
    rejects = lambda_aws["s3"].get_object(Bucket=BUCKET, Key=record["rejects_key"])["Body"].read().decode()
    for text in (logs, json.dumps(items), rejects):
        assert "Zelda" not in text and "Quintanilla" not in text
    assert "100001" in json.dumps(items)  # the client id is kept


def test_every_log_line_of_an_import_carries_its_correlation_id(lambda_aws: dict[str, Any], output: Any) -> None:
    logging.getLogger("salesmetrics").setLevel(logging.INFO)
    event = put(lambda_aws["s3"], "uploads/a.csv", export_bytes(sample_sales(seed=6, lines=50)), T0)
    request_id = event["Records"][0]["responseElements"]["x-amz-request-id"]
    record = only_import(ingest(lambda_aws, event))
    lines = [json.loads(line) for line in output().splitlines() if line.startswith("{")]
    logs = [entry for entry in lines if "level" in entry]
    emf = [entry for entry in lines if "_aws" in entry]
    assert logs, "the import logged nothing"
    assert all(entry.get("correlation_id") == request_id for entry in logs), logs
    assert all(entry.get("import_id") == record["import_id"] for entry in logs)
    metrics = {m["Name"] for entry in emf for d in entry["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"ImportsSucceeded", "LinesIngested", "LinesRejected", "SalesCreated", "IngestDurationMs"} <= metrics
    assert emf[0]["LinesIngested"] == [50.0]


def test_objects_outside_the_uploads_prefix_and_foreign_events_are_ignored(lambda_aws: dict[str, Any]) -> None:
    event = put(lambda_aws["s3"], "rejects/x.csv", b"Sale Date,Sale ID,Item Total\n3/1/2025,1,5\n", T0)
    assert ingest(lambda_aws, event)["imports"] == []
    assert ingest(lambda_aws, {"hello": "world"})["imports"] == []


def _log_entries(output: Any) -> list[dict[str, Any]]:
    return [e for e in (json.loads(line) for line in output().splitlines() if line.startswith("{")) if "level" in e]


def test_an_event_for_a_deleted_version_ends_failed_with_one_warning_and_no_retry(
    lambda_aws: dict[str, Any], output: Any
) -> None:
    event = put(lambda_aws["s3"], "uploads/gone.csv", export_bytes(sample_sales(seed=6, lines=20)), T0)
    version = event["Records"][0]["s3"]["object"]["versionId"]
    lambda_aws["s3"].delete_object(Bucket=BUCKET, Key="uploads/gone.csv", VersionId=version)
    record = only_import(ingest(lambda_aws, event))  # returns normally: Lambda does not retry it
    assert record["status"] == "FAILED" and "gone" in record["message"] and record["finished_at"]
    request_id = event["Records"][0]["responseElements"]["x-amz-request-id"]
    warnings = [e for e in _log_entries(output) if e["level"] == "WARNING"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["correlation_id"] == request_id and warnings[0]["import_id"] == record["import_id"]
    assert "gone" in warnings[0]["reason"]


def test_an_unversioned_upload_overwritten_before_it_is_read_fails_as_changed_and_its_successor_is_exact(
    lambda_aws: dict[str, Any], output: Any
) -> None:
    aws = lambda_aws
    from devtools.s3events import build_put_event

    s3, bucket, key = aws["s3"], "sales-unversioned", "uploads/daily.csv"
    s3.create_bucket(Bucket=bucket)  # versioning never enabled: events name no version id
    old, new = sample_sales(seed=7, lines=40), sample_sales(seed=8, lines=60)
    events = []
    for when, sales in ((T0, old), (T0 + timedelta(seconds=5), new)):
        body = export_bytes(sales)
        etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"]
        events.append(build_put_event(bucket=bucket, key=key, size=len(body), etag=etag, version_id=None, when=when))
    assert "versionId" not in events[0]["Records"][0]["s3"]["object"]
    # The first upload's event is handled after the overwrite: GetObject If-Match answers 412.
    record = only_import(ingest(aws, events[0]))  # returns normally: Lambda does not retry it
    assert record["status"] == "FAILED" and "changed while it was being read" in record["message"], record
    assert [e["level"] for e in _log_entries(output) if e["level"] in ("WARNING", "ERROR")] == ["WARNING"]
    record = only_import(ingest(aws, events[1]))
    assert record["status"] == "SUCCEEDED", record
    check_exact(aws["storage"], [export_bytes(new)])


def test_a_failed_attempt_logs_one_error_with_its_reason_and_the_retry_finishes(
    lambda_aws: dict[str, Any], output: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = export_bytes(sample_sales(seed=6, lines=40))
    event = put(lambda_aws["s3"], "uploads/flaky.csv", data, T0)
    storage = lambda_aws["handler"].get_storage()

    def unreachable(batch: Any) -> Any:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(storage, "commit", unreachable)
    with pytest.raises(ConnectionError):
        ingest(lambda_aws, event)
    errors = [e for e in _log_entries(output) if e["level"] == "ERROR"]
    assert len(errors) == 1 and "attempt failed" in errors[0]["message"], errors
    assert errors[0]["correlation_id"] == event["Records"][0]["responseElements"]["x-amz-request-id"]
    assert "DynamoDB unreachable" in errors[0]["reason"] and errors[0]["import_id"].startswith("imp_")
    monkeypatch.undo()
    assert only_import(ingest(lambda_aws, event))["status"] == "SUCCEEDED"
    check_exact(lambda_aws["storage"], [data])


# --------------------------------------------------------------------------- which keys are exports


def _printed(output: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(log lines, EMF metric lines) the function printed."""
    entries = [json.loads(line) for line in output().splitlines() if line.startswith("{")]
    return [e for e in entries if "level" in e], [e for e in entries if "_aws" in e]


@pytest.mark.parametrize("key", ["uploads/x/SALES.CSV", "uploads/x/sales.Csv", "uploads/x/march.cSv"])
def test_a_csv_export_named_in_any_case_is_ingested_exactly(lambda_aws: dict[str, Any], key: str) -> None:
    data = export_bytes(sample_sales(seed=21, lines=120))
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], key, data, T0)))
    assert record["status"] == "SUCCEEDED" and record["key"] == key
    stored = lambda_aws["storage"].get_import(record["import_id"])
    assert stored is not None and stored.key == key
    check_exact(lambda_aws["storage"], [data])


@pytest.mark.parametrize("key", ["uploads/x/export.csv.gz", "uploads/x/EXPORT.CSV.GZ"])
def test_a_gzip_export_named_in_any_case_is_delivered_and_gets_an_import_record(
    lambda_aws: dict[str, Any], key: str
) -> None:
    data = gzip.compress(export_bytes(sample_sales(seed=22, lines=120)))
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], key, data, T0)))
    stored = lambda_aws["storage"].get_import(record["import_id"])
    assert stored is not None and stored.key == key
    assert record["status"] != "IN_PROGRESS", record
    # To tighten once gzip-compressed exports are read through (being built): status SUCCEEDED and
    # check_exact(lambda_aws["storage"], [gzip.decompress(data)]). Until then the import may end FAILED.


@pytest.mark.parametrize(
    "key",
    [
        "uploads/x/notes.txt",
        "uploads/x/sales.xlsx",
        "uploads/x/sales.csv.bak",
        "uploads/x/sales.csv.gz.tmp",
        "uploads/2025/03/",  # the empty object the S3 console makes for a "folder"
    ],
)
def test_an_object_under_uploads_that_is_not_an_export_gets_one_log_line_and_no_import(
    lambda_aws: dict[str, Any], output: Any, key: str
) -> None:
    # Export content under a non-export name: the name decides, as documented.
    data = b"" if key.endswith("/") else export_bytes(sample_sales(seed=23, lines=30))
    event = put(lambda_aws["s3"], key, data, T0)
    result = ingest(lambda_aws, event)
    assert result["imports"] == []
    assert result["ignored"] == [{"key": key, "reason": NOT_AN_EXPORT}]
    assert lambda_aws["storage"].list_imports(10, None) == ([], None)
    assert lambda_aws["storage"].day_totals(date(2000, 1, 1), date(2100, 1, 1)) == {}
    logs, emf = _printed(output)
    [line] = [entry for entry in logs if entry["level"] in ("WARNING", "ERROR")]
    assert line["level"] == "WARNING" and line["message"] == "object not ingested"
    assert line["reason"] == NOT_AN_EXPORT and line["key"] == key
    assert line["version_id"] == event["Records"][0]["s3"]["object"]["versionId"]
    assert [entry.get("ObjectsNotIngested") for entry in emf] == [[1.0]]


def test_rejects_files_are_never_ingested_even_under_the_uploads_prefix(
    lambda_aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, output: Any
) -> None:
    monkeypatch.setenv("REJECTS_PREFIX", "uploads/rejects/")
    get_settings.cache_clear()
    key = "uploads/rejects/imp_0123.csv"
    result = ingest(lambda_aws, put(lambda_aws["s3"], key, export_bytes(sample_sales(seed=24, lines=30)), T0))
    assert result["imports"] == [] and result["ignored"][0]["key"] == key
    assert "rejects" in result["ignored"][0]["reason"]
    assert lambda_aws["storage"].list_imports(10, None) == ([], None)
    assert [entry["message"] for entry in _printed(output)[0]] == ["object not ingested"]


def _dead_letter(event: dict[str, Any]) -> str:
    """The record Lambda's on-failure destination sends to the DLQ (the original event inside)."""
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {"condition": "RetriesExhausted"},
            "requestPayload": event,
            "responsePayload": {"errorType": "TransientStorageError"},
        }
    )


def test_redrive_ingests_a_dead_lettered_export_named_in_any_case_and_drops_a_non_export(
    lambda_aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
    monkeypatch.setenv("DLQ_URL", queue_url)
    get_settings.cache_clear()
    data = export_bytes(sample_sales(seed=25, lines=80))
    for key in ("uploads/x/SALES.CSV", "uploads/x/notes.txt"):
        sqs.send_message(QueueUrl=queue_url, MessageBody=_dead_letter(put(lambda_aws["s3"], key, data, T0)))
    import redrive_handler

    result = redrive_handler.handler({"max_messages": 10}, context("RedriveFunction"))
    assert result == {"redriven": 2, "failed": 0}
    imports, _ = lambda_aws["storage"].list_imports(10, None)
    assert [(r.key, r.status.value) for r in imports] == [("uploads/x/SALES.CSV", "SUCCEEDED")]
    check_exact(lambda_aws["storage"], [data])
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)


def test_redrive_finishes_dead_lettered_retractions_of_both_kinds(
    lambda_aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
    monkeypatch.setenv("DLQ_URL", queue_url)
    get_settings.cache_clear()
    first = export_bytes(sample_sales(seed=26, lines=60))
    second = export_bytes(sample_sales(seed=27, lines=40, start=date(2025, 6, 1)))
    events = [
        put(lambda_aws["s3"], f"uploads/r/{n}.csv", data, T0 + timedelta(minutes=n))
        for n, data in enumerate((first, second))
    ]
    for event in events:
        assert [i["status"] for i in ingest(lambda_aws, event)["imports"]] == ["SUCCEEDED"]
    ids = {r.key: r.import_id for r in lambda_aws["storage"].list_imports(10, None)[0]}
    # The invocation DELETE /imports/{id} makes, and a removal of the other file, both dead-lettered.
    sqs.send_message(QueueUrl=queue_url, MessageBody=_dead_letter({"retract": {"import_id": ids["uploads/r/0.csv"]}}))
    obj = events[1]["Records"][0]["s3"]["object"]
    lambda_aws["s3"].delete_object(Bucket=BUCKET, Key="uploads/r/1.csv", VersionId=obj["versionId"])
    removal = json.loads(json.dumps(events[1]))
    removal["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    sqs.send_message(QueueUrl=queue_url, MessageBody=_dead_letter(removal))
    import redrive_handler

    assert redrive_handler.handler({"max_messages": 10}, context("RedriveFunction")) == {"redriven": 2, "failed": 0}
    statuses = {r.key: r.status.value for r in lambda_aws["storage"].list_imports(10, None)[0]}
    assert statuses == {"uploads/r/0.csv": "RETRACTED", "uploads/r/1.csv": "RETRACTED"}
    assert list(lambda_aws["storage"].iter_sales()) == []
    assert all(day.totals.is_zero() for day in lambda_aws["storage"].day_aggregates())


@pytest.mark.parametrize(
    "variant",
    [
        "re-sorted by item",
        "gzip",
        "Excel Unicode text",
        "European semicolon",
        "classic Mac CR line ends",
        "gzip of classic Mac",
        "semicolon with decimal points",
        "comma with decimal commas",
    ],
)
def test_the_sample_export_as_people_resave_it_gives_exactly_its_figures(
    lambda_aws: dict[str, Any], variant: str
) -> None:
    from tests.ingest.support import (
        as_comma_with_decimal_commas,
        as_cr_only,
        as_european,
        as_gzip,
        as_semicolon_with_points,
        as_unicode_text,
        resorted,
    )

    sales = sample_sales(seed=12, lines=600)
    plain = export_bytes(sales)
    body = {
        "re-sorted by item": resorted,
        "gzip": as_gzip,
        "Excel Unicode text": as_unicode_text,
        "European semicolon": as_european,
        "classic Mac CR line ends": as_cr_only,
        "gzip of classic Mac": lambda d: as_gzip(as_cr_only(d)),
        "semicolon with decimal points": as_semicolon_with_points,
        "comma with decimal commas": as_comma_with_decimal_commas,
    }[variant](plain)
    assert body != plain
    record = only_import(ingest(lambda_aws, put(lambda_aws["s3"], "uploads/resaved.csv", body, T0)))
    assert record["status"] == "SUCCEEDED", record
    assert (record["rows_ingested"], record["rows_rejected"], record["sales_created"]) == (
        sum(len(s.lines) for s in sales),
        0,
        len(sales),
    )
    check_exact(lambda_aws["storage"], [plain])
