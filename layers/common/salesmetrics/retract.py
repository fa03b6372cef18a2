"""Undo an import: every figure as if it had never been uploaded (docs/architecture.md, "Undo").

No boto3 here. The retraction walks the import's change list (`changes`: every sale it wrote or
recorded its version on, one part per flush) a part at a time and, for each sale, does what the
sale item's holder history says:

- the retracted import holds the current version and no other active import held the sale: the
  sale is deleted, its day and breakdown figures taken out;
- another active import held it before: the sale goes back to that import's version. With the
  same content (the retracted upload changed nothing) only the version is written back; with
  other content, that version is read again from the holder's object version (the bucket is
  versioned) and written with its figures;
- a newer import holds the current version: only the retracted import's entry leaves the history.

Each change is the ingest's own conditional write (on `ver`), in the same transaction as its day
and breakdown deltas (`WriteBatch`, `Storage.commit`), so a retraction racing an ingest or another
retraction, or re-run after a crash, never counts a sale twice: a cancelled transaction is
re-planned against what storage holds now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from .breakdowns import DIMENSIONS, BreakdownPlan, BreakdownShard, DayDeltas, ShardDirectory, sale_deltas
from .changes import iter_parts
from .dates import utc_now
from .formats import open_export
from .imports import RETRACTED_STATES, ImportRecord, ImportStatus
from .ingest import MAX_PLAN_ATTEMPTS, MAX_TRANSACTION_BYTES
from .parsing import ExportError, ExportReader, Fragment, iter_byte_lines
from .retraction_start import begin_retraction
from .sales import DayTotals, Holder, Sale, SaleChange, StoredSale, import_of
from .scatter import FragmentSpill, first_pass
from .storage.base import (
    MAX_TRANSACTION_ITEMS,
    Conflicts,
    ObjectGone,
    SaleDelete,
    SaleWrite,
    TransientStorageError,
    WriteBatch,
)
from .storage.import_log import ImportLog
from .storage.object_store import ObjectStore
from .storage.sales_store import SalesStore

logger = logging.getLogger(__name__)


class RetractStorage(SalesStore, ImportLog, ObjectStore, Protocol):
    """What a retraction uses: the sales it rewrites, the import records, the object versions it
    reads again (and the change lists)."""


@dataclass(slots=True)
class _Step:
    """What retracting one sale writes: a Put, a Delete, or nothing; and the deltas it causes."""

    sale_id: str
    write: SaleWrite | None = None
    delete: SaleDelete | None = None
    days: list[tuple[date, DayTotals]] = field(default_factory=list)
    lines: DayDeltas | None = None
    restored: bool = False


class Retractor:
    """Retracts one import, exactly once however often it is run (see the module's docstring)."""

    def __init__(
        self, storage: RetractStorage, *, clock: Callable[[], str] = utc_now, spill_dir: str | None = None
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.spill_dir = spill_dir
        self._active: dict[str, bool] = {}
        self._records: dict[str, ImportRecord | None] = {}
        self.shards = ShardDirectory()

    def begin(self, import_id: str) -> ImportRecord | None:
        """Mark the import RETRACTING (`retraction_start.begin_retraction`)."""
        return begin_retraction(self.storage, import_id)

    def run(self, import_id: str) -> ImportRecord | None:
        """Retract the import and return its record, RETRACTED (None: no such import)."""
        record = self.begin(import_id)
        if record is None or record.status == ImportStatus.RETRACTED:
            return record
        self._active[import_id] = False
        for _, entries in iter_parts(self.storage, record.bucket, import_id):
            removed, restored = self._retract(import_id, list(dict.fromkeys(e.sale_id for e in entries)))
            record.sales_removed += removed
            record.sales_restored += restored
        record.status = ImportStatus.RETRACTED
        record.retracted_at = self.clock()
        record.message = (
            f"retracted: {record.sales_removed} sales removed, {record.sales_restored} restored to an earlier upload"
        )
        self.storage.put_import(record)
        logger.info("import retracted: %s", record.message, extra={"import_id": import_id})
        return record

    # -- one part of the change list ----------------------------------------------------------------

    def _retract(self, import_id: str, sale_ids: list[str]) -> tuple[int, int]:
        known: dict[str, StoredSale | None] = dict(self.storage.read_sales(sale_ids))
        contents: dict[str, Sale] = {}  # holder version -> that version's sale, read from its object
        removed = restored = 0
        pending = sale_ids
        self._learn_shards(known)
        for _ in range(MAX_PLAN_ATTEMPTS * 4):
            steps = self._steps(import_id, pending, known, contents)
            done, conflicts = self._commit(steps)
            for step in done:
                removed += step.delete is not None
                restored += step.restored
            if conflicts is None:
                return removed, restored
            known.update(conflicts)  # re-planned against what storage holds now
            finished = {step.sale_id for step in done}
            pending = [step.sale_id for step in steps if step.sale_id not in finished]
        raise TransientStorageError(f"sales kept changing under the retraction of {import_id}; giving up for a retry")

    def _learn_shards(self, known: dict[str, StoredSale | None]) -> None:
        days = {s.sale_date for s in known.values() if s is not None}
        if not days:
            return
        first, last = min(days), max(days)
        for dimension in DIMENSIONS:
            by_day: dict[date, list[BreakdownShard]] = {}
            for shard in self.storage.breakdown_shards(dimension, first, last):
                by_day.setdefault(shard.day, []).append(shard)
            for day in days | set(by_day):
                self.shards.learn(dimension, day, by_day.get(day, []))

    def _is_active(self, import_id: str) -> bool:
        active = self._active.get(import_id)
        if active is None:
            record = self._record(import_id)
            active = self._active[import_id] = record is not None and record.status not in RETRACTED_STATES
        return active

    def _record(self, import_id: str) -> ImportRecord | None:
        if import_id not in self._records:
            self._records[import_id] = self.storage.get_import(import_id)
        return self._records[import_id]

    def _steps(
        self, import_id: str, sale_ids: list[str], known: dict[str, StoredSale | None], contents: dict[str, Sale]
    ) -> list[_Step]:
        steps: list[_Step] = []
        needs: dict[str, dict[str, str]] = {}  # holder import -> {sale id: holder version} to read
        for _ in range(MAX_PLAN_ATTEMPTS):
            steps = []
            needs = {}
            for sale_id in sale_ids:
                stored = known.get(sale_id)
                if stored is None:
                    continue
                step = self._step(import_id, stored, contents, needs)
                if step is not None:
                    steps.append(step)
            if not needs:
                return steps
            for holder, wanted in needs.items():
                found = self._read_versions(holder, wanted)
                if found is None:  # its object version is gone: that import is being retracted too
                    self._active[holder] = False
                    continue
                contents.update(found)
                for version in wanted.values():
                    if version not in found:  # not in its object any more: cannot fall back to it
                        self._active[holder] = False
        raise TransientStorageError(f"the earlier versions of {len(needs)} imports could not be read")

    def _step(
        self, import_id: str, stored: StoredSale, contents: dict[str, Sale], needs: dict[str, dict[str, str]]
    ) -> _Step | None:
        rest = tuple(h for h in stored.history if h.import_id != import_id)
        if stored.import_id != import_id:
            if len(rest) == len(stored.history):
                return None  # the import's version is not on this sale (any more)
            # A newer upload holds the sale: only the retracted one leaves its history.
            return _Step(stored.sale_id, write=_rewrite(stored, stored.as_sale(), stored.version, stored, rest))
        fallback: Holder | None = None
        for index, holder in enumerate(rest):
            if self._is_active(holder.import_id):
                fallback, rest = holder, tuple(h for h in rest[index + 1 :] if self._is_active(h.import_id))
                break
        if fallback is None:
            lines = sale_deltas(stored.sale_date, None, stored.sale_date, stored.lines)
            return _Step(
                stored.sale_id, delete=SaleDelete(stored), days=[(stored.sale_date, -stored.totals())], lines=lines
            )
        if fallback.digest == stored.content_hash[: len(fallback.digest)]:
            # The retracted upload said what the earlier one said: the version goes back, no figure moves.
            return _Step(
                stored.sale_id,
                write=_rewrite(stored, stored.as_sale(), fallback.version, stored, rest),
                restored=True,
            )
        sale = contents.get(fallback.version)
        if sale is None:
            needs.setdefault(fallback.import_id, {})[stored.sale_id] = fallback.version
            return None
        return _Step(
            stored.sale_id,
            write=_rewrite(stored, sale, fallback.version, None, rest),
            days=[
                (sale.sale_date, DayTotals.of(sale.total, sale.tax, sale.discounts)),
                (stored.sale_date, -stored.totals()),
            ],
            lines=sale_deltas(sale.sale_date, sale.lines, stored.sale_date, stored.lines),
            restored=True,
        )

    def _read_versions(self, holder: str, wanted: dict[str, str]) -> dict[str, Sale] | None:
        """The sales `wanted` (sale id -> version) as the holder's object version says them."""
        record = self._record(holder)
        if record is None:
            return None
        found: dict[str, Sale] = {}
        try:
            for sale in _object_sales(self.storage, record, self.spill_dir):
                version = wanted.get(sale.sale_id)
                if version is not None and version.endswith(f"|{sale.first_line:010d}"):
                    found[version] = sale
        except (ObjectGone, ExportError):
            return None
        return found

    # -- writing ------------------------------------------------------------------------------------

    def _commit(self, steps: list[_Step]) -> tuple[list[_Step], Conflicts | None]:
        """Commit the steps in transactions, up to the first cancelled one: (the steps committed,
        that transaction's conflicts, or None when every step was committed)."""
        done: list[_Step] = []
        position = 0
        while position < len(steps):
            batch, taken = self._plan(steps, position)
            conflicts = self.storage.commit(batch)
            if not conflicts.written:
                for dimension, day in sorted({(ref.dimension, ref.day) for ref in conflicts.full_shards}):
                    self.shards.learn(dimension, day, self.storage.breakdown_shards(dimension, day, day))
                return done, conflicts
            if batch.breakdowns:
                self.shards.committed(batch.breakdowns)
            done.extend(steps[position : position + taken])
            position += taken
        return done, None

    def _plan(self, steps: list[_Step], start: int) -> tuple[WriteBatch, int]:
        batch = WriteBatch()
        shards = BreakdownPlan(self.shards)
        size = 0
        taken = 0
        for step in steps[start:]:
            offer = shards.place(step.lines or {})
            new_days = {d for d, _ in step.days if d not in batch.day_deltas}
            cost = 400 + 250 * len(step.write.sale.lines if step.write else ()) + offer.size
            items = (
                len(batch.writes)
                + len(batch.deletes)
                + len(batch.day_deltas)
                + 1
                + len(new_days)
                + shards.item_count()
                + offer.new_items
            )
            if taken and (items > MAX_TRANSACTION_ITEMS or size + cost > MAX_TRANSACTION_BYTES):
                break
            if step.write is not None:
                batch.writes.append(step.write)
            if step.delete is not None:
                batch.deletes.append(step.delete)
            for day, totals in step.days:
                days = batch.day_deltas
                days[day] = days[day] + totals if day in days else totals
            shards.apply(offer)
            size += cost
            taken += 1
        batch.breakdowns = shards.finish()
        return batch, taken


def _rewrite(
    stored: StoredSale, sale: Sale, version: str, same: StoredSale | None, history: tuple[Holder, ...]
) -> SaleWrite:
    """The Put of `sale` at `version` over `stored` (conditioned on its `ver`)."""
    import_id = import_of(version)
    change = SaleChange.UPDATED if history else SaleChange.CREATED
    if same is not None and same.version == version:
        change = stored.change
    digest = stored.content_hash if same is not None else sale.content_hash
    return SaleWrite(sale, version, import_id, stored.first_import_id, stored, change, digest, history)


def _object_sales(storage: RetractStorage, record: ImportRecord, spill_dir: str | None) -> Iterator[Sale]:
    """Every sale of an import's object version, read as the ingest read it (two passes)."""
    etag = record.etag if not record.version_id else ""
    stream = storage.open_object(record.bucket, record.key, record.version_id, etag=etag)
    try:
        scattered, settled = first_pass(stream)
    finally:
        stream.close()
    stream = storage.open_object(record.bucket, record.key, record.version_id, etag=etag)
    spill = FragmentSpill(spill_dir) if scattered is not None else None
    try:
        text, _ = open_export(stream)
        for item in ExportReader(iter_byte_lines(text), settled, scattered=scattered):
            if isinstance(item, Fragment):
                spill.add(item)  # type: ignore[union-attr]  # fragments come only with a spill
            elif isinstance(item, Sale):
                yield item
        if spill is not None:
            yield from (merged for merged in spill.merged() if isinstance(merged, Sale))
    finally:
        stream.close()
        if spill is not None:
            spill.close()


MAX_IMPORT_PAGES = 1_000  # 100,000 import records searched for the one a removal names


def removed_imports(storage: RetractStorage, bucket: str, key: str, version_id: str, *, marker: bool) -> list[str]:
    """The imports an S3 removal retracts. A delete marker hides the newest version before it
    that is not a marker itself; a permanent delete removes the version it names; without bucket
    versioning (no version id) the key's objects are gone, so are all of its imports."""
    if marker:
        hidden = ""
        seen = False
        for version, is_marker in storage.object_versions(bucket, key):
            if seen and not is_marker:
                hidden = version
                break
            seen = seen or version == version_id
        if not hidden:
            return []
        version_id = hidden
    found: list[str] = []
    cursor: str | None = None
    for _ in range(MAX_IMPORT_PAGES):
        records, cursor = storage.list_imports(100, cursor)
        found += [r.import_id for r in records if r.bucket == bucket and r.key == key and r.version_id == version_id]
        if cursor is None:
            break
    return found
