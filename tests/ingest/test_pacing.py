"""An import writes on one thread until DynamoDB's answers keep it waiting, then on its writer
lanes for the rest of the import (salesmetrics/pacing.py); either way, or switching midway, the
figures are exact and the change list lists every sale."""

from __future__ import annotations

import sys
import threading
import time
from datetime import date
from itertools import count

import pytest

from salesmetrics.changes import iter_parts
from salesmetrics.imports import ImportStatus
from salesmetrics.ingest import Ingestor
from salesmetrics.pacing import PROBE_SALES, SWITCH_INTERVAL_S, WAIT_SHARE, WritePacing, writer_switch_interval
from salesmetrics.reconcile import reconcile
from salesmetrics.storage.base import Conflicts, WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.ingest.test_hostile_findings import BUCKET, HEADER, ref_for

SALES = 600
PER_FLUSH = 60


def _export() -> bytes:
    rows = [f"3/{1 + s // 20}/2025,{s},item {s % 7},{s % 50}.{s % 100:02d},0.10\n" for s in range(SALES)]
    return (HEADER + "".join(rows)).encode()


class _Threads(MemoryStorage):
    """Answers each commit after `round_trip` seconds, recording the thread that sent it."""

    def __init__(self, round_trip: float = 0.0) -> None:
        super().__init__()
        self.round_trip = round_trip
        self.senders: list[str] = []
        self.senders_lock = threading.Lock()

    def commit(self, batch: WriteBatch) -> Conflicts:
        with self.senders_lock:
            self.senders.append(threading.current_thread().name)
        if self.round_trip:
            time.sleep(self.round_trip)
        return super().commit(batch)


def _check(storage: _Threads, record_status: ImportStatus) -> None:
    assert record_status == ImportStatus.SUCCEEDED
    assert reconcile(storage).clean
    totals = storage.day_totals(date(2025, 3, 1), date(2025, 3, 31))
    assert sum(t.sales_count for t in totals.values()) == SALES


class _Clock:
    """A clock the test moves: wall and CPU time apart, so waits are exactly what it says."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0


def test_serial_while_the_waits_stay_under_their_share_then_concurrent_for_the_rest() -> None:
    clock = _Clock()
    pacing = WritePacing(clock=lambda: clock.wall, cpu_clock=lambda: clock.cpu)
    pacing.start()
    assert not pacing.concurrent

    def call(wait: float, work: float) -> None:
        def answer(_: None) -> None:
            clock.wall += wait + work
            clock.cpu += work

        pacing.timed(answer, None)

    call(wait=0.001, work=0.009)  # a tenth of the time spent waiting: threads would cost more
    clock.wall += 0.010  # the reader's parsing between the calls
    clock.cpu += 0.010
    assert not pacing.review()
    call(wait=0.030, work=0.002)  # now the waits are 31 of 62 ms
    assert pacing.review() and pacing.concurrent
    assert pacing.waited == pytest.approx(0.031)
    pacing.start()  # a new import starts serial again and counts its own waits
    assert not pacing.concurrent and pacing.waited == 0
    assert WAIT_SHARE == 0.2


def test_a_fixed_pacing_is_concurrent_from_the_start_and_times_nothing() -> None:
    assert WritePacing.fixed().concurrent
    ticks = count()
    pacing = WritePacing(adaptive=False, clock=lambda: float(next(ticks)), cpu_clock=lambda: 0.0)
    pacing.start()
    assert pacing.concurrent
    assert pacing.timed(lambda x: x + 1, 1) == 2
    assert pacing.waited == 0
    assert pacing.first_flush(6000) == 6000


def test_an_adaptive_pacing_probes_with_a_small_first_flush_whatever_it_then_decides() -> None:
    # The same on every attempt of a file, so a retry's change-list parts fall where they fell.
    assert WritePacing().first_flush(6000) == PROBE_SALES
    assert WritePacing().first_flush(40) == 40


def test_with_answers_at_once_the_whole_import_writes_on_the_calling_thread() -> None:
    storage = _Threads()
    clock = _Clock()  # no wait at all, whatever else the machine is doing
    pacing = WritePacing(clock=lambda: clock.wall, cpu_clock=lambda: clock.cpu)
    ingestor = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH, pacing=pacing)
    record = ingestor.run(ref_for(storage, _export()))
    _check(storage, record.status)
    assert set(storage.senders) == {threading.current_thread().name}
    assert not pacing.concurrent


def test_answers_that_keep_it_waiting_send_the_rest_of_the_import_from_the_writer_lanes() -> None:
    storage = _Threads(round_trip=0.02)  # each commit waits 20 ms: far past a fifth of the time
    pacing = WritePacing()
    ingestor = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH, pacing=pacing)
    record = ingestor.run(ref_for(storage, _export()))
    _check(storage, record.status)
    assert pacing.concurrent
    main = threading.current_thread().name
    first = storage.senders.index(next(s for s in storage.senders if s != main))
    assert first >= 1 and set(storage.senders[:first]) == {main}  # the probe flush, serial
    assert all(s.startswith("sale-writer") for s in storage.senders[first:])  # then the lanes only
    listed = {e.sale_id for _, entries in iter_parts(storage, BUCKET, record.import_id) for e in entries}
    assert len(listed) == SALES


class _Intervals(_Threads):
    """Records the interpreter's switch interval at every commit."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.intervals: list[float] = []

    def commit(self, batch: WriteBatch) -> Conflicts:
        self.intervals.append(sys.getswitchinterval())
        if self.fail:
            raise RuntimeError("the storage broke mid-import")
        return super().commit(batch)


def test_an_import_with_writer_lanes_holds_the_gil_longer_and_puts_the_interval_back() -> None:
    before = sys.getswitchinterval()
    storage = _Intervals()
    record = Ingestor(storage, "rejects/", writers=8, sales_per_flush=PER_FLUSH).run(ref_for(storage, _export()))
    _check(storage, record.status)
    assert storage.intervals and storage.intervals == pytest.approx([SWITCH_INTERVAL_S] * len(storage.intervals))
    assert sys.getswitchinterval() == before


def test_the_interval_is_put_back_when_the_import_fails_and_left_alone_on_one_thread() -> None:
    before = sys.getswitchinterval()
    failing = _Intervals(fail=True)
    with pytest.raises(RuntimeError):
        Ingestor(failing, "rejects/", writers=8, sales_per_flush=PER_FLUSH).run(ref_for(failing, _export()))
    assert failing.intervals and failing.intervals == pytest.approx([SWITCH_INTERVAL_S] * len(failing.intervals))
    assert sys.getswitchinterval() == before
    serial = _Intervals()
    Ingestor(serial, "rejects/", writers=1, sales_per_flush=PER_FLUSH).run(ref_for(serial, _export()))
    assert set(serial.intervals) == {before}  # one thread hands the GIL to nobody


def test_overlapping_imports_share_the_interval_and_the_last_one_out_restores_it() -> None:
    before = sys.getswitchinterval()
    inside = threading.Barrier(2, timeout=10)
    seen: list[float] = []

    def hold() -> None:
        with writer_switch_interval():
            inside.wait()  # both imports are running
            seen.append(sys.getswitchinterval())
            inside.wait()  # the first to leave must not reset it for the other

    first = threading.Thread(target=hold)
    first.start()
    with writer_switch_interval():
        inside.wait()
        inside.wait()
        first.join(timeout=10)
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_S)  # the other import left; this one runs on
    assert seen == pytest.approx([SWITCH_INTERVAL_S])
    assert sys.getswitchinterval() == before
