"""The import use case: one object version in, exact sales and day aggregates out, exactly once.

No boto3 here: storage is reached through the capabilities an import uses (`IngestStorage`). See
docs/architecture.md, "Exactly-once".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import BinaryIO, Protocol

from .breakdowns import DIMENSIONS, BreakdownPlan, BreakdownShard, DayDeltas, ShardDirectory, sale_deltas
from .changes import ChangeEntry, encode_part, part_key, read_part
from .dates import utc_now
from .events import ObjectRef
from .formats import Dialect, open_export
from .imports import RETRACTED_STATES, ImportRecord, ImportStatus, import_id_for
from .pacing import WritePacing, writer_switch_interval
from .parsing import ExportError, ExportReader, Fragment, Rejection, iter_byte_lines
from .rejects import RejectsFile
from .sales import HOLDER_DIGEST, MAX_HOLDERS, DaySums, Holder, Sale, SaleChange, StoredSale
from .scatter import FragmentSpill, IdFilter, first_pass
from .storage.base import (
    MAX_TRANSACTION_ITEMS,
    ObjectChanged,
    ObjectGone,
    SaleWrite,
    TransientStorageError,
    WriteBatch,
)
from .storage.import_log import ImportLog
from .storage.object_store import ObjectStore
from .storage.sales_store import SalesStore

logger = logging.getLogger(__name__)

# A flush is split across the writer lanes by day: ~20 days of a 300-sale day in 16 lanes, a few
# transactions each. Its round trips are those of its busiest lane (docs/architecture.md).
SALES_PER_FLUSH = 6000
WRITER_LANES = 16
MAX_TRANSACTION_BYTES = 3_500_000  # DynamoDB's limit is 4 MB; leave room for keys and expressions
MAX_PLAN_ATTEMPTS = 12
DEFAULT_MAX_ATTEMPTS = 3  # Lambda's asynchronous invocation: the first try and two retries
STOP_BEFORE_TIMEOUT_MS = 20_000


class OutOfTime(RuntimeError):
    """The attempt stopped before the function's timeout; the retry resumes (writes are idempotent)."""


@dataclass(slots=True)
class SaleCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, change: SaleChange) -> None:
        if change == SaleChange.CREATED:
            self.created += 1
        elif change == SaleChange.UPDATED:
            self.updated += 1
        else:
            self.unchanged += 1

    def merge(self, other: SaleCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged


@dataclass(slots=True)
class _Plan:
    batch: WriteBatch = field(default_factory=WriteBatch)
    changes: list[SaleChange] = field(default_factory=list)
    entries: list[ChangeEntry] = field(default_factory=list)
    taken: int = 0
    size: int = 0


class SaleWriter:
    """Writes sales so that retries, redeliveries and concurrent imports leave exact totals.

    Every write is conditioned on the stored state it was planned against and shares a
    transaction with the day and breakdown deltas it causes (breakdowns.py: + the new version's
    lines, - the stored version's, each key in the shard that holds it). Plans start optimistic
    (assume a sale is new, which is free to check: a failed condition returns the stored item).
    On the first conflict of a flush the stored state of the whole rest of the flush is read in
    one batched read, so a re-plan never meets a sale it has not seen: sales stored in a newer
    version become "nothing to write" and cannot cancel another transaction. After that, a
    conflict can only come from another import committing the same sales meanwhile; each one is
    learnt from the cancellation and the transaction shrinks, so the work left to decide shrinks
    with every conflict. A breakdown shard that refuses its update (full, or not holding a key
    where this writer put it) is learnt by reading that day's shards.

    With a `pool`, and once the `pacing` says so (pacing.py: from the start when fixed), a flush
    is split into `lanes` by sale date (day number modulo lanes) and the lanes are written
    concurrently, hiding DynamoDB's latency. A lane's transactions touch only
    its own days' aggregates (but for the old day of a sale that moved), so concurrent
    transactions of one import rarely contend for an item; when they do, DynamoDB's
    TransactionConflict is retried and the exactly-once logic above is unchanged within a lane.
    """

    def __init__(
        self,
        storage: SalesStore,
        import_id: str,
        version_prefix: str,
        *,
        pool: Executor | None = None,
        lanes: int = 1,
        pacing: WritePacing | None = None,
    ) -> None:
        self.storage = storage
        self.import_id = import_id
        self.version_prefix = version_prefix
        self.counts = SaleCounts()
        self.read_first = False
        self.pool = pool
        self.lanes = lanes
        self.pacing = pacing or WritePacing.fixed()
        self.shards = ShardDirectory()  # where this import put (or found) each breakdown key
        self.wrote_breakdowns = False  # whether a transaction of this import changed a breakdown
        self.entries: list[ChangeEntry] = []  # what the flushes so far did to each sale, for the change list
        self.unsure: list[ChangeEntry] = []  # the sales of transactions that failed, which may have been written

    def take_entries(self) -> list[ChangeEntry]:
        entries, self.entries = self.entries, []
        return entries

    def keep_unsure(self) -> None:
        """The sales of failed transactions join the entries to list. A retraction looks at what
        each listed sale holds, so one this import never wrote is left alone (docs/architecture.md,
        "Undo")."""
        unsure, self.unsure = self.unsure, []
        self.entries.extend(unsure)

    def version_of(self, sale: Sale) -> str:
        return f"{self.version_prefix}{sale.first_line:010d}"

    def write(self, sales: Iterable[Sale]) -> None:
        # The reader yields each Sale ID of a file once (scattered runs are merged first); keyed
        # anyway, because one transaction may not touch an item twice.
        pending = list({sale.sale_id: sale for sale in sales}.values())
        if not pending:
            return
        if self.read_first and self.wrote_breakdowns:
            self._learn_shards(pending)
        if self.pool is None or self.lanes < 2 or not self.pacing.concurrent:
            self.counts.merge(self._write_lane(pending))
            return
        by_lane: dict[int, list[Sale]] = {}
        for sale in pending:
            by_lane.setdefault(sale.sale_date.toordinal() % self.lanes, []).append(sale)
        futures = [self.pool.submit(self._write_lane, lane) for lane in by_lane.values()]
        failures: list[BaseException] = []
        for future in futures:  # every lane finishes (or fails) before the flush returns
            try:
                self.counts.merge(future.result())
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _write_lane(self, pending: list[Sale]) -> SaleCounts:
        counts = SaleCounts()
        known: dict[str, StoredSale | None] = {}
        complete = False  # `known` holds every sale of the flush not yet written
        if self.read_first:
            self._learn(pending, known)
            complete = True
        position = 0
        attempts = 0
        limit = MAX_TRANSACTION_ITEMS
        hashes: dict[str, str] = {}  # each sale's digest, computed once however often it is re-planned
        while position < len(pending):
            plan = self._plan(pending, position, known, hashes, limit)
            try:
                conflicts = self.pacing.timed(self.storage.commit, plan.batch)
            except TransientStorageError:
                raise  # refused, every time it was sent: nothing of it was written
            except BaseException:
                # Its outcome is unknown (DynamoDB may have applied a write whose answer was lost):
                # its sales are listed as maybe written, should this attempt be the last one.
                self.unsure.extend(plan.entries)
                raise
            if not conflicts.written:
                attempts += 1
                if attempts >= MAX_PLAN_ATTEMPTS:
                    raise TransientStorageError(
                        f"sales kept changing under this import ({attempts} conflicts in a row); giving up for a retry"
                    )
                # A breakdown shard without room (or without a key where this import put it): what
                # the day's shards hold is read once, and the next plan places every key by it.
                for dimension, day in sorted({(ref.dimension, ref.day) for ref in conflicts.full_shards}):
                    self.shards.learn(dimension, day, self.storage.breakdown_shards(dimension, day, day))
                if not conflicts:
                    continue
                known.update(conflicts)
                if not complete:
                    stored = self._learn(pending[position:], known)
                    complete = True
                    logger.debug(
                        "transaction cancelled: %d of %d sales differ from the plan; read the other %d "
                        "sales of the flush (%d stored)",
                        len(conflicts),
                        plan.taken,
                        len(pending) - position,
                        stored,
                    )
                else:
                    limit = max(1, limit // 2)
                    logger.debug(
                        "transaction cancelled by a concurrent import: %d sales changed; re-planning at most %d items",
                        len(conflicts),
                        limit,
                    )
                continue
            attempts = 0
            limit = MAX_TRANSACTION_ITEMS
            if plan.batch.breakdowns:
                self.shards.committed(plan.batch.breakdowns)
                self.wrote_breakdowns = True
            for change in plan.changes:
                counts.add(change)
            self.entries.extend(plan.entries)  # one list.extend per transaction: safe across lanes
            position += plan.taken
        return counts

    def _learn_shards(self, pending: list[Sale]) -> None:
        """Most sales of the last flush were stored already and some of them changed (a
        correction, an overlap): read the breakdown shards of this flush's days too (one Query
        per dimension), so that every key is written to the shard that holds it rather than
        copied into one with room. A plain re-upload changes no breakdown and reads none."""
        first = min(sale.sale_date for sale in pending)
        last = max(sale.sale_date for sale in pending)
        days = {sale.sale_date for sale in pending}
        for dimension in DIMENSIONS:
            by_day: dict[date, list[BreakdownShard]] = {}
            for shard in self.storage.breakdown_shards(dimension, first, last):
                by_day.setdefault(shard.day, []).append(shard)
            for day in days | set(by_day):
                self.shards.learn(dimension, day, by_day.get(day, []))

    def _learn(self, sales: list[Sale], known: dict[str, StoredSale | None]) -> int:
        """Read the stored state of every sale not yet known; the next flush reads first when most exist."""
        unknown = [s.sale_id for s in sales if s.sale_id not in known]
        stored = self.storage.read_sales(unknown)
        known.update({sale_id: stored.get(sale_id) for sale_id in unknown})
        self.read_first = len(stored) * 2 >= len(unknown) > 0
        return len(stored)

    def _plan(  # noqa: C901, PLR0912, PLR0915 - the hot loop: the common case inline, the rest below it
        self, pending: list[Sale], start: int, known: dict[str, StoredSale | None], hashes: dict[str, str], limit: int
    ) -> _Plan:
        plan = _Plan()
        writes = plan.batch.writes
        days = DaySums()
        shards = BreakdownPlan(self.shards)
        import_id = self.import_id
        prefix = self.version_prefix
        changes = plan.changes
        entries = plan.entries
        created = SaleChange.CREATED
        for sale in pending[start:]:
            sale_id = sale.sale_id
            stored = known.get(sale_id)
            version = f"{prefix}{sale.lines[0].line_no:010d}"  # version_of, inline
            digest = hashes.get(sale_id)
            if digest is None:
                digest = hashes[sale_id] = sale.content_hash
            day = sale.sale_date
            if stored is None:
                # The common case, a sale new to storage: most often a one-line sale whose three
                # keys the transaction already adds to, so only the sale and perhaps its day
                # count; else its keys new to the plan are placed, as `place` would place its deltas.
                lines = sale.lines
                known_keys = shards.known_line(day, lines[0]) if len(lines) == 1 else None
                offer = None if known_keys is not None else shards.place_new(day, lines)
                size = 400 + 250 * len(lines)  # request bytes, as below
                items = len(writes) + len(days) + shards.item_count() + 1 + (day not in days)
                if offer is not None:
                    size += offer.size
                    items += offer.new_items
                if writes and (items > limit or plan.size + size > MAX_TRANSACTION_BYTES):
                    break
                if known_keys is not None:
                    shards.add_line(known_keys, lines[0])
                elif offer is not None:
                    shards.apply_new(offer, day, lines)
                writes.append(SaleWrite(sale, version, import_id, import_id, None, created, digest))
                plan.size += size
                days.add(day, sale.total, sale.tax, sale.discounts)
                changes.append(created)
                entries.append(ChangeEntry(sale_id, created, day, sale.total))
                plan.taken += 1
                continue
            write: SaleWrite | None = None
            old_day: date | None = None  # the day the stored version leaves, when its figures move
            lines_delta: DayDeltas = {}
            entry = ChangeEntry(sale_id, SaleChange.UNCHANGED, day, sale.total)
            if stored.version == version:
                change = stored.change  # this import wrote it before a crash; count it as it was
                entry = _again(sale, stored)
            elif stored.version > version:
                change = SaleChange.UNCHANGED  # storage holds a newer upload's version of this sale
                write = _remembered(stored, Holder(version, day, sale.total, digest[:HOLDER_DIGEST]))
            elif stored.content_hash == digest:
                change = SaleChange.UNCHANGED  # same content, newer upload: record the version, no delta
                write = SaleWrite(
                    sale, version, import_id, stored.first_import_id, stored, change, digest, _pushed(stored)
                )
            else:
                change = SaleChange.UPDATED
                write = SaleWrite(
                    sale, version, import_id, stored.first_import_id, stored, change, digest, _pushed(stored)
                )
                entry = _entry(sale, change, stored.sale_date, stored.total)
                old_day = stored.sale_date
                # The stored version's lines leave their keys; the new version's join theirs.
                lines_delta = sale_deltas(day, sale.lines, stored.sale_date, stored.lines)
            if write is not None:
                moves = change != SaleChange.UNCHANGED  # an unchanged sale adds nothing to any day
                touched = {day} if moves else set()
                if old_day is not None:
                    touched.add(old_day)
                new_days = sum(1 for d in touched if d not in days)
                offer = shards.place(lines_delta)
                size = 400 + 250 * len(sale.lines) + offer.size  # request bytes: the item and new shard keys
                items = len(writes) + len(days) + shards.item_count() + 1 + new_days + offer.new_items
                if writes and (items > limit or plan.size + size > MAX_TRANSACTION_BYTES):
                    break
                writes.append(write)
                plan.size += size
                if moves:
                    days.add(day, sale.total, sale.tax, sale.discounts)
                if old_day is not None:
                    days.add(old_day, stored.total, stored.tax, stored.discounts, negate=True)
                shards.apply(offer)
            changes.append(change)
            entries.append(entry)
            plan.taken += 1
        plan.batch.day_deltas = days.totals()
        plan.batch.breakdowns = shards.finish()
        return plan


class _Flushes:
    """The flushes of one attempt, in order: each one's sales written (`SaleWriter.write`), then its
    part of the change list filed (numbered by flush, so a retry of the same file rewrites the same
    parts). With a `background` thread, a flush is written there while the reader parses the next
    one: DynamoDB's latency hides behind the parsing. Flushes never overlap one another - the next
    starts writing only once the last one committed and its part was filed - so each flush is
    planned against what the ones before it wrote, as without the thread."""

    def __init__(
        self,
        writer: SaleWriter,
        put_part: Callable[[int, bytes], None],
        read_part: Callable[[int], list[ChangeEntry] | None],
        background: Executor | None,
    ) -> None:
        self.writer = writer
        self.put_part = put_part
        self.read_part = read_part
        self.background = background
        self.parts = 0
        self._in_flight: Future[None] | None = None

    def submit(self, sales: list[Sale]) -> None:
        self.wait()
        if self.background is None or not self.writer.pacing.concurrent:
            self.writer.write(sales)
            self._file()
        else:
            self._in_flight = self.background.submit(self.writer.write, sales)

    def wait(self) -> None:
        """The flush in flight finished and filed; its error, if it failed."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()
            self._file()

    def settle(self, failure: BaseException) -> None:
        """After a failed attempt, once nothing writes any more: the part of every sale committed,
        or sent in a transaction whose outcome is unknown, and not yet listed is filed (a retry
        rewrites that part whole), so that an attempt that was the last one leaves no written sale
        outside the change list for a retraction to miss.
        The flush in flight's own error, if it failed too, is logged and noted on `failure`."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None and not in_flight.cancelled():
            error = in_flight.exception()
            if error is not None and error is not failure:
                logger.error("the flush in flight failed too: %s: %s", type(error).__name__, error)
                failure.add_note(f"the flush in flight failed too: {type(error).__name__}: {error}")
        self.writer.keep_unsure()
        try:
            self._file(merge=True)
        except Exception as exc:  # the attempt fails with its own error; this one is told, not raised
            logger.exception("the change list's part of the committed sales could not be filed")
            failure.add_note(f"the change list's part of the committed sales could not be filed: {exc}")

    def _file(self, *, merge: bool = False) -> None:
        """The part of the flush just written. `merge`: the flush did not finish, so its part is
        joined with what an earlier attempt filed under the same number (a later line for a sale
        wins): a partial flush never drops sales a fuller one listed."""
        entries = self.writer.entries
        if not entries:
            return
        if merge:
            by_sale = {entry.sale_id: entry for entry in self.read_part(self.parts) or ()}
            by_sale.update((entry.sale_id, entry) for entry in entries)
            entries = list(by_sale.values())
        self.put_part(self.parts, encode_part(entries))
        self.writer.take_entries()  # only once filed: a part that did not go up is tried again by `settle`
        self.parts += 1


def _shut_down(executors: list[ThreadPoolExecutor]) -> None:
    """Every task submitted finished (or failed); calling it again does nothing more."""
    for executor in executors:
        executor.shutdown(wait=True)


def _pushed(stored: StoredSale) -> tuple[Holder, ...]:
    """The history of a sale whose stored version a newer upload replaces."""
    return (stored.as_holder(), *stored.history)[:MAX_HOLDERS]


def _again(sale: Sale, stored: StoredSale) -> ChangeEntry:
    """What this import did to a sale it wrote before a crash, as the stored item still tells."""
    before = stored.history[0] if stored.history and stored.change == SaleChange.UPDATED else None
    return _entry(sale, stored.change, before.sale_date if before else None, before.total if before else None)


def _entry(sale: Sale, change: SaleChange, previous_date: date | None, previous_total: Decimal | None) -> ChangeEntry:
    return ChangeEntry(sale.sale_id, change, sale.sale_date, sale.total, previous_date, previous_total)


def _remembered(stored: StoredSale, older: Holder) -> SaleWrite | None:
    """A newer upload holds the sale; a retraction of it falls back to this older one, so the
    item's history gets the older version in its place (newest first). None when the history
    holds it already or it is older than every version the item keeps."""
    history = stored.history
    if any(h.version == older.version for h in history):
        return None
    merged = tuple(sorted((*history, older), key=lambda h: h.version, reverse=True))[:MAX_HOLDERS]
    if older not in merged:
        return None
    return SaleWrite(
        stored.as_sale(),
        stored.version,
        stored.import_id,
        stored.first_import_id,
        stored,
        stored.change,
        stored.content_hash,
        merged,
    )


def _log_keys(record: ImportRecord) -> dict[str, object]:
    return {
        "import_id": record.import_id,
        "status": record.status.value,
        "attempt": record.attempts,
        "reason": record.message,
    }


# The statuses a stored record may have for an ingest to (re)start it: any but being retracted.
STARTABLE = frozenset(ImportStatus) - RETRACTED_STATES


class IngestStorage(SalesStore, ImportLog, ObjectStore, Protocol):
    """What an import uses: the object it reads (and the rejects file it writes), the record it
    keeps, the sales it writes. Not the health probe."""


class Ingestor:
    """Runs one import: record it, stream and validate the file, write sales, file the rejects.

    `max_attempts` is how many times the platform tries an event (Lambda: 1 + its retries): the
    attempt that fails with that number says in the record that it gave up, so no import stays
    IN_PROGRESS once its event has left for the dead-letter queue (re-drive can still finish it).
    `remaining_ms` (Lambda's clock) lets an attempt stop cleanly, its record saying why, before the
    platform would kill it mid-write. `pacing` decides when the `writers` lanes run concurrently:
    by default (`WritePacing.fixed()`) from the first flush; the Lambda handler's adapts to how
    long DynamoDB keeps it waiting (pacing.py).
    """

    def __init__(
        self,
        storage: IngestStorage,
        rejects_prefix: str,
        *,
        clock: Callable[[], str] = utc_now,
        sales_per_flush: int = SALES_PER_FLUSH,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        remaining_ms: Callable[[], int] | None = None,
        spill_dir: str | None = None,
        writers: int = WRITER_LANES,
        pacing: WritePacing | None = None,
    ) -> None:
        self.storage = storage
        self.rejects_prefix = rejects_prefix
        self.clock = clock
        self.sales_per_flush = sales_per_flush
        self.max_attempts = max_attempts
        self.remaining_ms = remaining_ms
        self.spill_dir = spill_dir
        self.writers = writers
        self.pacing = pacing or WritePacing.fixed()

    def run(self, obj: ObjectRef) -> ImportRecord:
        import_id = import_id_for(obj.bucket, obj.key, obj.version_id, obj.etag)
        previous = self.storage.get_import(import_id)
        if previous is not None and previous.status in RETRACTED_STATES:
            # A redelivered or re-driven event of a retracted version never brings it back; an
            # upload of the same bytes again is a new object version, hence a new import.
            logger.info("import was retracted; not ingested again", extra=_log_keys(previous))
            return previous
        record = ImportRecord(
            import_id=import_id,
            bucket=obj.bucket,
            key=obj.key,
            status=ImportStatus.IN_PROGRESS,
            started_at=previous.started_at if previous else self.clock(),
            version_id=obj.version_id,
            etag=obj.etag,
            attempts=previous.attempts + 1 if previous else 1,
        )
        if not self.storage.put_import(record, if_status=STARTABLE):
            # A retraction marked it between the read and this write: it is not ingested.
            stored = self.storage.get_import(import_id)
            logger.info("import is being retracted; not ingested", extra=_log_keys(stored or record))
            return stored or record
        try:
            with writer_switch_interval() if self.writers > 1 else nullcontext():
                self._ingest(obj, record)
        except ObjectChanged as exc:
            record.status = ImportStatus.FAILED
            record.message = (
                f"the file changed while it was being read ({exc}): it was overwritten by a newer "
                "upload, which is ingested by its own event; nothing more of this one is ingested"
            )
        except ObjectGone as exc:
            record.status = ImportStatus.FAILED
            record.message = f"the object is gone: {exc}; nothing was ingested"
        except ExportError as exc:
            record.status = ImportStatus.FAILED
            record.message = str(exc)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {str(exc)[:300]}"
            if record.attempts >= self.max_attempts:
                record.status = ImportStatus.FAILED
                record.finished_at = self.clock()
                record.message = (
                    f"gave up after {record.attempts} attempts: {reason}; the event waits in the "
                    "dead-letter queue: re-drive it to finish this import"
                )
            else:
                # Left IN_PROGRESS with the reason: the platform retries the event.
                record.message = f"attempt {record.attempts} failed: {reason}"
            self.storage.put_import(record)
            logger.error(
                "import %s: %s",
                "gave up" if record.status == ImportStatus.FAILED else "attempt failed",
                record.message,
                extra=_log_keys(record),
            )
            raise
        record.finished_at = self.clock()
        self.storage.put_import(record)
        if record.status == ImportStatus.FAILED:
            logger.warning("import failed: %s", record.message, extra=_log_keys(record))
        return record

    def _check_time(self, record: ImportRecord, lines: int) -> None:
        if self.remaining_ms is not None and self.remaining_ms() < STOP_BEFORE_TIMEOUT_MS:
            raise OutOfTime(f"attempt {record.attempts} stopped before the function's timeout after {lines} lines")

    def _open(self, obj: ObjectRef) -> BinaryIO:
        """The object the event names. A version id names immutable bytes; without one (an
        unversioned bucket) the key may be overwritten at any moment, so each pass reads it only
        if it still has the event's ETag: both passes see the same file, or the import stops."""
        etag = obj.etag if not obj.version_id else ""
        return self.storage.open_object(obj.bucket, obj.key, obj.version_id, etag=etag)

    def _first_pass(self, obj: ObjectRef) -> tuple[IdFilter | None, Dialect]:
        """Which Sale IDs stand in more than one run (None in the common case), and the dialect with
        the decimal mark the whole file shows."""
        stream = self._open(obj)
        try:
            scattered, settled = first_pass(stream)
        finally:
            stream.close()
        logger.debug(
            "decimal mark %r (%s)",
            settled.decimal,
            settled.two_way.why if settled.two_way else "proven by the file's numbers",
        )
        return scattered, settled

    def _ingest(self, obj: ObjectRef, record: ImportRecord) -> None:  # noqa: C901, PLR0915 - the attempt's steps in order, with their cleanup, read top to bottom
        scattered, dialect = self._first_pass(obj)
        stream = self._open(obj)
        spill = FragmentSpill(self.spill_dir) if scattered is not None else None
        pool = ThreadPoolExecutor(self.writers, thread_name_prefix="sale-writer") if self.writers > 1 else None
        # With writer lanes, one flush writes while the reader parses the next one.
        background = ThreadPoolExecutor(1, thread_name_prefix="sale-flush") if pool is not None else None
        executors = [e for e in (background, pool) if e is not None]  # shut down in this order
        self.pacing.start()
        writer = SaleWriter(
            self.storage,
            record.import_id,
            obj.version_prefix(record.import_id),
            pool=pool,
            lanes=self.writers,
            pacing=self.pacing,
        )
        flushes = _Flushes(
            writer,
            lambda part, body: self.storage.put_changes(obj.bucket, part_key(record.import_id, part), body),
            lambda part: read_part(self.storage, obj.bucket, record.import_id, part),
            background,
        )
        try:
            text, _ = open_export(stream)  # the same bytes: the first pass's dialect, settled over the whole file
            reader = ExportReader(iter_byte_lines(text), dialect, scattered=scattered)
            rejects = RejectsFile(reader.columns)
            buffer: list[Sale] = []
            per_flush = self.pacing.first_flush(self.sales_per_flush)

            def flush() -> None:
                nonlocal per_flush
                # The flush before committed and filed its part first, then the clock: an attempt
                # that stops for time leaves no flush in flight to finish inside the last seconds.
                flushes.wait()
                self._check_time(record, reader.stats.rows_total)
                flushes.submit(buffer[:])
                buffer.clear()
                per_flush = self.sales_per_flush
                self.pacing.review()  # a serial flush is done by now; a concurrent one reviews nothing

            def take(item: Sale | Rejection) -> None:
                reader.count(item)
                if isinstance(item, Rejection):
                    rejects.add(item)
                    return
                buffer.append(item)
                if len(buffer) >= per_flush:
                    flush()

            for item in reader:
                if isinstance(item, Fragment):
                    spill.add(item)  # type: ignore[union-attr]  # fragments come only with a spill
                else:
                    take(item)
            if spill is not None:
                logger.debug("merging %d runs of scattered sales", spill.count)
                for merged in spill.merged():
                    take(merged)
            flush()
            flushes.wait()
        except BaseException as failure:
            # No write outlives the attempt: a flush still in flight finishes (or fails) first;
            # then what the attempt did commit is listed, even if it is the last attempt.
            _shut_down(executors)
            flushes.settle(failure)
            raise
        finally:
            _shut_down(executors)
            stream.close()
            if spill is not None:
                spill.close()
        stats = reader.stats
        record.rows_total = stats.rows_total
        record.rows_ingested = stats.rows_ingested
        record.rows_rejected = stats.rows_rejected
        record.sales_created = writer.counts.created
        record.sales_updated = writer.counts.updated
        record.sales_unchanged = writer.counts.unchanged
        if rejects.count:
            record.rejects_key = f"{self.rejects_prefix}{record.import_id}.csv"
            self.storage.put_rejects(obj.bucket, record.rejects_key, rejects.finish())
        if stats.rows_total == 0:
            record.status = ImportStatus.FAILED
            record.message = "the file has a header but no sales lines"
        elif stats.rows_ingested == 0:
            record.status = ImportStatus.FAILED
            record.message = f"all {stats.rows_total} lines were rejected; see the rejects file"
        else:
            record.status = ImportStatus.PARTIAL if stats.rows_rejected else ImportStatus.SUCCEEDED
            record.message = (
                f"{stats.rows_total} lines: {stats.rows_ingested} ingested, {stats.rows_rejected} rejected; "
                f"sales {writer.counts.created} created, {writer.counts.updated} updated, "
                f"{writer.counts.unchanged} unchanged"
            )
