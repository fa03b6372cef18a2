"""Streaming reader of a sales export: bytes in, validated sales and rejected lines out.

Memory stays flat in the file size: lines are decoded one at a time and only the sale being
assembled is held. What the bytes are (gzip, UTF-16, delimiter, decimal mark) is found out before
reading, by `formats.open_export`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from typing import IO

from .columns import LABELS, ColumnMap, Field, HeaderError, looks_like_header, map_header
from .dates import DATE_CACHE, DateError, parse_sale_date
from .formats import (
    HEADER_SEARCH_ROWS,
    DecimalEvidence,
    Dialect,
    aligned,
    number_positions,
    open_export,
    open_export_lines,
    physical_lines,
)
from .formats import ExportError as ExportError  # noqa: PLC0414 - re-exported: callers import it from here
from .money import THOUSANDS_SPACES, AmountError, TwoWay, amount_cache, parse_amount
from .sales import Sale, SaleLine

MAX_FIELD_CHARS = 1_000
MAX_ID_CHARS = 64
MAX_SHARED_TEXTS = 20_000  # distinct texts shared before the table starts afresh (bounded memory)
MAX_SALE_LINES = 500
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_ROW_LINES = 50  # physical lines one row may span (quoted newlines)
MAX_CSV_ERRORS = 10_000_000  # bounds the first pass's loop; far above any file's line count
_BOM = b"\xef\xbb\xbf"
# Ids as a spreadsheet formats numbers (`1,288`, `1.288`, `1 288`), one separator per id; a first
# group of `0` is never a thousands group. Read the same in every file, whatever its decimal mark:
# both passes over a file must see the same Sale IDs before its decimal mark is settled.
_GROUPED_ID = re.compile(r"[1-9]\d{0,2}(?:(?:,\d{3})+|(?:\.\d{3})+|(?:[ \u00a0\u202f]\d{3})+)\Z")
_ID_SEPARATORS = str.maketrans("", "", ",." + THOUSANDS_SPACES)

# One field may legitimately be large (a 10 MB note): let csv read it, then reject the row with a
# reason rather than failing the whole file on csv's default 128 KiB limit.
csv.field_size_limit(MAX_LINE_BYTES)


@dataclass(frozen=True, slots=True)
class Rejection:
    line_no: int
    sale_id: str
    reason: str
    cells: tuple[str, ...]


Row = tuple[int, list[str] | tuple[str, ...], str | None]  # line number, cells, reason it is invalid


@dataclass(frozen=True, slots=True)
class Fragment:
    """The lines of one run of a Sale ID that also stands elsewhere in the file.

    All lines of a Sale ID in one file are that sale, wherever they stand (a file re-sorted in a
    spreadsheet scatters them), so such a run is not a sale by itself: the ingest sets it aside and
    merges it with the Sale ID's other runs (`salesmetrics.scatter`).
    """

    sale_id: str
    day: date | None
    day_line: int  # the line the run's date was read from (0: no valid date)
    client: str
    lines: tuple[SaleLine, ...]  # the valid lines
    rows: tuple[Row, ...]  # every row of the run, so that a rejected sale reports all of its lines
    first_line: int
    rejected: str | None = None  # the sale is already rejected (its lines reported): reject its other runs too


@dataclass(slots=True)
class ReadStats:
    rows_total: int = 0
    rows_ingested: int = 0
    rows_rejected: int = 0
    blank_rows: int = 0
    repeated_headers: int = 0


_OVERLONG_REASON = f"line is longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"
# Line breaks str.splitlines() honours besides \n, \r\n and \r, as UTF-8 bytes; a block holding
# one is split by hand. Byte searches, not a regex: this runs over every block.
_OTHER_BREAKS = (b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")


def _only_newline_breaks(block: bytes) -> bool:
    return not any(b in block for b in _OTHER_BREAKS)


# A physical line ends in LF, CRLF or a bare CR (old Mac files), as csv's `newline=""` reading
# expects: a quoted field over several lines keeps its line ends exactly, whichever they are.
def _first_line_end(chunk: bytes, after_cr: bool) -> int:
    """Where the line begun before `chunk` ends in it (the index past its line end), or -1 when it
    goes on past it. `after_cr`: what came before ended in CR, so an LF here completes a CRLF."""
    if after_cr:
        return 1 if chunk.startswith(b"\n") else 0
    lf = chunk.find(b"\n")
    cr = chunk.find(b"\r", 0, lf if lf >= 0 else len(chunk))
    if cr < 0:
        return lf + 1 if lf >= 0 else -1
    if cr + 1 < len(chunk):
        return cr + 2 if chunk[cr + 1] == 0x0A else cr + 1
    return -1  # a CR at the very end: the next chunk tells whether an LF follows it


def _last_line_end(chunk: bytes) -> int:
    """The index past the last line end of `chunk` that is sure to be whole (0: none). A CR at the
    very end is not: it may be the first half of a CRLF."""
    lf = chunk.rfind(b"\n")
    cr = chunk.rfind(b"\r", 0, len(chunk) - 1)
    return max(lf, cr) + 1


def _decode_line(number: int, raw: bytes, bad_lines: dict[int, str]) -> str:
    """UTF-8; a line that is not valid UTF-8 is read as Windows-1252.

    Deciding per line keeps the reader streaming: a Windows-1252 export is not valid UTF-8 on
    exactly the lines that hold non-ASCII bytes, and ASCII lines read the same either way.
    Lines that cannot be read are noted in `bad_lines` (their rows are rejected, not the file).
    """
    if raw is OVERLONG_LINE:
        bad_lines[number] = _OVERLONG_REASON
        return "\x00\n"
    if b"\x00" in raw:
        # Wherever it is: a file that is NUL bytes through and through was refused before reading.
        bad_lines[number] = "line contains NUL bytes"
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            bad_lines[number] = "line is neither UTF-8 nor Windows-1252 text"
            return raw.decode("cp1252", errors="replace")


def _decoded_lines(raw_lines: Iterable[bytes], bad_lines: dict[int, str], long_lines: set[int]) -> Iterator[str]:
    """Lines of any iterable of byte lines, decoded one by one (BOM dropped)."""
    for number, line in enumerate(raw_lines, start=1):
        raw = line[3:] if number == 1 and line.startswith(_BOM) else line
        text = _decode_line(number, raw, bad_lines)
        if len(text) > MAX_FIELD_CHARS:
            long_lines.add(number)
        yield text


# Stands for a physical line longer than MAX_LINE_BYTES, whose bytes were skipped.
OVERLONG_LINE = b"\x00<overlong line>\n"
# Below glibc malloc's 128 KiB mmap threshold, so each block and its decoded text come from the
# heap's free lists and go back to them. Blocks of 1 MiB were mmapped and freed, which makes glibc
# raise the threshold and serve the next ones from the heap top, where the small allocations
# between them kept it from shrinking: the first pass of a million lines grew RSS by ~25 MiB that
# no live object held (tracemalloc saw under 8 MiB; with MALLOC_MMAP_THRESHOLD_ fixed it did not
# grow). Smaller blocks read no slower (docs/benchmarks.md, notes of the 2026-12-03 afternoon).
BLOCK_BYTES = 1 << 16


class ByteLines:
    """The physical lines of a binary stream (see `iter_byte_lines`).

    Iterating yields one LF-ended line at a time; `ExportReader` instead reads the stream in 64 KiB
    blocks (`text_blocks`), decoding each block at once when it is clean UTF-8 (the common case)
    and line by line otherwise, and ends lines at a bare CR too.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        readline = self.stream.readline
        while True:
            line: bytes = readline(MAX_LINE_BYTES)
            if not line:
                return
            if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield OVERLONG_LINE
                continue
            yield line

    def text_blocks(  # noqa: C901, PLR0912, PLR0915 - hot path: one loop per block, no calls per line
        self, bad_lines: dict[int, str], long_lines: set[int]
    ) -> Iterator[list[str]]:
        """Decoded lines, a block at a time, numbered as csv counts them (for `bad_lines` and
        `long_lines`). Lists, so that csv pulls each line through C iterators only. Lines end in
        LF, CRLF or a bare CR."""
        read = self.stream.read
        number = 0
        parts: list[bytes] = []  # the line begun at the end of the previous block
        size = 0
        skipping = False  # inside a line longer than MAX_LINE_BYTES: drop bytes up to its end
        after_cr = False  # the line begun so far ends in CR: an LF next completes its CRLF
        first = True
        while True:
            chunk = read(BLOCK_BYTES)
            if first:
                first = False
                if chunk.startswith(_BOM):
                    chunk = chunk[3:]
            if not chunk:
                if skipping:
                    number += 1
                    bad_lines[number] = _OVERLONG_REASON
                    yield ["\x00\n"]
                elif parts:
                    yield self._block(b"".join(parts), number, bad_lines, long_lines)
                return
            if skipping or parts:
                stop = _first_line_end(chunk, after_cr)
                if stop < 0:
                    after_cr = chunk.endswith(b"\r")
                    if not skipping:
                        size += len(chunk)
                        if size > MAX_LINE_BYTES:
                            parts, size, skipping = [], 0, True
                        else:
                            parts.append(chunk)
                    continue
                if skipping or size + stop > MAX_LINE_BYTES:
                    number += 1
                    bad_lines[number] = _OVERLONG_REASON
                    yield ["\x00\n"]
                else:
                    parts.append(chunk[:stop])
                    lines = self._block(b"".join(parts), number, bad_lines, long_lines)
                    number += len(lines)
                    yield lines
                parts, size, skipping, after_cr = [], 0, False, False
                chunk = chunk[stop:]
                if not chunk:
                    continue
            cut = _last_line_end(chunk)
            if cut:
                lines = self._block(chunk[:cut] if cut < len(chunk) else chunk, number, bad_lines, long_lines)
                number += len(lines)
                yield lines
            if cut < len(chunk):
                parts, size = [chunk[cut:]], len(chunk) - cut
                after_cr = chunk.endswith(b"\r")

    @staticmethod
    def _block(block: bytes, number: int, bad_lines: dict[int, str], long_lines: set[int]) -> list[str]:
        if b"\x00" not in block and _only_newline_breaks(block):
            try:
                text = block.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                lines = text.splitlines(keepends=True)
                if max(map(len, lines)) > MAX_FIELD_CHARS:
                    long_lines.update(number + i + 1 for i, ln in enumerate(lines) if len(ln) > MAX_FIELD_CHARS)
                return lines
        # Not clean UTF-8 (or odd line breaks): line by line, as physical lines end.
        out = [_decode_line(number + i + 1, raw, bad_lines) for i, raw in enumerate(physical_lines(block))]
        long_lines.update(number + i + 1 for i, ln in enumerate(out) if len(ln) > MAX_FIELD_CHARS)
        return out


def iter_byte_lines(stream: IO[bytes]) -> ByteLines:
    """The physical lines of a binary stream. A line longer than MAX_LINE_BYTES is skipped to its
    end and stands as OVERLONG_LINE (rejected), so memory stays bounded and line numbers right."""
    return ByteLines(stream)


def _normalise_id(raw: str) -> str:
    value = raw.strip()
    if not value.isdigit() and _GROUPED_ID.match(value):
        value = value.translate(_ID_SEPARATORS)
    return value


def _parse_slowly(
    cells: list[str],
    i_date: int,
    i_total: int,
    numeric: list[tuple[Field, int | None]],
    decimal_comma: bool = False,
    two_way: TwoWay | None = None,
) -> tuple[date | None, Decimal | None, list[Decimal | None], str | None]:
    """Date, total and optional amounts of a row, with the reason when one is not valid."""
    try:
        day = parse_sale_date(cells[i_date])
    except DateError as exc:
        return None, None, [], f"Sale Date {exc}"
    try:
        total = parse_amount(cells[i_total], decimal_comma=decimal_comma, two_way=two_way)
    except AmountError as exc:
        return day, None, [], f"Item Total {exc}"
    values: list[Decimal | None] = []
    for fld, idx in numeric:
        try:
            values.append(
                parse_amount(cells[idx], decimal_comma=decimal_comma, two_way=two_way) if idx is not None else None
            )
        except AmountError as exc:
            return day, total, [], f"{LABELS[fld]} {exc}"
    return day, total, values, None


class ExportReader:
    """Iterate a sales export as `Sale` (valid, complete) and `Rejection` (one per rejected line).

    A sale is the run of consecutive lines with one Sale ID; any invalid line takes the whole
    sale out, every line of it reported with a reason. Runs of the Sale IDs in `scattered` (found
    by a first pass over `sale_id_runs`) come out as `Fragment`s, for the ingest to merge.

    Without a `dialect`, the bytes are first looked at (`formats.open_export`): gzip and UTF-16
    are read through, the delimiter found, and the decimal mark from the numbers of the first
    256 KiB. Pass a `Dialect` (from `open_export`, or settled over the whole file by a first pass:
    `settled_dialect` after `sale_id_runs`), with `iter_byte_lines` over the stream `open_export`
    returned, to skip that.
    """

    def __init__(
        self, raw_lines: Iterable[bytes], dialect: Dialect | None = None, *, scattered: Container[str] | None = None
    ) -> None:
        self.stats = ReadStats()
        # Sale IDs that stand in more than one run of the file: their runs come out as `Fragment`s.
        self._scattered = scattered
        self._bad_lines: dict[int, str] = {}
        self._long_lines: set[int] = set()  # lines longer than a field may be: only their rows are measured
        self._lines: Iterator[str]
        if dialect is None:
            if isinstance(raw_lines, ByteLines):
                stream, dialect = open_export(raw_lines.stream)
                raw_lines = ByteLines(stream)
            else:
                opened, dialect = open_export_lines(raw_lines)
                raw_lines = ByteLines(opened) if isinstance(opened, io.BufferedReader) else opened
        self.dialect = dialect
        if isinstance(raw_lines, ByteLines):
            self._lines = chain.from_iterable(raw_lines.text_blocks(self._bad_lines, self._long_lines))
        else:
            self._lines = _decoded_lines(raw_lines, self._bad_lines, self._long_lines)
        self._rows = csv.reader(self._lines, strict=False, delimiter=dialect.delimiter)
        self.evidence = DecimalEvidence()  # what the numbers show, filled by `sale_id_runs`
        self.columns = self._find_header()

    def _find_header(self) -> ColumnMap:
        seen = 0
        first_cells: list[str] | None = None
        rows = self._rows
        bad_lines = self._bad_lines
        last = 0
        unreadable: list[str] = []
        while seen < HEADER_SEARCH_ROWS:  # bounded: every round takes a row or ends
            try:
                cells = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                last = rows.line_num  # an unreadable row before the header is no header
                unreadable.append(str(exc))
                seen += 1
                continue
            start, last = last + 1, rows.line_num
            if not any(c.strip() for c in cells):
                continue
            first_cells = first_cells or cells
            if bad_lines and any("\x00" in c for c in cells):
                # A line with NUL bytes (or too long to read) only takes itself out - unless it is
                # the header.
                problem = next((bad_lines[n] for n in range(start, last + 1) if n in bad_lines), "NUL bytes")
                if looks_like_header([c.replace("\x00", "") for c in cells]):
                    raise ExportError(f"the header row (line {start}) cannot be read: {problem}")
                seen += 1
                continue
            if looks_like_header(cells):
                try:
                    return map_header(cells)
                except HeaderError as exc:
                    raise ExportError(str(exc)) from exc
            seen += 1
        if first_cells is None:
            if unreadable:
                raise ExportError(
                    f"not a sales export: no header row found, and {len(unreadable)} of its first "
                    f"rows are not valid CSV ({unreadable[0]})"
                )
            raise ExportError("the file is empty")
        try:
            map_header(first_cells)
        except HeaderError as exc:
            raise ExportError(str(exc)) from exc
        raise ExportError("not a sales export: no header row found")  # pragma: no cover

    def sale_id_runs(self) -> Iterator[str]:
        """The Sale ID of each run of consecutive rows that name one, in file order.

        A cheap pass (no validation) for finding Sale IDs that stand in more than one run. It splits
        runs wherever the full reader could (any row whose Sale ID cell differs, misaligned or
        not), never fewer times: a Sale ID the full reader sees twice is always seen twice here.
        On the way it gathers what the file's numbers show of its decimal mark (`self.evidence`,
        then `settled_dialect`).
        """
        i_id = self.columns.positions[Field.SALE_ID]
        normalise = _normalise_id
        width = self.columns.width
        numbers = number_positions(self.columns.positions)
        # One C call per row picks the number cells, one more tells whether any is new.
        pick = itemgetter(*numbers) if len(numbers) > 1 else lambda cells: (cells[numbers[0]],)
        evidence = self.evidence
        looked = evidence.seen
        rows = self._rows
        previous = raw_previous = ""
        for _ in range(MAX_CSV_ERRORS):
            try:
                # The hot loop of the first pass: a cell compared and a set probed per row; the
                # rest runs per run of a Sale ID, or per number not seen before.
                for cells in rows:
                    if (
                        (len(cells) == width or aligned(cells, width))
                        and not looked.issuperset(picked := pick(cells))
                        and not evidence.complete
                    ):
                        evidence.look(picked, rows.line_num)
                    if len(cells) > i_id and (raw := cells[i_id]) != raw_previous:
                        raw_previous = raw
                        sale_id = normalise(raw)  # as the full reader does, or runs would not match
                        if sale_id and sale_id != previous:
                            previous = sale_id
                            yield sale_id
                return
            except csv.Error:
                continue  # the reader goes on with the next line
        raise ExportError(f"more than {MAX_CSV_ERRORS} lines are not valid CSV")  # pragma: no cover

    def settled_dialect(self) -> Dialect:
        """The dialect with the decimal mark the whole file shows (after `sale_id_runs` ran through)."""
        return self.evidence.settle(self.dialect)

    def __iter__(self) -> Iterator[Sale | Rejection | Fragment]:  # noqa: C901, PLR0912, PLR0915 - hot path: every line's checks inline, no call per check per line
        cols = self.columns
        pos = cols.positions
        width = cols.width
        i_date, i_id, i_total = pos[Field.SALE_DATE], pos[Field.SALE_ID], pos[Field.ITEM_TOTAL]
        optional = [
            pos.get(f)
            for f in (
                Field.ITEM_NAME,
                Field.QUANTITY,
                Field.ITEM_PRICE,
                Field.SUBTOTAL,
                Field.DISCOUNT_AMOUNT,
                Field.TAX,
                Field.PAYMENT_METHOD,
                Field.LOCATION,
                Field.CLIENT_ID,
            )
        ]
        i_name, i_qty, i_price, i_sub, i_disc, i_tax, i_pay, i_loc, i_client = optional
        numeric = [
            (Field.QUANTITY, i_qty),
            (Field.ITEM_PRICE, i_price),
            (Field.SUBTOTAL, i_sub),
            (Field.DISCOUNT_AMOUNT, i_disc),
            (Field.TAX, i_tax),
        ]
        personal = sorted(cols.personal)
        header_sale_id = cols.header[i_id].strip().casefold()
        numeric_idx = [idx for _, idx in numeric]
        present_idx = [idx for idx in numeric_idx if idx is not None]
        all_numeric = len(present_idx) == len(numeric_idx)
        rows_total = 0  # a local on the hot path; added to stats before each sale is handed out
        stats = self.stats
        bad_lines = self._bad_lines
        long_lines = self._long_lines
        rows = self._rows
        scattered = self._scattered
        group = _Group(scattered=scattered)
        last_line = rows.line_num
        # The hot path reads the memo caches directly: exports repeat a few dates and prices on
        # every line, and a miss (KeyError) falls back to the full parsers with their messages.
        # Each decimal convention has its own cache: `1,234` is 1234 in one, 1.234 in the other.
        # Where the file did not prove its decimal mark, `two_way` refuses numbers that read two ways.
        decimal_comma = self.dialect.decimal_comma
        two_way = self.dialect.two_way
        amounts, dates = amount_cache(decimal_comma, two_way), DATE_CACHE
        normalise_id = _normalise_id
        new_line = tuple.__new__
        # An item name, payment method or location repeats on line after line: each line holds the
        # one string object of its text (less memory per sale held, and its hash already known to
        # every dictionary the writer looks it up in).
        texts: dict[str, str] = {}
        share = texts.setdefault

        while True:
            try:
                cells = next(rows)
            except StopIteration:
                break
            except csv.Error as exc:
                # A line csv cannot parse (a stray CR in an unquoted cell, a field over the
                # limit): reject it; as a line without a Sale ID it still taints its sale.
                line_no, last_line = last_line + 1, rows.line_num
                stats.rows_total += 1
                where = f"lines {line_no}-{last_line}" if last_line > line_no else "line"
                group.orphan(Rejection(line_no, "", f"{where} not valid CSV: {exc}", ()))
                continue
            line_no = last_line + 1
            last_line = rows.line_num
            n = len(cells)
            raw_id = cells[i_id] if i_id < n else ""
            sale_id = raw_id.strip()
            if n != width or not sale_id:
                if not any(c.strip() for c in cells):
                    stats.blank_rows += 1
                    continue
                if looks_like_header(cells):
                    stats.repeated_headers += 1
                    continue
            elif not sale_id[0].isdigit() and sale_id.casefold() == header_sale_id and looks_like_header(cells):
                stats.repeated_headers += 1
                continue
            rows_total += 1
            problem = None
            if bad_lines:
                problem = bad_lines.get(line_no)
                if problem is None and last_line > line_no:
                    problem = next((bad_lines[i] for i in range(line_no, last_line + 1) if i in bad_lines), None)
            if n != width and not (n > width and not any(c.strip() for c in cells[width:])):
                # Misaligned (a stray comma or quote): no cell can be trusted to be what its
                # column says, not even the Sale ID - and a shifted client name must not leak.
                kept = () if personal else tuple(cells)
                why = problem or f"row has {n} fields but the header has {width}"
                group.orphan(Rejection(line_no, "", why, kept), normalise_id(raw_id))
                continue
            for i in personal:
                cells[i] = ""
            if not sale_id.isdigit():
                sale_id = normalise_id(sale_id)
            if not sale_id:
                group.orphan(Rejection(line_no, "", problem or "Sale ID is empty", tuple(cells)))
                continue
            reason: str | None = problem
            # Field lengths are measured only where one can be too long: a row over several
            # lines, or a line longer than a field may be.
            if reason is None:
                if len(sale_id) > MAX_ID_CHARS:
                    reason = f"Sale ID is longer than {MAX_ID_CHARS} characters"
                elif (last_line > line_no or (long_lines and line_no in long_lines)) and max(
                    map(len, cells)
                ) > MAX_FIELD_CHARS:
                    longest = max(range(n), key=lambda i: len(cells[i]))
                    name = cols.header[longest].strip() if longest < width else f"column {longest + 1}"
                    reason = f"field '{name}' is longer than {MAX_FIELD_CHARS} characters"
                elif last_line - line_no >= MAX_ROW_LINES:
                    reason = f"row spans lines {line_no}-{last_line} (an unclosed quote?)"
            line: SaleLine | None = None
            day: date | None = None
            if reason is None:
                try:
                    day = dates[cells[i_date]]
                    total = amounts[cells[i_total]]
                    values = (
                        [amounts[cells[i]] for i in present_idx]
                        if all_numeric
                        else [amounts[cells[i]] if i is not None else None for i in numeric_idx]
                    )
                except KeyError:
                    day, total, values, reason = _parse_slowly(cells, i_date, i_total, numeric, decimal_comma, two_way)
                if reason is not None:
                    pass
                elif total is None:
                    reason = "Item Total is empty"
                else:
                    qty, price, sub, disc, tax = values
                    if len(texts) > MAX_SHARED_TEXTS:
                        texts.clear()
                    name = cells[i_name].strip() if i_name is not None else ""
                    pay = cells[i_pay].strip() if i_pay is not None else ""
                    loc = cells[i_loc].strip() if i_loc is not None else ""
                    # tuple.__new__ skips the NamedTuple's Python-level __new__: half the cost.
                    line = new_line(
                        SaleLine,
                        (
                            line_no,
                            share(name, name),
                            qty,
                            price,
                            sub,
                            disc,
                            tax,
                            total,
                            share(pay, pay),
                            share(loc, loc),
                        ),
                    )
            if line is not None and not group.orphans and not group.overflowed:
                # The common cases, kept short: another line of the sale being read, or the first
                # line of the next sale after a clean one.
                if sale_id == group.sale_id:
                    if day == group.day and len(group.rows) < MAX_SALE_LINES:
                        group.lines.append(line)
                        group.rows.append((line_no, cells, None))
                        continue
                elif not group.bad:
                    if group.lines and group.day is not None:  # a clean sale always has its day
                        stats.rows_total += rows_total  # current whenever the caller runs (a time-out names it)
                        rows_total = 0
                        if scattered is not None and group.sale_id in scattered:
                            yield group.fragment()
                        else:
                            yield Sale.build(group.sale_id, group.day, group.client, tuple(group.lines))
                    client = cells[i_client].strip() if i_client is not None else ""
                    group.sale_id, group.day, group.day_line = sale_id, day, line_no
                    group.client = client if client.isdigit() else normalise_id(client)
                    group.lines = [line]
                    group.rows = [(line_no, cells, None)]
                    continue
            client = normalise_id(cells[i_client]) if i_client is not None else ""
            out = group.add(sale_id, day, client, line, line_no, reason, cells)
            if out:
                stats.rows_total += rows_total
                rows_total = 0
                yield from out
        stats.rows_total += rows_total
        yield from group.finish()

    def count(self, item: Sale | Rejection) -> None:
        if isinstance(item, Sale):
            self.stats.rows_ingested += len(item.lines)
        else:
            self.stats.rows_rejected += 1


TWO_DATES = "Sale ID has two Sale Dates in this file"


def two_dates_reason(sale_id: str, first: date, first_line: int, other: date, other_line: int) -> str:
    return (
        f"{TWO_DATES}: {first.isoformat()} (line {first_line}) and {other.isoformat()} (line {other_line}); "
        f"sale {sale_id} rejected"
    )


@dataclass(slots=True)
class _Orphan:
    rejection: Rejection
    candidate: str  # the Sale ID cell of a misaligned row: only trusted if it matches a neighbour


@dataclass(slots=True)
class _Group:
    """The sale being assembled, plus rejected lines without a trustworthy Sale ID seen since.

    Methods return what they emit as lists (not generators): this runs once per line.
    """

    sale_id: str = ""
    day: date | None = None
    day_line: int = 0
    client: str = ""
    lines: list[SaleLine] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    bad: bool = False
    overflowed: bool = False
    orphans: list[_Orphan] = field(default_factory=list)
    scattered: Container[str] | None = None

    def fragment(self, rejected: str | None = None) -> Fragment:
        rows = tuple(self.rows)
        return Fragment(
            self.sale_id,
            self.day,
            self.day_line,
            self.client,
            tuple(self.lines),
            rows,
            min(n for n, _, _ in rows) if rows else 0,
            rejected,
        )

    def orphan(self, rejection: Rejection, candidate: str = "") -> None:
        if candidate and candidate == self.sale_id and not self.orphans:
            self._taint(rejection)  # a misaligned line of the sale being read
        else:
            self.orphans.append(_Orphan(rejection, candidate))

    def _taint(self, rejection: Rejection) -> None:
        self.bad = True
        self.rows.append((rejection.line_no, rejection.cells, rejection.reason))

    def add(  # noqa: C901, PLR0912 - per line of the first pass: the run bookkeeping inline
        self,
        sale_id: str,
        day: date | None,
        client: str,
        line: SaleLine | None,
        line_no: int,
        reason: str | None,
        cells: list[str],
    ) -> list[Sale | Rejection | Fragment]:
        out: list[Sale | Rejection | Fragment] = []
        if sale_id != self.sale_id:
            # Unreadable lines just before this sale that name it belong to it: they taint it.
            leading = [o for o in self.orphans if o.candidate == sale_id]
            if leading:
                self.orphans = [o for o in self.orphans if o.candidate != sale_id]
            out = self.finish()
            self.sale_id, self.day, self.client = sale_id, day, client
            self.day_line = line_no if day is not None else 0
            for o in leading:
                self._taint(o.rejection)
        elif self.orphans:
            # Lines without a Sale ID inside this sale's run: the sale may be missing a line.
            for o in self.orphans:
                self._taint(
                    Rejection(
                        o.rejection.line_no, "", o.rejection.reason + f" (inside sale {sale_id})", o.rejection.cells
                    )
                )
            self.orphans.clear()
        if self.overflowed:
            out.append(
                Rejection(line_no, sale_id, f"sale {sale_id} has more than {MAX_SALE_LINES} lines", tuple(cells))
            )
            return out
        if reason is None and line is not None:
            if self.day is None:
                self.day, self.day_line = day, line_no
            elif day != self.day and day is not None:
                reason = two_dates_reason(sale_id, self.day, self.day_line, day, line_no)
        if reason is not None:
            self.bad = True
        elif line is not None:
            self.lines.append(line)
        self.rows.append((line_no, cells, reason))
        if len(self.rows) > MAX_SALE_LINES:
            self.overflowed = True
            why = f"sale {sale_id} has more than {MAX_SALE_LINES} lines"
            out.extend(Rejection(n, sale_id, r or why, tuple(c)) for n, c, r in self.rows)
            if self.scattered is not None and sale_id in self.scattered:
                self.rows.clear()
                out.append(self.fragment(rejected=why))
            self.rows.clear()
            self.lines.clear()
        return out

    def finish(self) -> list[Sale | Rejection | Fragment]:
        """Emit the sale (or its rejected lines), then the unattached lines that followed it."""
        out: list[Sale | Rejection | Fragment] = []
        if self.rows:
            if self.scattered is not None and self.sale_id in self.scattered:
                out.append(self.fragment())
            elif self.bad or self.day is None:
                ordered = sorted(self.rows, key=lambda row: row[0])
                first_bad = next(n for n, _, r in ordered if r is not None)
                why = f"sale {self.sale_id} rejected: its line {first_bad} is invalid"
                out.extend(Rejection(n, self.sale_id, r or why, tuple(c)) for n, c, r in ordered)
            else:
                out.append(Sale.build(self.sale_id, self.day, self.client, tuple(self.lines)))
        out.extend(o.rejection for o in self.orphans)
        self.orphans.clear()
        self.sale_id, self.day, self.day_line, self.client = "", None, 0, ""
        self.lines = []
        self.rows = []
        self.bad = self.overflowed = False
        return out
