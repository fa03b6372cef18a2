"""Sales whose lines do not stand together: found in a cheap first pass, set aside, merged.

All lines of a Sale ID in one file are that sale, wherever they stand. Most exports keep a sale's
lines adjacent, and then the reader streams sale by sale in flat memory. A file re-sorted in a
spreadsheet scatters them; so before the main pass the ingest reads the file's Sale ID column once
(`find_scattered`), and in the main pass the runs of those Sale IDs go to a spill file on local disk
(`FragmentSpill`) instead of memory, to be merged into whole sales at the end of the file.

Both sets of Sale IDs are Bloom filters of a fixed size, so the first pass costs the same memory
whatever the file. A filter may say "seen" for a Sale ID it never saw (about 1 in 1,000 at a million
sales); such a sale only takes the slower, equally exact path through the spill. It never says
"not seen" for one it saw, so no scattered sale can slip through as two.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from itertools import groupby
from typing import Any, BinaryIO

from .formats import Dialect, open_export
from .parsing import MAX_SALE_LINES, TWO_DATES, ExportReader, Fragment, Rejection, iter_byte_lines, two_dates_reason
from .sales import Sale, SaleLine

SEEN_BITS = 1 << 25  # 4 MiB: every Sale ID of the file
# The scattered Sale IDs are few in most files, and a filter's pages count in memory as soon as
# one bit of theirs is set: ~1,000 false "seen"s of a million-sale file set bits on ~1,000 of a
# 4 MiB filter's pages. 512 KiB keeps that small; in a file re-sorted through and through, where
# most sales are scattered, its false positives only send a few more sales through the spill.
SCATTERED_BITS = 1 << 22


class IdFilter:
    """A Bloom filter of strings (three probes): fixed memory, no false negatives."""

    __slots__ = ("_bits", "_mask", "count")

    def __init__(self, bits: int = SEEN_BITS) -> None:
        self._bits = bytearray(bits >> 3)
        self._mask = bits - 1
        self.count = 0

    def _probes(self, value: str) -> tuple[int, int, int]:
        # str hashes are cached on the object and stable within a process, which is all a
        # filter that lives for one import needs.
        h = hash(value) & 0xFFFF_FFFF_FFFF_FFFF
        step = (h >> 32) | 1
        mask = self._mask
        return h & mask, (h + step) & mask, (h + 2 * step) & mask

    def add(self, value: str) -> None:
        bits = self._bits
        for p in self._probes(value):
            bits[p >> 3] |= 1 << (p & 7)
        self.count += 1

    def add_new(self, value: str) -> bool:
        """Add `value`; whether it was new to the filter (False: seen before, or a false "seen").
        One hash for both questions: the first pass asks them of every Sale ID of a file."""
        h = hash(value) & 0xFFFF_FFFF_FFFF_FFFF
        step = (h >> 32) | 1
        mask = self._mask
        bits = self._bits
        new = False
        for p in (h & mask, (h + step) & mask, (h + 2 * step) & mask):
            byte, bit = p >> 3, 1 << (p & 7)
            if not bits[byte] & bit:
                bits[byte] |= bit
                new = True
        self.count += 1
        return new

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        bits = self._bits
        return all(bits[p >> 3] & (1 << (p & 7)) for p in self._probes(value))


def find_scattered(sale_id_runs: Iterable[str]) -> IdFilter | None:
    """The Sale IDs that start more than one run; None when every sale's lines stand together."""
    seen = IdFilter()
    scattered: IdFilter | None = None
    for sale_id in sale_id_runs:
        if not seen.add_new(sale_id):
            if scattered is None:
                scattered = IdFilter(SCATTERED_BITS)
            scattered.add(sale_id)
    return scattered


def first_pass(stream: BinaryIO) -> tuple[IdFilter | None, Dialect]:
    """The cheap first read of an export, before its sales are read: which Sale IDs stand in more
    than one run (None in the common case), and the dialect with the decimal mark the whole file
    shows. The caller opens and closes the stream."""
    text, dialect = open_export(stream)
    reader = ExportReader(iter_byte_lines(text), dialect)
    scattered = find_scattered(reader.sale_id_runs())
    return scattered, reader.settled_dialect()


SPILL_MEMORY_BYTES = 4 << 20  # runs held in memory before they go to disk


class FragmentSpill:
    """Runs of scattered sales, set aside until the end of the file.

    The first runs are held in memory, encoded, up to `SPILL_MEMORY_BYTES`: most spills are the
    Bloom filter's few false "scattered"s (one run each) or a handful of split sales, and for
    them a database would cost more memory than the runs. Past that, every run goes to an SQLite
    file in the temporary directory (Lambda's /tmp), which sorts them by Sale ID; memory then
    stays at SQLite's page cache however many runs there are. The file is removed when closed.
    """

    def __init__(self, directory: str | None = None, memory_bytes: int | None = None) -> None:
        self._directory = directory
        self._memory_bytes = SPILL_MEMORY_BYTES if memory_bytes is None else memory_bytes
        self._held: list[tuple[str, int, bytes]] = []
        self._held_bytes = 0
        self._db: Any = None
        self._path = ""
        self.count = 0

    def _open_db(self) -> Any:
        import sqlite3  # noqa: PLC0415 - loaded only by the imports that spill to disk

        handle, self._path = tempfile.mkstemp(prefix="sales-spill-", suffix=".sqlite", dir=self._directory)
        os.close(handle)
        db = sqlite3.connect(self._path)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -1024")  # KiB: the spill is written once and read once, in order
        db.execute("CREATE TABLE runs (sale_id TEXT NOT NULL, first_line INTEGER NOT NULL, data BLOB NOT NULL)")
        db.executemany("INSERT INTO runs VALUES (?, ?, ?)", self._held)
        self._held = []
        return db

    def add(self, fragment: Fragment) -> None:
        row = (fragment.sale_id, fragment.first_line, _encode(fragment))
        self.count += 1
        if self._db is None:
            self._held.append(row)
            self._held_bytes += len(row[2]) + len(row[0]) + 100
            if self._held_bytes > self._memory_bytes:
                self._db = self._open_db()
            return
        self._db.execute("INSERT INTO runs VALUES (?, ?, ?)", row)

    @property
    def on_disk(self) -> bool:
        return self._db is not None

    def merged(self) -> Iterator[Sale | Rejection]:
        """Each scattered Sale ID as one sale (or all of its lines rejected), by Sale ID."""
        if self._db is None:
            rows: Iterable[tuple[str, bytes]] = [(sid, data) for sid, _, data in sorted(self._held)]
        else:
            rows = self._db.execute("SELECT sale_id, data FROM runs ORDER BY sale_id, first_line")
        for _, runs in groupby(rows, key=lambda row: str(row[0])):
            yield from merge([_decode(data) for _, data in runs])

    def close(self) -> None:
        self._held = []
        if self._db is not None:
            self._db.close()
            self._db = None
            with contextlib.suppress(FileNotFoundError):  # closed twice
                os.unlink(self._path)

    def __enter__(self) -> FragmentSpill:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def merge(fragments: list[Fragment]) -> list[Sale | Rejection]:
    """One Sale ID's runs, in file order, as one sale: every line valid and of one date, or all rejected."""
    sale_id = fragments[0].sale_id
    rows = sorted((row for f in fragments for row in f.rows), key=lambda row: row[0])
    why = next((f.rejected for f in fragments if f.rejected), None)
    dated = [(f.day_line, f.day) for f in fragments if f.day is not None and f.day_line]
    dated.sort(key=lambda pair: pair[0])
    if why is None and dated:
        first_line, first_day = dated[0]
        other = next(((n, d) for n, d in dated if d != first_day), None)
        if other is not None:
            why = two_dates_reason(sale_id, first_day, first_line, other[1], other[0])
    if why is None:
        bad = next(((n, reason) for n, _, reason in rows if reason is not None), None)
        if bad is not None:
            # Two dates within one run are already named by that line's reason: say it for all.
            why = bad[1] if bad[1].startswith(TWO_DATES) else f"sale {sale_id} rejected: its line {bad[0]} is invalid"
        elif len(rows) > MAX_SALE_LINES:
            why = f"sale {sale_id} has more than {MAX_SALE_LINES} lines"
    if why is not None or not dated:
        why = why or f"sale {sale_id} rejected: no valid line"
        return [Rejection(n, sale_id, reason or why, tuple(cells)) for n, cells, reason in rows]
    lines = tuple(sorted((ln for f in fragments for ln in f.lines), key=lambda ln: ln.line_no))
    return [Sale.build(sale_id, dated[0][1], fragments[0].client, lines)]


# A run on disk: marshal of plain values (Decimal as its exact text). Compact and fast, and only
# ever read back by the process that wrote it.
def _encode(f: Fragment) -> bytes:
    lines = tuple(
        (
            ln.line_no,
            ln.item_name,
            *(
                None if v is None else str(v)
                for v in (ln.quantity, ln.item_price, ln.subtotal, ln.discount_amount, ln.tax)
            ),
            str(ln.item_total),
            ln.payment_method,
            ln.location,
        )
        for ln in f.lines
    )
    rows = tuple((n, tuple(cells), reason) for n, cells, reason in f.rows)
    day = f.day.toordinal() if f.day is not None else None
    return marshal.dumps((f.sale_id, day, f.day_line, f.client, lines, rows, f.first_line, f.rejected))


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _decode(data: bytes) -> Fragment:
    raw: Any = marshal.loads(data)  # noqa: S302  # nosec B302 - this process's own spill file
    sale_id, day, day_line, client, lines, rows, first_line, rejected = raw
    return Fragment(
        sale_id,
        date.fromordinal(day) if day is not None else None,
        day_line,
        client,
        tuple(
            SaleLine(n, name, _dec(q), _dec(p), _dec(sub), _dec(disc), _dec(tax), Decimal(total), pay, loc)
            for n, name, q, p, sub, disc, tax, total, pay, loc in lines
        ),
        tuple((n, cells, reason) for n, cells, reason in rows),
        first_line,
        rejected,
    )
