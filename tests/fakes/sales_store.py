"""`SalesStore` in memory, with the DynamoDB semantics the ingest relies on.

What it keeps of DynamoDB: conditional puts; transactions that apply all of their items or none,
whose cancellation names every failed condition with the item as stored (`ALL_OLD`); the 100-item
limit and the per-update key limit; a transaction conflict when two transactions touch one item
at the same moment (threads), retried with a bound as `DynamoSalesStore` does, then
`TransientStorageError`. tests/contract/test_sales_store_contract.py runs the same checks against
this fake and `DynamoSalesStore` on moto, so the two cannot drift apart.

Hooks for tests: `before_commit(batch)` runs just before a transaction is checked (a race or a
crash), `after_commit(batch)` just after it landed (a crash after the write: the caller never
hears of it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from salesmetrics.breakdowns import (
    MAX_KEYS_PER_UPDATE,
    SHARD_UNITS,
    ZERO_KEY,
    BreakdownShard,
    KeyTotals,
    ShardDelta,
    ShardRef,
    iter_members,
    key_totals,
    layout,
)
from salesmetrics.sales import DayTotals, Sale, StoredSale
from salesmetrics.storage.base import (
    MAX_TRANSACTION_ITEMS,
    Conflicts,
    DayAggregate,
    TransientStorageError,
    WriteBatch,
)


@dataclass(slots=True)
class _Day:
    totals: DayTotals
    rev: int


@dataclass(slots=True)
class _Shard:
    """A breakdown shard as DynamoDB keeps it: the `keys` set (names and unit markers), the
    figures per key, the write counter."""

    members: set[str] = field(default_factory=set)
    figures: dict[str, KeyTotals] = field(default_factory=dict)
    rev: int = 0


@dataclass
class MemorySalesStore:
    sales: dict[str, StoredSale] = field(default_factory=dict)
    sale_lines: dict[str, Sale] = field(default_factory=dict)
    days: dict[date, _Day] = field(default_factory=dict)
    shards: dict[ShardRef, _Shard] = field(default_factory=dict)
    before_commit: Callable[[WriteBatch], None] | None = None
    after_commit: Callable[[WriteBatch], None] | None = None
    conflict_attempts: int = 8
    commits: int = 0
    cancelled: int = 0
    reads: int = 0
    shard_reads: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_flight: dict[str, int] = field(default_factory=dict)

    def read_sales(self, sale_ids: Sequence[str]) -> dict[str, StoredSale]:
        with self._lock:
            self.reads += 1
            return {s: self.sales[s] for s in dict.fromkeys(sale_ids) if s in self.sales}

    def commit(self, batch: WriteBatch) -> Conflicts:
        days = sorted(d for d, delta in batch.day_deltas.items() if not delta.is_zero())
        shards = sorted(ref for ref, delta in batch.breakdowns.items() if not delta.is_zero())
        count = len(batch.writes) + len(batch.deletes) + len(days) + len(shards)
        if count == 0:
            return Conflicts()
        if count > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"a transaction holds at most {MAX_TRANSACTION_ITEMS} items, not {count}")
        for ref in shards:  # DynamoDB's 4 KB expression limit, as DynamoSalesStore enforces it
            if len(batch.breakdowns[ref].figures) > MAX_KEYS_PER_UPDATE:
                raise ValueError(f"a shard update holds at most {MAX_KEYS_PER_UPDATE} keys")
        if self.before_commit is not None:
            self.before_commit(batch)
        keys = (
            [f"SALE#{w.sale.sale_id}" for w in batch.writes]
            + [f"SALE#{d.sale_id}" for d in batch.deletes]
            + [f"DAY#{d}" for d in days]
            + [f"BY#{r.dimension}#{r.day}#{r.shard}" for r in shards]
        )
        me = threading.get_ident()
        for attempt in range(self.conflict_attempts):
            with self._lock:
                busy = any(self._in_flight.get(k, me) != me for k in keys)
                if not busy:
                    for k in keys:
                        self._in_flight[k] = me
            if busy:  # TransactionConflict: another transaction holds one of these items; back off
                time.sleep(0.001 * 2**attempt)
                continue
            try:
                return self._apply(batch, days, shards)
            finally:
                with self._lock:
                    for k in keys:
                        self._in_flight.pop(k, None)
        raise TransientStorageError(f"transaction of {count} items kept conflicting")

    def _apply(self, batch: WriteBatch, days: list[date], shards: list[ShardRef]) -> Conflicts:
        with self._lock:
            self.commits += 1
            conflicts: dict[str, StoredSale | None] = {}
            for w in batch.writes:
                stored = self.sales.get(w.sale.sale_id)
                expected = w.expected
                ok = stored is None if expected is None else (stored is not None and stored.version == expected.version)
                if not ok:
                    conflicts[w.sale.sale_id] = stored
            for gone in batch.deletes:
                stored = self.sales.get(gone.sale_id)
                if stored is None or stored.version != gone.expected.version:
                    conflicts[gone.sale_id] = stored
            full = [ref for ref in shards if not self._shard_condition(ref, batch.breakdowns[ref])]
            if conflicts or full:
                self.cancelled += 1
                return Conflicts(conflicts, full)
            for w in batch.writes:
                s = w.sale
                self.sales[s.sale_id] = StoredSale(
                    sale_id=s.sale_id,
                    sale_date=s.sale_date,
                    version=w.version,
                    content_hash=w.content_hash,
                    total=s.total,
                    tax=s.tax,
                    discounts=s.discounts,
                    import_id=w.import_id,
                    first_import_id=w.first_import_id,
                    change=w.change,
                    lines=s.lines,
                    client_id=s.client_id,
                    history=w.history,
                )
                self.sale_lines[s.sale_id] = s
            for gone in batch.deletes:
                del self.sales[gone.sale_id]
                self.sale_lines.pop(gone.sale_id, None)
            for d in days:
                old = self.days.get(d)
                delta = batch.day_deltas[d]
                self.days[d] = _Day(old.totals + delta, old.rev + 1) if old else _Day(delta, 1)
            for ref in shards:
                shard = self.shards.setdefault(ref, _Shard())
                changed = {k: t for k, t in batch.breakdowns[ref].figures.items() if not t.is_zero()}
                shard.members.update(iter_members(k for k in changed if k not in batch.breakdowns[ref].present))
                for key, totals in changed.items():
                    shard.figures[key] = shard.figures.get(key, ZERO_KEY) + totals
                shard.rev += 1
        if self.after_commit is not None:
            self.after_commit(batch)
        return Conflicts()

    def _shard_condition(self, ref: ShardRef, delta: ShardDelta) -> bool:
        """DynamoSalesStore's condition on a shard update: room for the new keys' units, and every
        key the plan expects there present."""
        shard = self.shards.get(ref)
        members = shard.members if shard is not None else set()
        if delta.present:
            return (
                shard is not None
                and len(members) <= SHARD_UNITS - delta.new_units
                and all("=" + k in members for k in delta.present)
            )
        return len(members) <= SHARD_UNITS - delta.new_units

    def day_totals(self, start: date, end: date) -> dict[date, DayTotals]:
        with self._lock:
            return {d: v.totals for d, v in sorted(self.days.items()) if start <= d <= end}

    def day_aggregates(self) -> Iterator[DayAggregate]:
        with self._lock:
            snapshot = sorted(self.days.items())
        return iter([DayAggregate(d, v.totals, v.rev) for d, v in snapshot])

    def iter_sales(self) -> Iterator[StoredSale]:
        with self._lock:
            return iter(list(self.sales.values()))

    def replace_day(self, day: date, totals: DayTotals, expected_rev: int | None) -> bool:
        with self._lock:
            old = self.days.get(day)
            if (old is None) != (expected_rev is None) or (old is not None and old.rev != expected_rev):
                return False
            self.days[day] = _Day(totals, (expected_rev or 0) + 1)
            return True

    def breakdown_shards(self, dimension: str, start: date, end: date) -> Iterator[BreakdownShard]:
        with self._lock:
            self.shard_reads += 1
            found = sorted(
                (ref, shard)
                for ref, shard in self.shards.items()
                if ref.dimension == dimension and start <= ref.day <= end
            )
            return iter([self._stored_shard(ref, shard) for ref, shard in found])

    def breakdown_totals(self, dimension: str, start: date, end: date) -> dict[str, KeyTotals]:
        return key_totals(self.breakdown_shards(dimension, start, end))

    @staticmethod
    def _stored_shard(ref: ShardRef, shard: _Shard) -> BreakdownShard:
        keys = frozenset(m[1:] for m in shard.members if m.startswith("="))
        figures = {**dict.fromkeys(keys, ZERO_KEY), **shard.figures}
        return BreakdownShard(ref.dimension, ref.day, ref.shard, shard.rev, keys, len(shard.members), figures)

    def replace_breakdown(
        self, dimension: str, day: date, figures: Mapping[str, KeyTotals], expected: Sequence[BreakdownShard]
    ) -> bool:
        held = {s.shard: s.rev for s in expected}
        contents = layout(figures)
        written = range(max(len(contents), max(held, default=-1) + 1))
        with self._lock:
            for number in written:  # each Put is conditioned on the shard it expects (or none)
                stored = self.shards.get(ShardRef(dimension, day, number))
                if (stored.rev if stored is not None else None) != held.get(number):
                    return False
            for number in written:
                content = {
                    k: t for k, t in (contents[number] if number < len(contents) else {}).items() if not t.is_zero()
                }
                self.shards[ShardRef(dimension, day, number)] = _Shard(
                    set(iter_members(content)), dict(content), held.get(number, 0) + 1
                )
            return True
