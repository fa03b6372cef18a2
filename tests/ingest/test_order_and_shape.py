"""Exactness under the orders and shapes real life produces: late older exports, files re-sorted in
a spreadsheet, a Sale ID with two dates, vanished object versions, attempts that run out.

Most run on the in-memory storage fake (tests/fakes), checked against DynamoDB by the contract
suite; the late-export case runs on moto too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from salesmetrics import scatter
from salesmetrics.events import ObjectRef
from salesmetrics.imports import ImportStatus
from salesmetrics.ingest import WRITER_LANES, Ingestor
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.storage.base import WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.ingest.support import (
    BUCKET,
    REJECTS_PREFIX,
    T0,
    check_exact,
    corrected,
    export_bytes,
    put,
    resorted,
    sample_sales,
)
from tests.moto_resources import create_resources
from tests.reckoning import reckon

# The sample export's shape: about 30 sales a day.
MARCH_APRIL = sample_sales(seed=8, lines=1700, start=date(2025, 3, 1), per_day=30)


def in_range(first: date, last: date) -> list[Any]:
    return [s for s in MARCH_APRIL if first <= s.sale_date <= last]


def ref_for(storage: MemoryStorage, key: str, data: bytes, when: datetime, n: int = 0) -> ObjectRef:
    version = storage.put_object(BUCKET, key, data)
    return ObjectRef(
        bucket=BUCKET,
        key=key,
        version_id=version,
        etag=f"etag{version}",
        size=len(data),
        event_time=when,
        sequencer=f"{n:016X}",
        request_id=f"req-{n}",
    )


def ingest(storage: Any, ref: ObjectRef, **options: Any) -> Any:
    return Ingestor(storage, REJECTS_PREFIX, **options).run(ref)


# -- defect 1: a late, older overlapping export ---------------------------------------------------


def overlapping_exports() -> tuple[bytes, bytes]:
    a = export_bytes(in_range(date(2025, 3, 1), date(2025, 3, 31)))
    # B (uploaded later) re-exports 3 March .. 17 April, correcting some of A's sales.
    b = export_bytes(
        [
            corrected(s, Decimal(2)) if i % 7 == 0 else s
            for i, s in enumerate(in_range(date(2025, 3, 3), date(2025, 4, 17)))
        ]
    )
    return a, b


def test_a_late_older_overlapping_export_is_ingested_in_one_attempt() -> None:
    storage = MemoryStorage()
    a, b = overlapping_exports()
    ref_a = ref_for(storage, "uploads/a.csv", a, T0, 1)
    ref_b = ref_for(storage, "uploads/b.csv", b, T0 + timedelta(minutes=5), 2)
    assert ingest(storage, ref_b).status == ImportStatus.SUCCEEDED
    commits_before, cancelled_before = storage.commits, storage.cancelled
    record = ingest(storage, ref_a)  # delivered last, uploaded first
    assert record.status == ImportStatus.SUCCEEDED and record.attempts == 1
    only_a = len(in_range(date(2025, 3, 1), date(2025, 3, 2)))
    assert (record.sales_created, record.sales_updated) == (only_a, 0)
    assert record.sales_unchanged == len(in_range(date(2025, 3, 3), date(2025, 3, 31)))
    # Bounded work: at most one cancelled transaction per writer lane of a flush, one partly
    # filled transaction per lane, and besides those the ones that record A's version in the
    # history of each sale B holds (so that a retraction of B falls back to A;
    # docs/architecture.md, "Undo"): ~95 sales a transaction. (A's file is one flush.)
    assert storage.cancelled - cancelled_before <= WRITER_LANES
    assert storage.commits - commits_before <= 2 * WRITER_LANES + record.sales_unchanged // 80
    check_exact(storage, [a, b])
    march_1_2 = storage.day_totals(date(2025, 3, 1), date(2025, 3, 2))
    assert (
        sum((t.revenue for t in march_1_2.values()), Decimal(0))
        == reckon([a]).range(date(2025, 3, 1), date(2025, 3, 2)).total_revenue
        != 0
    )


def test_a_late_older_overlapping_export_is_ingested_on_dynamodb() -> None:
    a, b = overlapping_exports()
    with mock_aws():
        s3 = boto3.client("s3")
        storage = AwsStorage(create_resources(boto3.client("dynamodb"), s3), sleep=lambda _: None)
        event_a = put(s3, "uploads/a.csv", a, T0)
        event_b = put(s3, "uploads/b.csv", b, T0 + timedelta(minutes=5))
        from salesmetrics.events import objects_in

        for event in (event_b, event_a):
            (ref,) = objects_in(event)
            assert ingest(storage, ref).status == ImportStatus.SUCCEEDED
        check_exact(storage, [a, b])


def test_concurrent_overlapping_imports_each_finish_within_their_attempts() -> None:
    """B commits between every transaction of A (and A meets B's sales it has not read)."""
    storage = MemoryStorage()
    a, b = overlapping_exports()
    ref_a = ref_for(storage, "uploads/a.csv", a, T0, 1)
    ref_b = ref_for(storage, "uploads/b.csv", b, T0 + timedelta(minutes=5), 2)
    other = Ingestor(storage, REJECTS_PREFIX, sales_per_flush=40)
    b_batches = iter(range(1000))
    state = {"inside": False}

    def interleave(batch: WriteBatch) -> None:
        if state["inside"] or next(b_batches) % 3:
            return
        state["inside"] = True
        try:
            other.run(ref_b)  # B runs (again) between two of A's transactions: idempotent, and racing
        finally:
            state["inside"] = False

    storage.before_commit = interleave
    assert ingest(storage, ref_a, sales_per_flush=60).status == ImportStatus.SUCCEEDED
    storage.before_commit = None
    assert ingest(storage, ref_b).status == ImportStatus.SUCCEEDED
    check_exact(storage, [a, b])


# -- defect 2: a sale's lines that do not stand together -------------------------------------------

MULTI = sample_sales(seed=3, lines=400, per_day=12)


@pytest.mark.parametrize("spill", ["memory", "disk"])
def test_an_export_resorted_by_item_name_gives_exactly_the_same_figures(
    spill: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-aside runs stay in memory up to a bound, then go to an SQLite file: both ways
    merge every sale whole."""
    spilled: list[bool] = []
    real_close = scatter.FragmentSpill.close

    def close(self: scatter.FragmentSpill) -> None:
        spilled.append(self.on_disk)
        real_close(self)

    monkeypatch.setattr(scatter.FragmentSpill, "close", close)
    if spill == "disk":
        monkeypatch.setattr(scatter, "SPILL_MEMORY_BYTES", 0)
    plain = export_bytes(MULTI)
    sorted_file = resorted(plain)
    assert sorted_file != plain
    storage = MemoryStorage()
    record = ingest(storage, ref_for(storage, "uploads/sorted.csv", sorted_file, T0))
    assert record.status == ImportStatus.SUCCEEDED
    assert (record.sales_created, record.rows_rejected) == (len(MULTI), 0)
    check_exact(storage, [plain])
    assert spilled and set(spilled) == {spill == "disk"}


def test_a_resorted_reupload_of_the_same_export_changes_nothing() -> None:
    plain = export_bytes(MULTI)
    storage = MemoryStorage()
    ingest(storage, ref_for(storage, "uploads/plain.csv", plain, T0))
    record = ingest(storage, ref_for(storage, "uploads/sorted.csv", resorted(plain, seed=4), T0 + timedelta(hours=1)))
    assert (record.sales_created, record.sales_updated, record.sales_unchanged) == (0, 0, len(MULTI))
    check_exact(storage, [plain])


def test_one_line_moved_a_few_rows_down_still_counts_in_its_sale() -> None:
    plain = export_bytes(MULTI).decode()
    lines = plain.split("\r\n")
    multi_line = next(
        i
        for i in range(1, len(lines) - 2)
        if lines[i].split(",")[3] == lines[i + 1].split(",")[3]
        and lines[i].count('"') == 0
        and lines[i + 1].count('"') == 0
    )
    moved = lines[:multi_line] + lines[multi_line + 1 : multi_line + 5] + [lines[multi_line]] + lines[multi_line + 5 :]
    data = "\r\n".join(moved).encode()
    storage = MemoryStorage()
    assert ingest(storage, ref_for(storage, "uploads/moved.csv", data, T0)).status == ImportStatus.SUCCEEDED
    check_exact(storage, [plain.encode()])


def test_a_sale_id_again_with_another_date_is_rejected_whole_naming_both_dates_and_lines() -> None:
    head = "Sale Date,Sale ID,Item name,Item Total,Tax\r\n"
    body = (
        "3/1/2025,100,Bay hire,10.00,0.50\r\n"
        "3/1/2025,101,Lesson,20.00,1.00\r\n"
        "3/1/2025,100,Balls,5.00,0.25\r\n"
        "3/9/2025,100,Glove,7.00,0.35\r\n"
    )
    storage = MemoryStorage()
    record = ingest(storage, ref_for(storage, "uploads/two-dates.csv", (head + body).encode(), T0))
    assert record.status == ImportStatus.PARTIAL
    assert (record.rows_ingested, record.rows_rejected, record.sales_created) == (1, 3, 1)
    assert set(storage.sales) == {"101"}
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(storage.rejects[(BUCKET, record.rejects_key)].decode())))
    assert [r["line"] for r in rows] == ["2", "4", "5"]
    for row in rows:  # every line of the sale says why, naming both dates and where they stand
        assert "two Sale Dates" in row["reason"] and "2025-03-01 (line" in row["reason"]
        assert "2025-03-09 (line 5)" in row["reason"]


# -- defect 8: vanished versions and attempts that run out ------------------------------------------


def test_an_event_for_a_deleted_object_version_ends_failed_and_is_not_retried() -> None:
    storage = MemoryStorage()
    ref = ref_for(storage, "uploads/gone.csv", export_bytes(MULTI[:5]), T0)
    storage.delete_version(BUCKET, ref.key, ref.version_id)
    record = ingest(storage, ref)  # returns: no exception, so the platform does not retry
    assert record.status == ImportStatus.FAILED
    assert "gone" in record.message and record.finished_at is not None
    assert storage.sales == {}


class Flaky(Exception):
    pass


def test_the_attempt_that_exhausts_the_retries_says_it_gave_up_and_a_redrive_finishes() -> None:
    storage = MemoryStorage()
    data = export_bytes(MULTI)
    ref = ref_for(storage, "uploads/flaky.csv", data, T0)

    def fail(_: WriteBatch) -> None:
        raise Flaky("DynamoDB unreachable")

    storage.before_commit = fail
    for attempt in (1, 2, 3):
        with pytest.raises(Flaky):
            ingest(storage, ref, max_attempts=3)
        record = storage.get_import(next(iter(storage.imports)))
        assert record is not None and record.attempts == attempt
        assert record.status == (ImportStatus.FAILED if attempt == 3 else ImportStatus.IN_PROGRESS)
    assert "gave up after 3 attempts" in record.message and "re-drive" in record.message
    storage.before_commit = None
    final = ingest(storage, ref, max_attempts=3)  # the re-drive
    assert final.status == ImportStatus.SUCCEEDED and final.attempts == 4
    check_exact(storage, [data])


def test_an_attempt_near_the_timeout_stops_cleanly_and_the_retry_finishes() -> None:
    storage = MemoryStorage()
    data = export_bytes(MULTI)
    ref = ref_for(storage, "uploads/slow.csv", data, T0)
    clock = iter([60_000, 10_000])
    with pytest.raises(RuntimeError, match="before the function's timeout"):
        ingest(storage, ref, sales_per_flush=50, remaining_ms=lambda: next(clock))
    (record,) = storage.imports.values()
    assert record.status == ImportStatus.IN_PROGRESS and "timeout" in record.message
    assert 0 < len(storage.sales) < len(MULTI)
    assert ingest(storage, ref, sales_per_flush=50).status == ImportStatus.SUCCEEDED
    check_exact(storage, [data])


def test_the_demo_clock_is_not_needed_for_event_times() -> None:
    # ObjectRef times are timezone-aware UTC: version order compares them as text.
    assert T0.tzinfo is UTC and datetime(2025, 1, 1, tzinfo=UTC) < T0
