"""The exactness property over thousands of cases, on the in-memory storage fake.

Random sets of overlapping, corrected, copied and re-sorted exports are uploaded in one order and
delivered in any order, some more than once; deliveries crash before or after their k-th write
(and are retried, as Lambda does), and other imports run between two transactions of one. Every
run must end with every import finished (none stuck IN_PROGRESS) and the stored figures equal to
an independent reckoning of "the latest upload of each sale wins": the day aggregates and every
breakdown by item, location and payment method (corrections rename items, change payment methods
and locations, so figures move between keys as well as between days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesmetrics.events import ObjectRef
from salesmetrics.imports import ImportStatus
from salesmetrics.ingest import Ingestor
from salesmetrics.pacing import WritePacing
from salesmetrics.storage.base import WriteBatch
from tests.fakes.storage import MemoryStorage
from tests.ingest.support import (
    BUCKET,
    REJECTS_PREFIX,
    T0,
    check_exact,
    corrected,
    export_bytes,
    resorted,
    sample_sales,
)
from tests.reckoning import reckon

BASE = sample_sales(seed=17, lines=90, per_day=6)
FINISHED = {ImportStatus.SUCCEEDED, ImportStatus.PARTIAL, ImportStatus.FAILED}


class Crash(Exception):
    pass


class _SwitchAfter(WritePacing):
    """Serial for an attempt's first `flushes` flushes, concurrent after them."""

    def __init__(self, flushes: int) -> None:
        super().__init__()
        self.flushes = flushes
        self.reviews = 0

    def start(self) -> None:
        super().start()
        self.reviews = 0

    def review(self) -> bool:
        self.reviews += 1
        self.concurrent = self.concurrent or self.reviews >= self.flushes
        return self.concurrent


@dataclass(frozen=True)
class Upload:
    start: int
    length: int
    fix: int  # 0: a plain slice; else which sales it corrects (amount; some moved or relabelled)
    shuffle: int | None  # re-sorted (shuffled rows) with this seed
    copy_of: int | None  # an exact copy of an earlier upload, under another key


uploads = st.builds(
    Upload,
    start=st.integers(0, len(BASE) - 1),
    length=st.integers(1, len(BASE)),
    fix=st.integers(0, 5),
    shuffle=st.none() | st.integers(0, 3),
    copy_of=st.none() | st.integers(0, 3),
)


@dataclass(frozen=True)
class Delivery:
    upload: int
    crash_at: int | None  # the k-th transaction of this attempt dies
    crash_after: bool  # ... after it landed (a timeout) rather than before
    interleave_at: int | None  # another pending delivery runs whole before this attempt's k-th transaction


def build_file(plan: Upload, files: list[bytes]) -> bytes:
    if plan.copy_of is not None and plan.copy_of < len(files):
        return files[plan.copy_of]
    part = BASE[plan.start : plan.start + plan.length]
    data = export_bytes(
        [
            corrected(s, Decimal(plan.fix), move_days=(i + plan.fix) % 3 == 0, relabel=(i + plan.fix) % 4)
            if plan.fix and (i + plan.fix) % 4 == 0
            else s
            for i, s in enumerate(part)
        ]
    )
    return resorted(data, seed=plan.shuffle) if plan.shuffle is not None else data


def run_scenario(plans: list[Upload], data: Any) -> None:
    files: list[bytes] = []
    for plan in plans:
        files.append(build_file(plan, files))
    storage = MemoryStorage()
    refs = []
    for i, body in enumerate(files):
        version = storage.put_object(BUCKET, f"uploads/export-{i}.csv", body)
        refs.append(
            ObjectRef(
                bucket=BUCKET,
                key=f"uploads/export-{i}.csv",
                version_id=version,
                etag=f"e{i}",
                size=len(body),
                event_time=T0 + timedelta(seconds=i),
                sequencer=f"{i:016X}",
                request_id=f"r{i}",
            )
        )
    order = data.draw(st.permutations(range(len(files))), label="delivery order")
    order += data.draw(st.lists(st.sampled_from(range(len(files))), max_size=3), label="redeliveries")
    queue = [
        Delivery(
            u,
            data.draw(st.none() | st.integers(1, 4), label="crash at"),
            data.draw(st.booleans()),
            data.draw(st.none() | st.integers(1, 3), label="interleave at"),
        )
        for u in order
    ]
    per_flush = data.draw(st.sampled_from([7, 25, 500]), label="sales per flush")
    # Concurrent writer lanes make thread scheduling part of the case (not replayable exactly);
    # most examples write on one lane, so that hypothesis can shrink what they find.
    writers = data.draw(st.sampled_from([1, 1, 1, 4]), label="writer lanes")
    # The lanes from the first flush, or serial first and concurrent from a later flush on (what an
    # adaptive pacing does once DynamoDB's answers keep it waiting).
    serial_flushes = data.draw(st.none() | st.integers(1, 3), label="serial flushes") if writers > 1 else None

    def ingestor() -> Ingestor:
        pacing = _SwitchAfter(serial_flushes) if serial_flushes is not None else None
        return Ingestor(storage, REJECTS_PREFIX, sales_per_flush=per_flush, writers=writers, pacing=pacing)

    for _ in range(4 * len(queue) + 10):  # bounded: every crash re-queues a retry without a crash
        if not queue:
            break
        delivery = queue.pop(0)
        commits: dict[str, Any] = {"n": 0}

        def before(batch: WriteBatch, d: Delivery = delivery, c: dict[str, Any] = commits) -> None:
            c["n"] += 1
            if d.interleave_at == c["n"] and queue:
                other = queue.pop(0)  # runs whole between two of this attempt's transactions
                storage.before_commit, storage.after_commit = None, None
                try:
                    ingestor().run(refs[other.upload])
                finally:
                    storage.before_commit, storage.after_commit = c["hooks"]
            if d.crash_at == c["n"] and not d.crash_after:
                raise Crash("before write")

        def after(batch: WriteBatch, d: Delivery = delivery, c: dict[str, Any] = commits) -> None:
            if d.crash_at == c["n"] and d.crash_after:
                raise Crash("after write")

        commits["hooks"] = (before, after)
        storage.before_commit, storage.after_commit = before, after
        try:
            ingestor().run(refs[delivery.upload])
        except Crash:
            queue.append(Delivery(delivery.upload, None, False, None))  # Lambda's retry
        finally:
            storage.before_commit = storage.after_commit = None
    assert not queue
    for record in storage.imports.values():
        assert record.status in FINISHED, record
    check_exact(storage, files)
    assert set(storage.sales) == set(reckon(files).sales)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans=st.lists(uploads, min_size=1, max_size=4), data=st.data())
def test_any_uploads_delivered_in_any_order_with_crashes_and_races_end_exact(plans: list[Upload], data: Any) -> None:
    run_scenario(plans, data)


@pytest.mark.slow
@settings(max_examples=4000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans=st.lists(uploads, min_size=1, max_size=6), data=st.data())
def test_many_more_uploads_delivered_in_any_order_end_exact(plans: list[Upload], data: Any) -> None:
    run_scenario(plans, data)
