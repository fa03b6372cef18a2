"""Breakdowns by item, location and payment method, written with the sales they summarise.

A shop with thousands of distinct items a day spills a day's keys over several shard items; they
stay exact, a correction or a re-upload finds every key where it lives (so shards never multiply
with uploads), and a writer whose picture of the shards is wrong learns them and plans again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from devtools.samplegen import GenSale
from salesmetrics import breakdowns
from salesmetrics.breakdowns import (
    DIMENSIONS,
    MAX_KEYS_PER_UPDATE,
    SHARD_UNITS,
    BreakdownPlan,
    KeyTotals,
    ShardDelta,
    ShardDirectory,
    ShardRef,
    key_totals,
    sale_deltas,
)
from salesmetrics.events import ObjectRef
from salesmetrics.imports import ImportStatus
from salesmetrics.ingest import MAX_TRANSACTION_ITEMS, Ingestor
from salesmetrics.reconcile import reconcile
from salesmetrics.sales import SaleLine
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
    sample_sales,
)
from tests.moto_resources import create_resources
from tests.reckoning import reckon

DAY = date(2025, 3, 1)


def many_items(sales: int, seed: int = 5) -> list[GenSale]:
    """`sales` sales of one day, every line a distinct item (a shop selling thousands of SKUs)."""
    out, n = [], 0
    for sale in sample_sales(seed=seed, lines=int(sales * 1.3), per_day=sales * 2):
        lines = []
        for line in sale.lines:
            lines.append(replace(line, item_name=f"SKU-{n:05d} {line.item_name}"))
            n += 1
        out.append(replace(sale, lines=tuple(lines)))
    assert {s.sale_date for s in out} == {DAY}
    return out[:sales]


class Recorder:
    """Every transaction's size, and how often the writer read shards to learn them."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage
        self.items: list[int] = []
        self.reads_before = storage.shard_reads
        storage.before_commit = self.before

    @property
    def shard_reads(self) -> int:
        return self.storage.shard_reads - self.reads_before

    def before(self, batch: WriteBatch) -> None:
        self.items.append(batch.item_count())
        for delta in batch.breakdowns.values():
            assert len(delta.figures) <= MAX_KEYS_PER_UPDATE


def run(storage: MemoryStorage, data: bytes, n: int, **options: Any) -> None:
    key = f"uploads/export-{n}.csv"
    version = storage.put_object(BUCKET, key, data)
    ref = ObjectRef(
        bucket=BUCKET,
        key=key,
        version_id=version,
        etag=f"e{n}",
        size=len(data),
        event_time=T0 + timedelta(minutes=n),
        sequencer=f"{n:016X}",
        request_id=f"r{n}",
    )
    record = Ingestor(storage, REJECTS_PREFIX, **options).run(ref)
    assert record.status is ImportStatus.SUCCEEDED, record.message


def item_shards(storage: MemoryStorage) -> list[Any]:
    return list(storage.breakdown_shards("item", DAY, DAY))


def test_thousands_of_items_a_day_spill_over_shards_and_stay_exact() -> None:
    storage = MemoryStorage()
    recorder = Recorder(storage)
    sales = many_items(2500)
    data = export_bytes(sales)
    run(storage, data, 0)
    assert recorder.shard_reads == 0  # a first ingest never needs to read a shard
    check_exact(storage, [data])
    shards = item_shards(storage)
    keys = set().union(*(s.keys for s in shards))
    assert len(keys) > 3 * SHARD_UNITS  # thousands of distinct items on one day
    assert all(s.units <= SHARD_UNITS for s in shards)
    # Each key lives in one shard, and the shards are about as few as their room allows.
    assert sum(len(s.keys) for s in shards) == len(keys)
    assert len(shards) <= len(keys) // SHARD_UNITS + 1 + MAX_TRANSACTION_ITEMS // MAX_KEYS_PER_UPDATE
    assert max(recorder.items) <= MAX_TRANSACTION_ITEMS


def test_a_correction_finds_every_key_where_it_lives_so_shards_do_not_multiply() -> None:
    storage = MemoryStorage()
    sales = many_items(2500)
    first = export_bytes(sales)
    run(storage, first, 0)
    before = {(s.shard, s.keys) for s in item_shards(storage)}
    recorder = Recorder(storage)
    fix = export_bytes(
        [corrected(s, Decimal("2.5"), relabel=2 + i % 2) if i % 5 == 0 else s for i, s in enumerate(sales)]
    )
    run(storage, fix, 1, sales_per_flush=500)
    reads = recorder.shard_reads
    check_exact(storage, [first, fix])
    # A new import knows nothing of the shards. Its first flush finds the sales stored; from
    # then on it reads the shards of each flush's days and puts every key where it is. Only the
    # first flush may copy keys into shards with room to spare: no shard is added.
    after = item_shards(storage)
    assert {s.shard for s in after} == {shard for shard, _ in before}
    first_flush = {k for s in many_items(2500)[:500] for k in (ln.item_name.strip() for ln in s.lines)}
    for shard, keys in before:
        (now,) = [s.keys for s in after if s.shard == shard]
        assert now >= keys and now - keys <= first_flush
    assert 3 <= reads <= 3 * 5  # one Query per dimension per flush after the first


def test_the_same_items_sold_day_after_day_stay_in_one_shard_per_day() -> None:
    storage = MemoryStorage()
    data = export_bytes(sample_sales(seed=3, lines=3000, per_day=300))
    run(storage, data, 0)
    check_exact(storage, [data])
    truth = reckon([data])
    for dimension in ("location", "payment_method"):
        shards = list(storage.breakdown_shards(dimension, truth.first_day(), truth.last_day()))
        assert len(shards) == len({s.day for s in shards})  # a handful of keys: one shard a day
    shards = list(storage.breakdown_shards("item", truth.first_day(), truth.last_day()))
    days = {s.day for s in shards}
    # ~55 catalogue items a day, at most MAX_KEYS_PER_UPDATE keys a shard per transaction.
    assert len(shards) <= 4 * len(days)


@pytest.mark.parametrize("lanes", [1, 4])
def test_a_writer_whose_shard_picture_went_stale_learns_it_and_stays_exact(lanes: int) -> None:
    """Between two flushes of one import, the day's keys are laid out anew (as a reconcile repair
    does): the writer's next plan expects keys where they no longer are, its condition fails, it
    reads the day and plans again."""
    storage = MemoryStorage()
    sales = many_items(1200)
    data = export_bytes(sales)
    commits = {"n": 0}

    def relayout(batch: WriteBatch) -> None:
        commits["n"] += 1
        if commits["n"] in (6, 9):
            for dimension in ("item", "location", "payment_method"):
                held = list(storage.breakdown_shards(dimension, DAY, DAY))
                shuffled = dict(reversed(list(key_totals(held).items())))
                assert storage.replace_breakdown(dimension, DAY, shuffled, held)

    storage.before_commit = relayout
    run(storage, data, 0, sales_per_flush=150, writers=lanes)
    storage.before_commit = None
    assert storage.cancelled >= 1
    check_exact(storage, [data])
    assert reconcile(storage).clean


@pytest.mark.parametrize("lanes", [1, 4])
def test_a_writer_that_forgets_old_days_stays_exact_with_bounded_memory(
    lanes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer remembers the shards of a few (dimension, day)s only. An export of many days,
    then a correction of it read in small flushes in reverse order (so every day comes back after
    the writer forgot it): the keys it no longer knows are added where there is room, and every
    breakdown stays equal to the reckoning."""
    monkeypatch.setattr(breakdowns, "DIRECTORY_DAYS", 4)
    seen: list[int] = []
    real_committed = breakdowns.ShardDirectory.committed

    def committed(self: breakdowns.ShardDirectory, deltas: Any) -> None:
        real_committed(self, deltas)
        seen.append(len(self))

    monkeypatch.setattr(breakdowns.ShardDirectory, "committed", committed)
    storage = MemoryStorage()
    sales = list(sample_sales(seed=11, lines=1500, per_day=40))
    first = export_bytes(sales)
    run(storage, first, 0, sales_per_flush=120, writers=lanes)
    fix = export_bytes(
        [corrected(s, Decimal("1.5"), relabel=1 + i % 2) if i % 3 == 0 else s for i, s in enumerate(reversed(sales))]
    )
    run(storage, fix, 1, sales_per_flush=60, writers=lanes)
    assert seen and max(seen) <= 4
    check_exact(storage, [first, fix])
    assert reconcile(storage).clean


def test_a_sale_of_hundreds_of_distinct_lines_fits_one_transaction() -> None:
    storage = MemoryStorage()
    recorder = Recorder(storage)
    (big,) = many_items(1)
    line = big.lines[0]
    huge = replace(
        big, lines=tuple(replace(line, item_name=f"Part {n:03d}", payment_method=f"Card {n % 30}") for n in range(400))
    )
    data = export_bytes([huge])
    run(storage, data, 0)
    check_exact(storage, [data])
    assert recorder.items and max(recorder.items) <= MAX_TRANSACTION_ITEMS


def _tamper(storage: Any, day: date) -> None:
    """Drift that no import makes: a key's figures changed, and a key that sold nothing."""
    batch = WriteBatch()
    batch.breakdowns[ShardRef("item", day, 0)] = ShardDelta(
        {"Ghost item": KeyTotals(Decimal("9.99"), Decimal(0), Decimal(1), 1, 1)}, set(), 1
    )
    batch.breakdowns[ShardRef("payment_method", day, 7)] = ShardDelta(
        {"Credit card (Visa/MC-Keyed)": KeyTotals(Decimal("-1.00"), Decimal(0), Decimal(0), 0, 0)}, set(), 1
    )
    assert storage.commit(batch).written


@pytest.mark.parametrize("backend", ["memory", "dynamodb"])
def test_reconcile_finds_breakdown_drift_and_repairs_it_exactly(backend: str) -> None:
    data = export_bytes(sample_sales(seed=9, lines=120, per_day=20))
    truth = reckon([data])
    day = truth.first_day() + timedelta(days=1)

    def check(storage: Any, ingest: Any) -> None:
        ingest(data)
        _tamper(storage, day)
        report = reconcile(storage)
        assert not report.clean and not report.drift  # the day aggregates are right
        drifted = {(d.dimension, d.day) for d in report.breakdown_drift}
        assert drifted == {("item", day), ("payment_method", day)}
        described = report.to_dict()["breakdown_drift"]
        assert any("Ghost item" in d["first_keys"] for d in described)
        repaired = reconcile(storage, repair=True)
        assert all(d.repaired for d in repaired.breakdown_drift)
        assert reconcile(storage).clean
        check_exact(storage, [data])

    if backend == "memory":
        storage = MemoryStorage()
        check(storage, lambda body: run(storage, body, 0))
        return
    with mock_aws():
        s3 = boto3.client("s3")
        dynamo = AwsStorage(create_resources(boto3.client("dynamodb"), s3), sleep=lambda _: None)

        def ingest(body: bytes) -> None:
            put = s3.put_object(Bucket=BUCKET, Key="uploads/a.csv", Body=body)
            ref = ObjectRef(
                bucket=BUCKET,
                key="uploads/a.csv",
                version_id=put["VersionId"],
                etag=put["ETag"].strip('"'),
                size=len(body),
                event_time=T0,
                sequencer="01",
                request_id="r",
            )
            assert Ingestor(dynamo, REJECTS_PREFIX).run(ref).status is ImportStatus.SUCCEEDED

        check(dynamo, ingest)


def test_a_first_ingest_with_breakdowns_stays_within_15_requests_per_1000_lines() -> None:
    """The write path's budget (bench/requests_bench.py measures it on moto, with capacity):
    breakdowns add shard items to the transactions, not transactions."""
    storage = MemoryStorage()
    data = export_bytes(sample_sales(seed=20250301, lines=6000, per_day=300))
    run(storage, data, 0)
    requests = storage.commits + storage.reads + storage.shard_reads + 4  # import record x3, its first read
    assert storage.cancelled == 0 and storage.shard_reads == 0
    assert requests / 6 <= 15, requests


_KEYS = st.sampled_from(["Latte", " Latte ", "", "Mocha", "Tea", "x" * 300, "Scone", "Card", "Cash"])
_AMOUNTS = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=2, allow_nan=False)
_LINES = st.builds(
    SaleLine,
    line_no=st.integers(1, 10_000),
    item_name=_KEYS,
    quantity=st.none() | _AMOUNTS,
    item_price=st.none(),
    subtotal=st.none(),
    discount_amount=st.none(),
    tax=st.none() | _AMOUNTS,
    item_total=_AMOUNTS,
    payment_method=_KEYS,
    location=_KEYS,
)


@settings(max_examples=300, deadline=None)
@given(
    sales=st.lists(
        st.tuples(st.integers(0, 2), st.lists(_LINES, min_size=1, max_size=4).map(tuple)), min_size=1, max_size=60
    ),
    stored=st.lists(st.tuples(st.sampled_from(DIMENSIONS), st.integers(0, 2), _KEYS, st.integers(0, 2)), max_size=12),
    full=st.integers(0, SHARD_UNITS),
)
def test_a_new_sale_is_placed_as_its_deltas_would_be(
    sales: list[tuple[int, tuple[SaleLine, ...]]], stored: list[tuple[str, int, str, int]], full: int
) -> None:
    """The planner's path for a sale new to storage (`place_new`, `apply_new`) against the
    general one (`place` of `sale_deltas`, `apply`), from the same knowledge of stored shards:
    the same offers, and the same shard deltas in the end."""
    directory = ShardDirectory()
    for dimension, offset, key, shard in stored:
        day = DAY + timedelta(days=offset)
        directory.committed(
            {ShardRef(dimension, day, shard): ShardDelta({breakdowns.key_of(key): KeyTotals(lines=1)}, new_units=full)}
        )
    general, new = BreakdownPlan(directory), BreakdownPlan(directory)
    for offset, lines in sales:
        day = DAY + timedelta(days=offset)
        expected = general.place(sale_deltas(day, lines, None, None))
        offer = new.place_new(day, lines)
        assert (offer.placements, offer.new_items, offer.size) == (
            expected.placements,
            expected.new_items,
            expected.size,
        )
        general.apply(expected)
        new.apply_new(offer, day, lines)
    assert new.finish() == general.finish()
