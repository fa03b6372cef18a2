"""One flush is written while the reader parses the next: flushes still never overlap, and no
write outlives the attempt that made it (docs/architecture.md, "Flushes, lanes and the flush in
flight")."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from salesmetrics.imports import ImportStatus
from salesmetrics.ingest import Ingestor, OutOfTime
from salesmetrics.storage.base import Conflicts, WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.ingest.test_hostile_findings import HEADER, ref_for

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


def test_running_out_of_time_waits_for_the_flush_in_flight() -> None:
    storage = _Recording(round_trip=0.05)  # slow: the flush is still in flight when time runs out
    checks = [0]

    def remaining_ms() -> int:
        checks[0] += 1
        if checks[0] < 3:
            return 60_000
        time.sleep(0.02)  # the flush just handed over is mid-transaction when the budget is spent
        return 1_000

    ref = ref_for(storage, _export())
    ingestor = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH, remaining_ms=remaining_ms)
    with pytest.raises(OutOfTime):
        ingestor.run(ref)
    ends = [what for kind, what in storage.events if kind == "commit-end"]
    starts = [what for kind, what in storage.events if kind == "commit-start"]
    assert len(starts) == len(ends)  # every transaction begun had finished when run() returned
    done = len(storage.events)
    time.sleep(0.3)
    assert len(storage.events) == done
    record = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH).run(ref)
    assert (record.status, record.sales_created + record.sales_unchanged) == (ImportStatus.SUCCEEDED, SALES)
    assert sum(d.totals.sales_count for d in storage.days.values()) == SALES
