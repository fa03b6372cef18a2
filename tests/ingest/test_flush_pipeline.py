"""One flush is written while the reader parses the next: flushes still never overlap, and no
write outlives the attempt that made it (docs/architecture.md, "Flushes, lanes and the flush in
flight")."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest

from salesmetrics.changes import iter_parts
from salesmetrics.imports import ImportStatus
from salesmetrics.ingest import Ingestor, OutOfTime
from salesmetrics.rejects import RejectsFile
from salesmetrics.retract import Retractor
from salesmetrics.storage.base import Conflicts, TransientStorageError, WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.ingest.test_hostile_findings import BUCKET, HEADER, ref_for

PER_FLUSH = 40
SALES = 400


def _export() -> bytes:
    # Date-ordered, several sales a day, so that each flush spans a few days and several lanes.
    rows = [f"3/{1 + s // 15}/2025,{s},item {s % 7},{s % 50}.{s % 100:02d},0.10\n" for s in range(SALES)]
    return (HEADER + "".join(rows)).encode()


class _Recording(MemoryStorage):
    """Records, in the order they happen across threads, every commit's sales and every filed
    change-list part."""

    def __init__(self, round_trip: float = 0.002) -> None:
        super().__init__()
        self.round_trip = round_trip
        self.events: list[tuple[str, Any]] = []
        self.events_lock = threading.Lock()

    def commit(self, batch: WriteBatch) -> Conflicts:
        with self.events_lock:
            self.events.append(("commit-start", [w.sale.sale_id for w in batch.writes]))
        time.sleep(self.round_trip)  # lets the reader run ahead if it can
        result = super().commit(batch)
        with self.events_lock:
            self.events.append(("commit-end", [w.sale.sale_id for w in batch.writes]))
        return result

    def put_changes(self, bucket: str, key: str, body: bytes) -> None:
        with self.events_lock:
            self.events.append(("part", key))
        super().put_changes(bucket, key, body)


def _flush_of(sale_id: str) -> int:
    return int(sale_id) // PER_FLUSH  # the file holds one line per sale, in Sale ID order


def test_a_flush_starts_writing_only_after_the_one_before_committed_and_filed_its_part() -> None:
    storage = _Recording()
    record = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH).run(ref_for(storage, _export()))
    assert record.status == ImportStatus.SUCCEEDED and record.sales_created == SALES
    parts = 0
    commits = 0
    for kind, what in storage.events:
        if kind == "part":
            parts += 1
        else:
            commits += 1
            assert {_flush_of(s) for s in what} == {parts}, (kind, what, parts)
    assert parts == SALES // PER_FLUSH
    assert commits > 2 * parts  # several transactions a flush: the lanes did run


class _Boom(Exception):
    pass


def test_a_flush_failing_in_the_background_fails_the_attempt_and_no_write_outlives_it() -> None:
    storage = _Recording()
    commits = [0]

    def fail_in_the_third_flush(batch: WriteBatch) -> None:
        commits[0] += 1
        if any(_flush_of(w.sale.sale_id) == 2 for w in batch.writes):
            raise _Boom

    storage.after_commit = fail_in_the_third_flush
    ref = ref_for(storage, _export())
    with pytest.raises(_Boom):
        Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH).run(ref)
    done = len(storage.events)
    time.sleep(0.1)
    assert len(storage.events) == done  # nothing was still writing when the attempt returned
    assert all(_flush_of(s) <= 2 for kind, what in storage.events if kind != "part" for s in what)
    (stored,) = storage.imports.values()
    assert stored.status == ImportStatus.IN_PROGRESS and "_Boom" in stored.message
    storage.after_commit = None
    record = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH).run(ref)
    assert (record.status, record.sales_created, record.attempts) == (ImportStatus.SUCCEEDED, SALES, 2)
    assert sum(d.totals.sales_count for d in storage.days.values()) == SALES


def _listed(storage: MemoryStorage, import_id: str) -> set[str]:
    return {e.sale_id for _, entries in iter_parts(storage, BUCKET, import_id) for e in entries}


@pytest.mark.parametrize("writers", [1, 8])
def test_running_out_of_time_on_the_last_attempt_leaves_no_write_running_and_every_written_sale_listed(
    writers: int,
) -> None:
    storage = _Recording(round_trip=0.02)  # slow: without care a flush would still be in flight
    checks = [0]

    def remaining_ms() -> int:
        checks[0] += 1
        return 60_000 if checks[0] < 3 else 1_000

    ref = ref_for(storage, _export())
    ingestor = Ingestor(
        storage, "rejects/", writers=writers, sales_per_flush=PER_FLUSH, remaining_ms=remaining_ms, max_attempts=1
    )
    with pytest.raises(OutOfTime) as stopped:
        ingestor.run(ref)
    assert "after 0 lines" not in str(stopped.value)  # it names how far it got
    starts = [what for kind, what in storage.events if kind == "commit-start"]
    assert starts and len(starts) == len([1 for kind, _ in storage.events if kind == "commit-end"])
    assert storage.events[-1][0] == "part"  # the last thing the attempt did: list what it wrote
    done = len(storage.events)
    time.sleep(0.2)
    assert len(storage.events) == done  # nothing was still writing when run() returned
    (record,) = storage.imports.values()
    # Its last attempt: no retry will rewrite the change list, so it must hold every written sale,
    # or a retraction of this failed import would leave some behind.
    assert record.status == ImportStatus.FAILED
    assert set(storage.sales) == _listed(storage, record.import_id)
    assert Retractor(storage).run(record.import_id).status == ImportStatus.RETRACTED
    assert not storage.sales and sum(d.totals.sales_count for d in storage.days.values()) == 0


def test_a_reader_failing_while_a_flush_fails_in_flight_lists_what_was_written_and_tells_both_errors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    storage = _Recording(round_trip=0.05)  # the third flush is mid-write when the reader fails

    def fail_in_the_third_flush(batch: WriteBatch) -> None:
        if any(_flush_of(w.sale.sale_id) == 2 for w in batch.writes):
            raise _Boom("the storage refused the third flush")

    def reader_fails(self: Any, rejection: Any) -> None:
        raise OSError("the rejects file could not be written")

    storage.after_commit = fail_in_the_third_flush
    monkeypatch.setattr(RejectsFile, "add", reader_fails)
    lines = _export().decode().splitlines(keepends=True)
    lines[1 + 3 * PER_FLUSH + 5] = "not a date,9999,item,1.00,0.10\n"  # a rejected line in the fourth flush
    ref = ref_for(storage, "".join(lines).encode())
    ingestor = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH, max_attempts=1)
    with pytest.raises(OSError, match="rejects file") as failed:
        ingestor.run(ref)
    assert any("the storage refused the third flush" in note for note in failed.value.__notes__)
    assert "the flush in flight failed too: _Boom" in caplog.text
    (record,) = storage.imports.values()
    assert record.status == ImportStatus.FAILED
    assert storage.sales and set(storage.sales) == _listed(storage, record.import_id)


def _long_export(sales: int) -> bytes:
    # Fifteen sales a day from New Year on: any number of sales, several days a flush.
    rows = []
    for s in range(sales):
        d = date(2025, 1, 1) + timedelta(days=s // 15)
        rows.append(f"{d.month}/{d.day}/{d.year},{s},item {s % 7},{s % 50}.{s % 100:02d},0.10\n")
    return (HEADER + "".join(rows)).encode()


@pytest.mark.parametrize(("writers", "per_flush"), [(1, 200), (8, 2000)])
def test_a_last_attempt_failing_sooner_keeps_what_an_earlier_attempt_listed(writers: int, per_flush: int) -> None:
    storage = MemoryStorage()
    ref = ref_for(storage, _long_export(2 * per_flush))

    def answer_lost_in_the_second_flush(batch: WriteBatch) -> None:  # written, but the attempt never hears
        if any(int(w.sale.sale_id) >= per_flush for w in batch.writes):
            raise _Boom("answer lost")

    storage.after_commit = answer_lost_in_the_second_flush
    ingestor = Ingestor(storage, "rejects/", writers=writers, sales_per_flush=per_flush, max_attempts=2)
    with pytest.raises(_Boom):
        ingestor.run(ref)
    (record,) = storage.imports.values()
    assert set(storage.sales) == _listed(storage, record.import_id)

    # The last attempt fails on its very first transaction, before anything of it is written:
    # its part of the first flush lists nearly nothing, and must not replace the earlier one.
    storage.after_commit = None
    first = [True]

    def refuse_the_first(batch: WriteBatch) -> None:
        if first[0] and batch.writes:
            first[0] = False
            raise _Boom("refused")

    storage.before_commit = refuse_the_first
    with pytest.raises(_Boom):
        ingestor.run(ref)
    storage.before_commit = None
    (record,) = storage.imports.values()
    assert record.status == ImportStatus.FAILED
    assert set(storage.sales) <= _listed(storage, record.import_id)
    assert Retractor(storage).run(record.import_id).status == ImportStatus.RETRACTED
    assert not storage.sales and sum(d.totals.sales_count for d in storage.days.values()) == 0


class _PartRefusedOnce(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.refusals = 1

    def put_changes(self, bucket: str, key: str, body: bytes) -> None:
        if key.endswith("000001.jsonl") and self.refusals:
            self.refusals -= 1
            raise _Boom("S3 answered 500 for the part")
        super().put_changes(bucket, key, body)


@pytest.mark.parametrize("writers", [1, 8])
def test_a_part_that_failed_to_go_up_is_filed_when_the_attempt_fails(writers: int) -> None:
    storage = _PartRefusedOnce()
    ref = ref_for(storage, _long_export(400))
    ingestor = Ingestor(storage, "rejects/", writers=writers, sales_per_flush=100, max_attempts=1)
    with pytest.raises(_Boom):
        ingestor.run(ref)
    (record,) = storage.imports.values()
    assert record.status == ImportStatus.FAILED
    assert storage.sales and set(storage.sales) == _listed(storage, record.import_id)


def test_a_transaction_refused_every_time_lists_none_of_its_sales() -> None:
    # Refused (throttled past every retry) means not written: GET /imports/{id}/changes of the
    # FAILED import shows what it did write, not what it tried to.
    storage = MemoryStorage()

    def refuse_the_second_flush(batch: WriteBatch) -> None:
        if any(int(w.sale.sale_id) >= 100 for w in batch.writes):
            raise TransientStorageError("transaction of 100 items kept being refused")

    storage.before_commit = refuse_the_second_flush
    ingestor = Ingestor(storage, "rejects/", writers=1, sales_per_flush=100, max_attempts=1)
    with pytest.raises(TransientStorageError):
        ingestor.run(ref_for(storage, _long_export(300)))
    (record,) = storage.imports.values()
    assert record.status == ImportStatus.FAILED
    assert set(storage.sales) == _listed(storage, record.import_id) == {str(s) for s in range(100)}
