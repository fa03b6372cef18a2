"""Files as people save them: gzip, Excel "Unicode text", semicolon files with decimal commas,
stray NUL bytes, and the files that are no export at all (a workbook, a PDF, an image)."""

from __future__ import annotations

import codecs
import gzip
import io
import tracemalloc
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.samplegen import generate_sales, write_export
from salesmetrics.formats import SNIFF_BYTES, open_export
from salesmetrics.money import decimal_evidence
from salesmetrics.parsing import ExportError, ExportReader, iter_byte_lines
from salesmetrics.sales import Sale
from tests.unit.support import HEADER, export, line, read

D = Decimal
MAR_1 = date(2025, 3, 1)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def utf16(text: str, order: str = "le") -> bytes:
    bom = codecs.BOM_UTF16_LE if order == "le" else codecs.BOM_UTF16_BE
    return bom + text.encode(f"utf-16-{order}")


def tab_line(
    sale_id: str, total: str = "10.9", *, item: str = "Bay hire", tax: str = "0.9", day: str = "3/1/2025"
) -> str:
    return "\t".join((day, sale_id, item, "1", "10", tax, total))


TAB_HEADER = HEADER.replace(",", "\t")
SEMI_HEADER = HEADER.replace(",", ";")


def semi_line(
    sale_id: str,
    total: str = "10,9",
    *,
    item: str = "Bay hire",
    qty: str = "1",
    price: str = "10",
    tax: str = "0,9",
    day: str = "3/1/2025",
) -> str:
    return ";".join((day, sale_id, item, qty, price, tax, total))


# --- defect 1: a decimal comma is not a thousands separator ----------------------------------------


def test_a_decimal_comma_in_a_comma_file_is_rejected_not_read_as_436() -> None:
    parsed = read(export(line("1"), line("2", '"0,436"'), line("3", tax='"0,436"')))
    assert [s.sale_id for s in parsed.sales] == ["1"]
    for line_no, column in ((3, "Item Total"), (4, "Tax")):
        reason = parsed.rejected(line_no).reason
        assert reason.startswith(column)
        assert "'0,436' looks like a decimal comma" in reason
    assert all(ln.item_total != D(436) for s in parsed.sales for ln in s.lines)


def test_a_decimal_comma_in_a_tab_file_is_rejected_not_read_as_436() -> None:
    text = "".join(r + "\r\n" for r in (TAB_HEADER, tab_line("1"), tab_line("2", "0,436"), tab_line("3", "$-0,5")))
    parsed = read(utf16(text))
    assert [s.sale_id for s in parsed.sales] == ["1"]
    assert "looks like a decimal comma" in parsed.rejected(3).reason
    assert "looks like a decimal comma" in parsed.rejected(4).reason


def test_a_sale_id_with_a_leading_zero_group_is_not_a_grouped_number() -> None:
    parsed = read(export(line('"0,436"'), line("436")))
    assert [s.sale_id for s in parsed.sales] == ["0,436", "436"]


# --- defect 2: NUL bytes take out only their lines ---------------------------------------------


def test_a_nul_in_the_first_twenty_lines_rejects_only_its_line() -> None:
    parsed = read(export(line("1"), line("2", item="Bay\x00hire"), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert [(r.line_no, r.sale_id, r.reason) for r in parsed.rejections] == [(3, "2", "line contains NUL bytes")]


def test_a_nul_in_a_line_before_the_header_takes_out_only_that_line() -> None:
    data = b"Sales report\x00\x00 March\r\n" + export(line("1"), line("2"), eol="\r\n")
    parsed = read(data)
    assert parsed.reader.columns.header[0] == "Sale Date"
    assert [(s.sale_id, s.first_line) for s in parsed.sales] == [("1", 3), ("2", 4)]
    assert parsed.rejections == []


def test_a_nul_in_a_quoted_multi_line_field_rejects_that_row_and_keeps_line_numbers() -> None:
    note = '"Bay\nhire \x00 late\nthird line"'
    parsed = read(export(line("1"), line("2", item=note), line("3")))
    assert [(s.sale_id, s.first_line) for s in parsed.sales] == [("1", 2), ("3", 6)]
    (rejection,) = parsed.rejections
    assert (rejection.line_no, rejection.sale_id, rejection.reason) == (3, "2", "line contains NUL bytes")


def test_a_nul_in_the_header_row_fails_the_file_naming_the_header() -> None:
    with pytest.raises(ExportError, match=r"header row \(line 2\) cannot be read: line contains NUL bytes"):
        read(b"Report\r\n" + b"Sale Date,Sale ID,Item\x00 Total\r\n" + export(line("1"), line("2"), header=None))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((HEADER + "\n" + line("1")).encode("utf-16-le"), "UTF-16 LE text without a byte order mark"),
        ((HEADER + "\n" + line("1")).encode("utf-16-be"), "UTF-16 BE text without a byte order mark"),
        (bytes(range(256)) * 64, "binary data (NUL bytes in"),
        (
            b"Sale Date,Sale ID,Item Total\x00\x00" + b"\x00\x01\x02\x03" * 500,
            "binary data (NUL bytes in 1 of its first 1",
        ),
    ],
    ids=["utf16le-no-bom", "utf16be-no-bom", "binary", "nul-padded"],
)
def test_a_file_full_of_nul_bytes_fails_saying_what_it_is(data: bytes, message: str) -> None:
    with pytest.raises(ExportError, match=message.replace("(", r"\(")):
        read(data)


# --- defect 3 and the formats: gzip, UTF-16, semicolons ----------------------------------------


def test_a_gzip_export_is_read_through() -> None:
    plain = export(line("1", item="Café"), line("1", "5"), line("2", '"1,234.50"'), eol="\r\n")
    parsed = read(gz(plain))
    assert parsed.reader.dialect.source == "gzip"
    assert parsed.sales == read(plain).sales
    assert [(s.sale_id, s.total, len(s.lines)) for s in parsed.sales] == [("1", D("15.9"), 2), ("2", D("1234.50"), 1)]


def test_a_gzip_of_several_members_is_read_whole() -> None:
    parsed = read(gz(export(line("1"))) + gz(line("2").encode() + b"\n"))
    assert [(s.sale_id, s.first_line) for s in parsed.sales] == [("1", 2), ("2", 3)]


@pytest.mark.parametrize("order", ["le", "be"])
def test_excel_unicode_text_is_read_as_utf16_tab_delimited(order: str) -> None:
    rows = (
        TAB_HEADER,
        tab_line("1", item="Café ⛳ 🏌"),
        tab_line("1", "5", item='"two\r\nlines"'),
        tab_line("2", '"1,234.50"', item="Zoë, Müller"),
    )
    parsed = read(utf16("".join(r + "\r\n" for r in rows), order))
    assert parsed.rejections == []
    assert parsed.reader.dialect.delimiter == "\t"
    assert parsed.reader.dialect.source == f"UTF-16 {order.upper()}"
    first, second = parsed.sales
    assert [ln.item_name for ln in first.lines] == ["Café ⛳ 🏌", "two\r\nlines"]
    assert (first.total, first.first_line) == (D("15.9"), 2)
    assert (second.sale_id, second.total, second.first_line, second.lines[0].item_name) == (
        "2",
        D("1234.50"),
        5,
        "Zoë, Müller",
    )


def test_a_lone_surrogate_in_utf16_rejects_its_line_only() -> None:
    text = "".join(r + "\r\n" for r in (TAB_HEADER, tab_line("1"), tab_line("2", item="Bay X"), tab_line("3")))
    data = utf16(text).replace("Bay X".encode("utf-16-le"), "Bay ".encode("utf-16-le") + b"\x00\xd8")
    parsed = read(data)
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert [r.line_no for r in parsed.rejections] == [3]


def test_a_semicolon_file_is_read_not_told_its_columns_are_missing() -> None:
    parsed = read(
        export(
            semi_line("1"), semi_line("2", "1.234,50", price="1.132,57", tax="101,93"), header=SEMI_HEADER, eol="\r\n"
        )
    )
    assert parsed.rejections == []
    assert (parsed.reader.dialect.delimiter, parsed.reader.dialect.decimal) == (";", ",")
    one, two = parsed.sales
    assert (one.total, one.tax) == (D("10.9"), D("0.9"))
    assert (two.total, two.tax, two.lines[0].item_price) == (D("1234.50"), D("101.93"), D("1132.57"))


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("1.234,50", D("1234.50")),
        ("1 234,50", D("1234.50")),
        ("1\u00a0234,50", D("1234.50")),
        ("1\u202f234,50", D("1234.50")),
        ("4,36", D("4.36")),
        ("0,436", D("0.436")),
        ("-S$1.234,5", D("-1234.5")),
        ("S$-4,587", D("-4.587")),
        ("$1.234.567,5", D("1234567.5")),
        ("1.234", D(1234)),
        ("12", D(12)),
        (",5", D("0.5")),
    ],
)
def test_semicolon_file_numbers_take_a_decimal_comma(cell: str, value: Decimal) -> None:
    parsed = read(export(semi_line("1", f'"{cell}"'), header=SEMI_HEADER))
    assert parsed.rejections == []
    assert parsed.sales[0].total == value


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("0.436", "looks like a decimal point"),
        ("12.5", "looks like a decimal point"),
        ("1,234.50", "is not a number"),
        ("1.234 567,5", "is not a number"),
        ("1,2345", "more than 3 decimals"),
        ("--4,36", "two minus signs"),
    ],
)
def test_semicolon_file_numbers_that_do_not_fit_are_rejected(cell: str, why: str) -> None:
    parsed = read(export(semi_line("1"), semi_line("2", cell), header=SEMI_HEADER))
    assert [s.sale_id for s in parsed.sales] == ["1"]
    reason = parsed.rejected(3).reason
    assert reason.startswith("Item Total") and why in reason and cell in reason


def test_a_grouped_sale_id_in_a_semicolon_file_is_the_plain_id() -> None:
    parsed = read(export(semi_line("1.288"), semi_line("1288"), semi_line("12 345"), header=SEMI_HEADER))
    assert [(s.sale_id, len(s.lines)) for s in parsed.sales] == [("1288", 2), ("12345", 1)]


def test_comma_and_semicolon_files_read_in_turn_never_share_parsed_numbers() -> None:
    # `1,234` is 1234 with a decimal point and 1.234 with a decimal comma; the parse caches
    # must keep them apart in both orders. Each file's second line (10.9 / 10,9) proves its mark.
    for _ in range(2):
        comma = read(export(line("1", '"1,234"', tax='"1,234"'), line("2")))
        semi = read(export(semi_line("1", "1,234", tax="1,234"), semi_line("2"), header=SEMI_HEADER))
        assert (comma.sales[0].total, comma.sales[0].tax) == (D(1234), D(1234))
        assert (semi.sales[0].total, semi.sales[0].tax) == (D("1.234"), D("1.234"))


@pytest.mark.parametrize(
    ("cell", "shows"),
    [
        ("12.50", "."),
        ("0.436", "."),
        ("-0.880", "."),
        (".5", "."),
        ("1,234.50", "."),
        ("1234.567", "."),
        ("12,345,678", "."),
        ("S$-4.5", "."),
        ("12,50", ","),
        ("0,436", ","),
        (",5", ","),
        ("1.234,50", ","),
        ("1234,567", ","),
        ("1.234.567", ","),
        ("1 234,5", ","),
        ("-S$4,36", ","),
        ("34.880", "?"),
        ("34,880", "?"),
        ("-1,234", "?"),
        ("$1.000", "?"),
        ("S$-999,999", "?"),
        ("12", ""),
        ("-5", ""),
        ("1 234", ""),
        ("", ""),
        ("---", ""),
        ("Item Total", ""),
        ("1.2.3", ""),
        ("1,23,4", ""),
    ],
)
def test_which_decimal_mark_a_number_proves(cell: str, shows: str) -> None:
    # A number proves a mark when it reads only with that mark as the decimal one; `34.880` reads
    # both ways (34.88 or 34880), an integer or a space-grouped one either way alike.
    assert decimal_evidence(cell) == shows


def test_a_reader_without_a_first_pass_settles_the_mark_from_the_numbers_it_sniffed() -> None:
    points = read(export(semi_line("1", "34.880", tax="0.9"), semi_line("2", "12.50", tax="1.5"), header=SEMI_HEADER))
    assert (points.reader.dialect.decimal, points.reader.dialect.two_way, points.rejections) == (".", None, [])
    assert [s.total for s in points.sales] == [D("34.880"), D("12.50")]
    commas = read(export(line("1", '"34,880"', tax='"0,9"'), line("2", '"1.234,5"', tax="0"), eol="\r\n"))
    assert commas.reader.dialect.decimal == "," and [s.total for s in commas.sales] == [D("34.880"), D("1234.5")]
    # Nothing proven: the comma file's decimal point reads 34.880, and refuses '1,234' (it would be
    # 1234 that way, or 1.234 with a decimal comma).
    undecided = read(export(line("1", "34.880", tax="0"), line("2", '"1,234"', tax="0"), line("3", "12", tax="0")))
    assert undecided.reader.dialect.two_way is not None and undecided.reader.dialect.decimal == "."
    assert [(s.sale_id, s.total) for s in undecided.sales] == [("1", D("34.880")), ("3", D(12))]
    assert (
        "'1,234' reads two ways, 1234 with a decimal point or 1.234 with a decimal comma, and no other "
        "number in this file shows which decimal mark it uses: it is not guessed" in undecided.rejected(3).reason
    )


def test_grouped_ids_are_the_plain_id_in_every_file_whatever_its_decimal_mark() -> None:
    # Both passes over a file read its Sale IDs before its decimal mark is settled, so an id reads
    # the same in any file: `1,288`, `1.288`, `1 288` are 1288; `0,436` and `1,23` are no grouping.
    comma = read(export(line('"1,288"'), line("1.288"), line("1 288"), line('"0,436"'), line('"1,23"')))
    assert [(s.sale_id, len(s.lines)) for s in comma.sales] == [("1288", 3), ("0,436", 1), ("1,23", 1)]
    semi = read(export(semi_line("1,288"), semi_line("1288"), header=SEMI_HEADER))
    assert [(s.sale_id, len(s.lines)) for s in semi.sales] == [("1288", 2)]


def test_the_delimiter_is_the_one_that_shows_a_header() -> None:
    # Title rows full of commas before a semicolon header: the header decides, not the counts.
    preamble = 'Sales report, 1 Mar - 17 Apr, generated 18 Apr\r\n"Location: Golf, Singapore"\r\n'
    parsed = read(preamble.encode() + export(semi_line("1"), header=SEMI_HEADER, eol="\r\n"))
    assert parsed.reader.dialect.delimiter == ";"
    assert [(s.sale_id, s.first_line, s.total) for s in parsed.sales] == [("1", 4, D("10.9"))]


def test_without_a_header_the_message_names_the_columns_of_the_best_split() -> None:
    with pytest.raises(ExportError) as caught:
        read(b"Sale Date;Sale ID;Amount\r\n3/1/2025;1;5\r\n")
    assert str(caught.value) == "not a sales export: missing required column(s) Item Total"


def test_the_same_rules_hold_for_an_iterable_of_lines() -> None:
    data = export(semi_line("1"), semi_line("2", "1.234,50"), header=SEMI_HEADER)
    from_lines = list(ExportReader(data.splitlines()))
    assert [i for i in from_lines if isinstance(i, Sale)] == read(data).sales
    zipped = list(ExportReader(io.BytesIO(gz(export(line("1"), line("2"))))))
    assert [(s.sale_id, s.first_line) for s in zipped if isinstance(s, Sale)] == [("1", 2), ("2", 3)]
    with pytest.raises(ExportError, match="PDF document"):
        ExportReader([b"%PDF-1.7\n", b"rest\n"])


# --- what a truly unusable file is told -----------------------------------------------------------

_XLSX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb4\x8a\x13\x00[Content_Types].xml\x00\x00"
_PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_XLSX, "the file is an Excel workbook (.xlsx), not a CSV export"),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00notes.txt\x00\x00", "the file is a zip archive, not a CSV export"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00" * 10, "old-format Excel workbook (.xls)"),
        (_PDF, "the file is a PDF document, not a CSV export"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\n", "the file is a PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "the file is a JPEG image"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00", "the file is a GIF image"),
        (codecs.BOM_UTF32_LE + HEADER.encode("utf-32-le"), "UTF-32 text"),
        (gz(_PDF), "gzip-compressed, but what it holds is a PDF document"),
        (gz(_XLSX), "gzip-compressed, but what it holds is an Excel workbook (.xlsx)"),
        (gz(bytes(range(256)) * 64), "gzip-compressed, but what it holds is binary data"),
        (gz(gz(export(line("1")))), "gzip-compressed, but what it holds is gzip-compressed data"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\x9d\n\x00\x01", "gzip file is damaged or truncated"),
        (b"\x1f\x8b\x07\x00\x00\x00\x00\x00\x00\x03garbage", "gzip file is damaged or truncated (at its start"),
    ],
    ids=[
        "xlsx",
        "zip",
        "xls",
        "pdf",
        "png",
        "jpeg",
        "gif",
        "utf32",
        "gzip-pdf",
        "gzip-xlsx",
        "gzip-binary",
        "gzip-gzip",
        "gzip-truncated",
        "gzip-bad-header",
    ],
)
def test_an_unusable_file_is_told_what_it_is(data: bytes, message: str) -> None:
    with pytest.raises(ExportError) as caught:
        read(data)
    assert message in str(caught.value)
    assert "binary (NUL bytes)" not in str(caught.value)


def test_a_gzip_truncated_after_its_sales_fails_when_the_reading_gets_there() -> None:
    # gzip says it is truncated only at its end: a single pass has read the sales before by then
    # (an ingest that must write nothing from a damaged file reads it once through first).
    whole = gz(export(*[line(str(n)) for n in range(1, 100_001)]))
    reader = ExportReader(iter_byte_lines(io.BytesIO(whole[: len(whole) - 40])))
    items = []
    with pytest.raises(ExportError, match="gzip file is damaged or truncated"):
        for item in reader:
            items.append(item)
    assert len(items) > 10_000


# --- streaming ---------------------------------------------------------------------------------


class _SmallReadsOnly(io.RawIOBase):
    """A stream that refuses to be read whole (as a body that must never be slurped)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.largest = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.largest = max(self.largest, len(buffer))
        assert len(buffer) <= 2 * 1024 * 1024, "read far more than a block at once"
        return self._data.readinto(buffer)

    def readall(self) -> bytes:
        raise AssertionError("the whole stream was read at once")


@pytest.mark.parametrize("packing", ["gzip", "utf16", "gzip+utf16"])
def test_gzip_and_utf16_are_read_streaming_in_bounded_memory(packing: str) -> None:
    rows = [line(str(n), item=f"Bay hire {'x' * 900}") for n in range(1, 12_001)]  # ~11 MB of text
    text = export(*rows, eol="\r\n")
    data = text
    if "utf16" in packing:
        data = utf16(text.decode())
    if "gzip" in packing:
        data = gz(data)
    body = _SmallReadsOnly(data)
    tracemalloc.start()
    try:
        sales = 0
        for item in ExportReader(iter_byte_lines(io.BufferedReader(body, 1 << 20))):
            sales += isinstance(item, Sale)
            del item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sales == 12_000
    assert body.largest <= 2 * 1024 * 1024
    # Measured ~6-7 MiB whatever the file size (blocks of 1 MiB in each layer), under the text's size.
    assert peak < 10 * 1024 * 1024 < len(text)


def test_detection_depends_only_on_the_bytes_so_two_passes_agree() -> None:
    data = gz(utf16("".join(r + "\r\n" for r in (TAB_HEADER, tab_line("1"), tab_line("2")))))
    first_stream, first = open_export(io.BytesIO(data))
    second_stream, second = open_export(io.BytesIO(data))
    assert first == second
    assert first_stream.read() == second_stream.read()
    # The stream it hands on is the whole text: the bytes read to sniff it are not lost.
    text = open_export(io.BytesIO(export(*[line(str(n)) for n in range(SNIFF_BYTES // 20)])))[0].read()
    assert text == export(*[line(str(n)) for n in range(SNIFF_BYTES // 20)])


# --- the same sales, however saved ---------------------------------------------------------------


def _variants(sales: list[Any], **options: Any) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for name, extra in {
        "csv": {},
        "gzip": {"gzipped": True},
        "unicode-text": {"dialect": "unicode-text"},
        "semicolon": {"dialect": "semicolon"},
        "gzip+semicolon": {"dialect": "semicolon", "gzipped": True},
    }.items():
        buffer = io.BytesIO()
        write_export(sales, buffer, **options, **extra)  # type: ignore[arg-type]
        out[name] = buffer.getvalue()
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    lines=st.integers(1, 300),
    messy=st.booleans(),
    crlf=st.booleans(),
    client_names=st.booleans(),
    aliases=st.booleans(),
)
def test_the_same_sales_saved_any_way_read_as_the_same_sales(
    seed: int, lines: int, messy: bool, crlf: bool, client_names: bool, aliases: bool
) -> None:
    sales = list(generate_sales(seed=seed, lines=lines, sales_per_day=20))
    files = _variants(
        sales, messy=messy, crlf=crlf, client_names=client_names, header_style="aliases" if aliases else "canonical"
    )
    assert files["gzip"][:2] == b"\x1f\x8b" and files["unicode-text"][:2] == codecs.BOM_UTF16_LE
    parsed = {name: read(data) for name, data in files.items()}
    plain = parsed["csv"]
    assert plain.rejections == []
    assert sum(len(s.lines) for s in plain.sales) == lines
    assert sum((s.total for s in plain.sales), D(0)) == sum((s.total for s in sales), D(0))
    for name, other in parsed.items():
        assert other.rejections == [], name
        assert other.sales == plain.sales, name  # same ids, dates, lines, line numbers, totals
        assert [s.content_hash for s in other.sales] == [s.content_hash for s in plain.sales], name
