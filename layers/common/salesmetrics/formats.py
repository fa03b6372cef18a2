"""What an uploaded export is, before it is read as CSV: container, encoding, delimiter, decimal mark.

`open_export(stream)` reads the first `SNIFF_BYTES` of a binary stream and returns a stream of
the export's text bytes (UTF-8, or Windows-1252 line by line, as the reader decodes them) and the
`Dialect` to read it with:

- gzip (magic `1f 8b`, whatever the file is called) is decompressed as it is read;
- UTF-16 with a byte order mark (Excel "Unicode text", LE or BE) is transcoded to UTF-8 as read;
- the delimiter (comma, semicolon or tab) is the one that makes a header row appear first
  (within the rows the reader searches for its header);
- the decimal mark is what the numbers show (`DecimalEvidence`): here, those of the sniffed
  prefix; the ingest's first pass settles it from the whole file.

A file that cannot be an export (a workbook, a PDF, an image, binary, UTF-16 without its byte order
mark) raises `ExportError` saying what it is. Nothing is held but the sniffed prefix and one block
per layer, so memory does not grow with the file; the function depends only on the bytes, so two
passes over one object (each opening its own stream) see the same dialect.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import IO, Literal

from .columns import Field, HeaderError, looks_like_header, map_header
from .money import COMMA, POINT, TwoWay, decimal_evidence

SNIFF_BYTES = 256 * 1024
HEADER_SEARCH_ROWS = 20  # non-empty rows the reader searches for the header
STREAM_BUFFER = 1 << 20
DELIMITERS = (",", ";", "\t")
_TRANSCODE_CHUNK = 256 * 1024
_SNIFF_LINES = 1_000  # on an iterable of lines: how many at most are held to sniff


type _Source = IO[bytes] | io.RawIOBase


class ExportError(ValueError):
    """The file as a whole is unusable (empty, binary, not a sales export)."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """How to read an export's text: its delimiter, its decimal mark, and what it was stored as.

    `two_way` says which numbers that read two ways (`34.880`: 34.88 or 34880) are refused, and
    why; None when the file proved its decimal mark: then they are read by it.
    """

    delimiter: str = ","
    decimal: Literal[".", ","] = "."
    source: str = "text"  # "text", "UTF-16 LE", "gzip", "gzip, UTF-16 BE": for logs and messages
    two_way: TwoWay | None = None

    @property
    def decimal_comma(self) -> bool:
        return self.decimal == ","


PLAIN = Dialect()

# Columns whose numbers show a file's decimal mark (read or not: each is a number the file wrote).
NUMBER_FIELDS = (
    Field.ITEM_TOTAL,
    Field.TAX,
    Field.ITEM_PRICE,
    Field.SUBTOTAL,
    Field.DISCOUNT_AMOUNT,
    Field.QUANTITY,
    Field.TOTAL_PAID,
    Field.DISCOUNT_PERCENT,
)
_EVIDENCE_MEMO = 100_000  # distinct cells remembered as already looked at (then forgotten, and looked at again)


def usual_decimal(delimiter: str) -> Literal[".", ","]:
    """The decimal mark a file with this delimiter usually has: a comma with `;`, else a point."""
    return "," if delimiter == ";" else "."


@dataclass(slots=True)
class DecimalEvidence:
    """What a file's numbers show about its decimal mark: the first cell proving each one.

    A cell proves a mark when it is a number only with that mark as the decimal one: `12.50`,
    `0.436`, `1,234.50`, `1234.567` prove a point; `12,50`, `0,436`, `1.234,50`, `1.234.567` a
    comma. `34.880` or `1,234` prove nothing: they read both ways, a thousand-fold apart.
    """

    point: tuple[int, str] | None = None  # (line, cell)
    comma: tuple[int, str] | None = None
    seen: set[str] = field(default_factory=set)

    @property
    def complete(self) -> bool:
        """Both marks proven: nothing more to learn."""
        return self.point is not None and self.comma is not None

    def look(self, cells: Iterable[str], line: int) -> None:
        seen = self.seen
        for cell in cells:
            if cell in seen:
                continue
            if len(seen) >= _EVIDENCE_MEMO:
                seen.clear()
            seen.add(cell)
            # Once one mark is proven only the other's proof is news, and it needs that mark, or
            # two of the proven one (`1.234.567` proves a comma): most cells are passed over here.
            if self.point is not None:
                if "," not in cell and cell.count(".") < 2:
                    continue
            elif self.comma is not None and "." not in cell and cell.count(",") < 2:
                continue
            shows = decimal_evidence(cell)
            if shows == POINT and self.point is None:
                self.point = (line, cell.strip())
            elif shows == COMMA and self.comma is None:
                self.comma = (line, cell.strip())

    def settle(self, dialect: Dialect) -> Dialect:
        """`dialect` with the decimal mark these numbers show.

        One mark proven: that one, and numbers that read both ways are read by it. Neither: the
        delimiter's usual mark, and a number that reads both ways is read by it only where that
        makes its mark the decimal one (`34,880` is 34.880 in a `;` file, `34.880` there is
        refused): never a thousand times too large. Both (the file contradicts itself): the
        delimiter's usual mark, and every number that reads both ways is refused.
        """
        usual = usual_decimal(dialect.delimiter)
        if self.point is not None and self.comma is None:
            return replace(dialect, decimal=".", two_way=None)
        if self.comma is not None and self.point is None:
            return replace(dialect, decimal=",", two_way=None)
        if self.point is None or self.comma is None:
            two_way = TwoWay(refuse_all=False, why="no other number in this file shows which decimal mark it uses")
        else:
            (p_line, p_cell), (c_line, c_cell) = self.point, self.comma
            two_way = TwoWay(
                refuse_all=True,
                why=(
                    f"this file writes numbers both ways, with a decimal point (line {p_line}: '{_clip(p_cell)}') "
                    f"and with a decimal comma (line {c_line}: '{_clip(c_cell)}')"
                ),
            )
        return replace(dialect, decimal=usual, two_way=two_way)


def _clip(cell: str, limit: int = 30) -> str:
    return cell if len(cell) <= limit else cell[:limit] + "…"


def number_positions(positions: Mapping[Field, int]) -> tuple[int, ...]:
    return tuple(positions[f] for f in NUMBER_FIELDS if f in positions)


def aligned(cells: Sequence[str], width: int) -> bool:
    """The row's cells stand under the header's columns (extra cells, if any, are empty), so its
    number cells are what their columns say: only such rows are evidence."""
    n = len(cells)
    return n == width or (n > width and not any(c.strip() for c in cells[width:]))


# File signatures of what people upload instead of a CSV export.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-format Excel workbook (.xls) or another Office document"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\x00\x00\xfe\xff", "UTF-32 text"),
    (b"\xff\xfe\x00\x00", "UTF-32 text"),
)
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_GZIP = b"\x1f\x8b"
_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"), (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"))
_ADVICE = "save the sales report as CSV (in Excel: Save As > CSV UTF-8)"


def open_export(stream: IO[bytes]) -> tuple[io.BufferedReader, Dialect]:
    """The export's text as a binary stream, and its dialect; `ExportError` if it is no export.

    Reads `SNIFF_BYTES` ahead (they are replayed). A corrupt or truncated gzip raises
    `ExportError` when the reading gets there, which may be at the very end of the file.
    """
    head = _read_head(stream)
    source: _Source = stream
    layers: list[str] = []
    if head.startswith(_GZIP):
        source = _Gunzip(_Replay(head, source))
        head = _read_head(source)
        layers.append("gzip")
        if head.startswith(_GZIP):
            raise ExportError(_unusable("gzip-compressed data", layers))
    for bom, encoding, name in _UTF16:
        if head.startswith(bom) and not head.startswith(b"\xff\xfe\x00\x00"):
            source = _Utf16ToUtf8(_Replay(head[len(bom) :], source), encoding)
            head = _read_head(source)
            layers.append(name)
            break
    else:
        _refuse_signature(head, layers)
    lines = physical_lines(head)
    bare_crs = head.count(b"\r") - head.count(b"\r\n")
    # NUL bytes are counted per line as the file ends its lines; binary data has CRs and LFs alike.
    _refuse_binary(head, lines if bare_crs > head.count(b"\n") else head.split(b"\n"), layers)
    if len(head) >= SNIFF_BYTES and lines and not lines[-1].endswith((b"\n", b"\r")):
        lines.pop()  # cut off by the sniff: a cell of it may be cut short (`1.23` of `1.234`)
    delimiter, evidence = _conventions(line.decode("utf-8", errors="replace") for line in lines)
    dialect = evidence.settle(Dialect(delimiter, source=", ".join(layers) or "text"))
    return io.BufferedReader(_Replay(head, source), buffer_size=STREAM_BUFFER), dialect


def open_export_lines(lines: Iterable[bytes]) -> tuple[Iterator[bytes] | io.BufferedReader, Dialect]:
    """`open_export` for any iterable of byte lines.

    Plain text comes back as the same lines (so lines given without their line ends stay lines);
    gzip and UTF-16 come back as a stream of text bytes, the lines joined as the bytes they are.
    """
    rest = iter(lines)
    held: list[bytes] = []
    size = 0
    for line in rest:
        held.append(line)
        size += len(line)
        if size >= SNIFF_BYTES or len(held) >= _SNIFF_LINES:
            break
    head = b"".join(held)
    if (
        head.startswith(_GZIP)
        or any(head.startswith(bom) for bom, _, _ in _UTF16)
        or head.count(b"\r") != head.count(b"\r\n")
    ):
        # Bare CRs end lines too (old Mac files): the stream reader cuts lines at them.
        return open_export(io.BufferedReader(_Replay(head, _LinesStream(rest)), buffer_size=STREAM_BUFFER))
    _refuse_signature(head, [])
    _refuse_binary(head, held, [])
    delimiter, evidence = _conventions(line.decode("utf-8", errors="replace") for line in held)
    return chain(held, rest), evidence.settle(Dialect(delimiter))


def _read_head(stream: _Source) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < SNIFF_BYTES:  # bounded: each round reads at least one byte or stops
        chunk = stream.read(SNIFF_BYTES - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _unusable(what: str, layers: Sequence[str]) -> str:
    if "gzip" in layers:
        return f"the file is gzip-compressed, but what it holds is {what}, not a CSV export: {_ADVICE}"
    return f"the file is {what}, not a CSV export: {_ADVICE}"


def _refuse_signature(head: bytes, layers: Sequence[str]) -> None:
    if head.startswith(_ZIP):
        # An .xlsx names its parts in the first local file header(s): `[Content_Types].xml`, `xl/`.
        start = head[:8192]
        if b"[Content_Types].xml" in start or b"xl/" in start:
            what = "an Excel workbook (.xlsx)"
        elif b"opendocument.spreadsheet" in start:
            what = "an OpenDocument spreadsheet (.ods)"
        else:
            what = "a zip archive"
        raise ExportError(_unusable(what, layers))
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise ExportError(_unusable(what, layers))


def _refuse_binary(head: bytes, lines: Sequence[bytes], layers: Sequence[str]) -> None:
    """A file with NUL bytes in most of its first lines (`lines`, those of `head`) is not text; a
    stray NUL only takes its line out (the reader rejects that row)."""
    if b"\x00" not in head:
        return
    if lines and not lines[-1]:
        lines = lines[:-1]  # the empty remainder after a final line end
    with_nul = sum(1 for line in lines if b"\x00" in line)
    if with_nul * 2 <= len(lines):
        return
    # ASCII text in UTF-16 has a zero in every other byte; which half says LE or BE.
    sample = head[:8192]
    low, high = sample[0::2], sample[1::2]
    if len(sample) >= 4:
        for zeros, other, order in ((high, low, "LE"), (low, high, "BE")):
            if zeros.count(0) >= 0.7 * len(zeros) and other.count(0) <= 0.1 * len(other):
                raise ExportError(
                    f"the file looks like UTF-16 {order} text without a byte order mark, which cannot be read "
                    "safely: save it as CSV UTF-8, or as Unicode text (which starts with one)"
                )
    raise ExportError(_unusable(f"binary data (NUL bytes in {with_nul} of its first {len(lines)} lines)", layers))


_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def physical_lines(data: bytes) -> list[bytes]:
    """`data` cut into lines, each with its line end: LF, CRLF, or a bare CR (old Mac files)."""
    return _LINE.findall(data)


def _conventions(lines: Iterable[str]) -> tuple[str, DecimalEvidence]:
    """Delimiter, and what the numbers show of the decimal mark: the delimiter that makes a header
    row appear first (within the rows the reader searches), the others in the order comma,
    semicolon, tab breaking ties; with no header under any, the one that splits the first
    non-empty row into the most fields (so the reader's "missing required column" names what the
    file has)."""
    held = _Replayable(line.replace("\x00", "") for line in lines)  # a stray NUL must not hide the header
    best: tuple[int, int, int] | None = None
    widest = (0, 0)
    for order, delimiter in enumerate(DELIMITERS):
        rows = csv.reader(held, delimiter=delimiter, strict=False)
        seen = 0
        first = True
        try:
            for cells in rows:
                if not any(c.strip() for c in cells):
                    continue
                if first:
                    first = False
                    if len(cells) > 1:  # one field is no evidence for a delimiter
                        widest = max(widest, (len(cells), -order))
                if looks_like_header(cells):
                    try:
                        mapped = len(map_header(cells).positions)
                    except HeaderError:
                        mapped = 0  # the reader will say what is wrong with it
                    rank = (seen, -mapped, order)
                    best = rank if best is None else min(best, rank)
                    break
                seen += 1
                if seen >= HEADER_SEARCH_ROWS:
                    break
        except csv.Error:
            continue
    delimiter = DELIMITERS[best[2] if best is not None else -widest[1]]
    return delimiter, _evidence(held, delimiter)


def _evidence(lines: Iterable[str], delimiter: str) -> DecimalEvidence:
    """What the numbers of the rows after the header show about the decimal mark."""
    evidence = DecimalEvidence()
    rows = csv.reader(lines, delimiter=delimiter, strict=False)
    numbers: tuple[int, ...] | None = None
    width = 0
    before = 0
    for _ in range(_SNIFF_LINES * 1_000):  # bounded: each round reads a row, or the rows end
        try:
            cells = next(rows)
        except StopIteration:
            break
        except csv.Error:
            continue  # an unreadable row shows nothing; the reader says what is wrong with it
        if numbers is None:
            if not any(c.strip() for c in cells):
                continue
            if looks_like_header(cells):
                try:
                    columns = map_header(cells)
                except HeaderError:
                    break
                numbers, width = number_positions(columns.positions), columns.width
                continue
            before += 1
            if before >= HEADER_SEARCH_ROWS:
                break
            continue
        if aligned(cells, width):
            evidence.look([cells[i] for i in numbers], rows.line_num)
            if evidence.complete:
                break
    return evidence


class _Replayable:
    """Lines pulled from `source` only as far as any pass over them has gone (each delimiter's
    header search stops early), each pass starting from the first."""

    def __init__(self, source: Iterator[str]) -> None:
        self._source = source
        self._seen: list[str] = []

    def __iter__(self) -> Iterator[str]:
        seen = self._seen
        i = 0
        while True:  # bounded by the source: every round yields a line or ends
            if i == len(seen):
                line = next(self._source, None)
                if line is None:
                    return
                seen.append(line)
            yield seen[i]
            i += 1


class _Replay(io.RawIOBase):
    """The bytes already read to sniff the stream, then the rest of the stream."""

    def __init__(self, head: bytes, source: _Source) -> None:
        self._head = memoryview(head)
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            # An empty slice would still hold the whole head: let it go once replayed.
            self._head = self._head[n:] if n < len(self._head) else memoryview(b"")
            return n
        readinto = getattr(self._source, "readinto", None)
        if readinto is not None:
            return int(readinto(buffer) or 0)
        data = self._source.read(len(buffer)) or b""
        buffer[: len(data)] = data
        return len(data)


class _LinesStream(io.RawIOBase):
    """An iterable of byte chunks as a raw stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = memoryview(chunk)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


class _Gunzip(io.RawIOBase):
    """A gzip stream, decompressed as read; damage becomes `ExportError` (retrying cannot help).

    Only the decompressor's own errors are translated: a failing network read stays what it is,
    so the import is retried rather than failed.
    """

    def __init__(self, source: io.RawIOBase) -> None:
        self._gzip = gzip.GzipFile(fileobj=source, mode="rb")
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            n = self._gzip.readinto(buffer)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            where = f"after {self._out:,} bytes of text" if self._out else "at its start"
            raise ExportError(f"the gzip file is damaged or truncated ({where}: {exc}); upload it again") from exc
        self._out += n
        return n


class _Utf16ToUtf8(io.RawIOBase):
    """UTF-16 text (its byte order mark already skipped) as UTF-8 bytes, transcoded as read.

    A code unit that is not valid UTF-16 (a lone surrogate) becomes byte 0x81, which is neither
    UTF-8 nor Windows-1252: the reader rejects that line instead of guessing at it.
    """

    def __init__(self, source: io.RawIOBase, encoding: str) -> None:
        self._source = source
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._left = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left and not self._done:
            data = self._source.read(_TRANSCODE_CHUNK) or b""
            self._done = not data
            out = self._decoder.decode(data, self._done).encode("utf-8")
            if b"\xef\xbf\xbd" in out:
                out = out.replace(b"\xef\xbf\xbd", b"\x81")
            self._left = memoryview(out)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n
