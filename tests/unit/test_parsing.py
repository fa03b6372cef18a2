"""The streaming reader on the quirks of real exports: encodings, line endings, quoting, line numbers,
dates and numbers, malformed rows, huge fields, and files that are not exports at all."""

from __future__ import annotations

import io
import tracemalloc
from datetime import date
from decimal import Decimal

import pytest

from salesmetrics.parsing import ExportError, ExportReader, Rejection, iter_byte_lines
from tests.unit.support import HEADER, export, line, read

D = Decimal
MAR_1 = date(2025, 3, 1)


# --- encodings -----------------------------------------------------------------------------------


def test_utf8_without_bom_keeps_non_ascii_item_names() -> None:
    parsed = read(export(line("1", item="Café Latte"), line("2", item="Zoë's lesson ⛳")))
    assert [ln.item_name for s in parsed.sales for ln in s.lines] == ["Café Latte", "Zoë's lesson ⛳"]


def test_utf8_bom_does_not_stick_to_the_first_header() -> None:
    parsed = read(export(line("1", item="Café"), bom=True))
    assert parsed.reader.columns.header[0] == "Sale Date"
    assert parsed.rejections == []
    (sale,) = parsed.sales
    assert (sale.sale_id, sale.sale_date, sale.lines[0].item_name) == ("1", MAR_1, "Café")


def test_utf8_bom_before_an_unknown_first_column() -> None:
    # The BOM glued to a column nobody reads must not shift or break the others.
    data = b"\xef\xbb\xbfRegister," + export(",".join(("POS 1", line("1"))), header=HEADER)
    parsed = read(data)
    assert parsed.reader.columns.header[0] == "Register"
    assert [s.sale_id for s in parsed.sales] == ["1"]


def test_windows_1252_file_is_read_as_windows_1252() -> None:
    parsed = read(export(line("1", item="Café"), line("2", item="Voucher €50 – gift"), encoding="cp1252"))
    assert parsed.rejections == []
    assert [s.lines[0].item_name for s in parsed.sales] == ["Café", "Voucher €50 – gift"]


def test_windows_1252_raw_byte_e9_is_e_acute() -> None:
    parsed = read(HEADER.encode() + b"\n3/1/2025,1,Caf\xe9,1,10,0.9,10.9\n")
    assert parsed.sales[0].lines[0].item_name == "Café"


def test_a_line_undecodable_in_both_encodings_is_rejected_and_the_rest_ingests() -> None:
    data = export(line("1"), line("2"), line("3")).replace(b"3/1/2025,2,Bay hire", b"3/1/2025,2,Bay\x81hire")
    parsed = read(data)
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    rejection = parsed.rejected(3)
    assert rejection.sale_id == "2"
    assert "UTF-8" in rejection.reason
    assert "Windows-1252" in rejection.reason


def test_an_undecodable_continuation_line_of_a_quoted_field_rejects_its_row() -> None:
    # The row spans physical lines 2-3; the bad byte is on line 3.
    data = HEADER.encode() + b'\n3/1/2025,1,"Bay\nhire \x81",1,10,0.9,10.9\n' + line("2").encode() + b"\n"
    parsed = read(data)
    assert [r.line_no for r in parsed.rejections] == [2]
    assert "Windows-1252" in parsed.rejections[0].reason
    assert [(s.sale_id, s.first_line) for s in parsed.sales] == [("2", 4)]


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb4\x8a[Content_Types].xml\n\x00\x00",  # .xlsx
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xed\x9d\n\x00\x01",  # .csv.gz
        b"Sale Date,Sale ID,Item Total\x00\x00\n3/1/2025,1,5\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\n",  # no NUL on its first line
    ],
    ids=["xlsx", "gzip", "nul-in-header", "png"],
)
def test_a_binary_file_fails_as_a_whole(data: bytes) -> None:
    with pytest.raises(ExportError):
        read(data)


def test_a_stray_nul_after_the_header_rejects_only_its_line() -> None:
    rows = [line(str(n)) for n in range(1, 31)]
    rows[24] = line("25", item="Bay\x00hire")
    parsed = read(export(*rows))
    assert [r.line_no for r in parsed.rejections] == [26]
    assert parsed.rejections[0].sale_id == "25"
    assert len(parsed.sales) == 29


@pytest.mark.parametrize("data", [b"", b"\n", b"\r\n\r\n  \n", b"\xef\xbb\xbf", b",,,\n,,\n"])
def test_an_empty_file_fails_as_a_whole(data: bytes) -> None:
    with pytest.raises(ExportError, match="empty"):
        read(data)


@pytest.mark.parametrize(
    "data",
    [
        HEADER.encode(),
        HEADER.encode() + b"\n",
        HEADER.encode() + b"\r\n\r\n",
        b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n",
        HEADER.encode("utf-16"),  # "Unicode text" from a spreadsheet, with its byte order mark
    ],
)
def test_a_header_only_file_has_no_sales_and_no_rejections(data: bytes) -> None:
    parsed = read(data)
    assert parsed.items == []
    assert parsed.reader.stats.rows_total == 0
    assert parsed.reader.stats.rows_rejected == 0


# --- line endings, quoting, line numbers -------------------------------------------------------


def test_lf_and_crlf_read_the_same() -> None:
    rows = (line("1", item="Bay hire "), line("1", item="Water"), line("2", "-10.9", qty="-1"))
    lf, crlf = read(export(*rows)), read(export(*rows, eol="\r\n"))
    assert lf.sales == crlf.sales  # same lines, same line numbers, same hashes
    assert [ln.item_name for s in crlf.sales for ln in s.lines] == ["Bay hire", "Water", "Bay hire"]
    assert all("\r" not in ln.payment_method + ln.item_name for s in crlf.sales for ln in s.lines)


def test_a_last_line_without_line_ending_is_read() -> None:
    parsed = read(export(line("1")) + line("2", "5").encode())
    assert [(s.sale_id, s.total) for s in parsed.sales] == [("1", D("10.9")), ("2", D(5))]


def test_mixed_line_endings_in_one_file() -> None:
    data = (HEADER + "\r\n" + line("1") + "\n" + line("2") + "\r\n" + line("3") + "\n").encode()
    parsed = read(data)
    assert [(s.sale_id, s.first_line) for s in parsed.sales] == [("1", 2), ("2", 3), ("3", 4)]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_quoted_commas_quotes_and_newlines_stay_intact(eol: str) -> None:
    name_cell = '"Bay, ""Premium""\r\nsecond line\nthird"'
    parsed = read(export(line("1", item=name_cell), line("2"), eol=eol))
    assert parsed.rejections == []
    first, second = parsed.sales
    # The quoted CRLF stays CRLF, the quoted LF stays LF, whatever the file's own line ending.
    assert first.lines[0].item_name == 'Bay, "Premium"\r\nsecond line\nthird'
    assert first.total == D("10.9")
    # Physical lines: the header is 1, sale 1 takes lines 2-4, so sale 2 is on line 5.
    assert (first.first_line, second.first_line) == (2, 5)


def test_quoted_newlines_move_the_line_numbers_of_rejections() -> None:
    parsed = read(
        export(
            line("1", item='"note\r\nover\r\nthree lines"'),
            line("2", "abc"),
            "",
            line("3", "xyz"),
            eol="\r\n",
        )
    )
    assert [s.sale_id for s in parsed.sales] == ["1"]
    assert [(r.line_no, r.sale_id) for r in parsed.rejections] == [(5, "2"), (7, "3")]


def test_a_quoted_crlf_survives_in_a_rejected_rows_cells() -> None:
    parsed = read(export(line("1", "abc", item='"Gift card\r\nfor Mei"'), eol="\r\n"))
    (rejection,) = parsed.rejections
    assert rejection.cells[2] == "Gift card\r\nfor Mei"


def test_blank_lines_are_skipped_but_counted_as_physical_lines() -> None:
    parsed = read(export("", line("1"), "", "", line("2", "bad")))
    assert [(s.sale_id, s.first_line) for s in parsed.sales] == [("1", 3)]
    assert [r.line_no for r in parsed.rejections] == [6]
    assert parsed.reader.stats.rows_total == 2


def test_a_stray_carriage_return_in_an_unquoted_cell_does_not_break_the_file() -> None:
    data = export(line("1"), line("2", item="Bay\rhire"), line("3"))
    parsed = read(data)
    assert [s.sale_id for s in parsed.sales if s.sale_id != "2"] == ["1", "3"]


# --- dates ---------------------------------------------------------------------------------------


def test_date_styles_mixed_in_one_file_are_the_same_day() -> None:
    parsed = read(
        export(
            line("1", day="3/1/2025"),
            line("2", day="03/01/2025"),
            line("3", day="2025-03-01"),
            line("4", day="3/01/2025"),
        )
    )
    assert parsed.rejections == []
    assert {s.sale_date for s in parsed.sales} == {MAR_1}
    assert len(parsed.sales) == 4


def test_date_styles_mixed_within_one_sale_are_one_day() -> None:
    parsed = read(export(line("1", day="3/1/2025"), line("1", day="03/01/2025"), line("1", day="2025-03-01")))
    assert parsed.rejections == []
    (sale,) = parsed.sales
    assert (sale.sale_date, len(sale.lines)) == (MAR_1, 3)


@pytest.mark.parametrize("raw", ["2/30/2025", "13/01/2025", "2025/03/01", "March 1", "", "3/1/25"])
def test_bad_dates_reject_the_line_naming_sale_date(raw: str) -> None:
    parsed = read(export(line("1"), line("2", day=raw), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    rejection = parsed.rejected(3)
    assert rejection.sale_id == "2"
    assert rejection.reason.startswith("Sale Date")
    if raw:
        assert raw in rejection.reason


# --- numbers -------------------------------------------------------------------------------------


def test_currency_signs_separators_and_minus_placements() -> None:
    parsed = read(
        export(
            line("1", '"$1,234.50"', price='"S$1,132.57"', tax="$101.93"),
            line("2", "-S$5", qty="-1", price="S$-4.587", tax="-$0.413"),
            line("3", "0.436", price="0.4", tax="0.036"),
        )
    )
    assert parsed.rejections == []
    s1, s2, s3 = parsed.sales
    assert (s1.total, s1.tax, s1.lines[0].item_price) == (D("1234.50"), D("101.93"), D("1132.57"))
    assert (s2.total, s2.tax, s2.lines[0].item_price, s2.lines[0].quantity) == (D(-5), D("-0.413"), D("-4.587"), D(-1))
    assert s3.total == D("0.436")
    assert str(s3.total) == "0.436"


def test_grouped_sale_id_is_the_plain_id() -> None:
    parsed = read(export(line('"1,288"'), line("1288"), line('"12,345,678"')))
    assert [(s.sale_id, len(s.lines)) for s in parsed.sales] == [("1288", 2), ("12345678", 1)]


@pytest.mark.parametrize("placeholder", ["---", "", " --- "])
def test_placeholders_in_optional_columns_are_no_value(placeholder: str) -> None:
    parsed = read(export(line("1", qty=placeholder, price=placeholder, tax=placeholder)))
    assert parsed.rejections == []
    (ln,) = parsed.sales[0].lines
    assert (ln.quantity, ln.item_price, ln.tax) == (None, None, None)
    assert parsed.sales[0].tax == D(0)


@pytest.mark.parametrize("column", ["Item Total", "Quantity", "Item price", "Tax"])
@pytest.mark.parametrize("raw", ["abc", "1e5", "NaN", "--5", "0.4361", "Infinity", "1,23"])
def test_bad_numbers_reject_the_line_naming_the_column(column: str, raw: str) -> None:
    cells = {"Item Total": "10.9", "Quantity": "1", "Item price": "10", "Tax": "0.9"}
    cells[column] = f'"{raw}"'
    bad = line("2", cells["Item Total"], qty=cells["Quantity"], price=cells["Item price"], tax=cells["Tax"])
    parsed = read(export(line("1"), bad, line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    rejection = parsed.rejected(3)
    assert rejection.reason.startswith(column)
    assert raw in rejection.reason


@pytest.mark.parametrize("raw", ["", "---", "  "])
def test_an_empty_item_total_rejects_the_line(raw: str) -> None:
    parsed = read(export(line("1"), line("2", raw), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert parsed.rejected(3).reason.startswith("Item Total")


# --- malformed rows --------------------------------------------------------------------------------


def test_a_row_with_too_few_fields_is_rejected() -> None:
    parsed = read(export(line("1"), "3/1/2025,2,Bay hire,1,10", line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    rejection = parsed.rejected(3)
    # A misaligned row's cells cannot be trusted, Sale ID included: it only taints a neighbouring
    # sale whose id it names; alone, it is rejected without a sale id.
    assert rejection.sale_id == ""
    assert "5 fields" in rejection.reason and "7" in rejection.reason


def test_a_misaligned_line_naming_its_neighbouring_sale_rejects_that_sale() -> None:
    for rows in ((line("2"), "3/1/2025,2,Bay hire,1,10"), ("3/1/2025,2,Bay hire,1,10", line("2"))):
        parsed = read(export(line("1"), *rows, line("3")))
        assert [s.sale_id for s in parsed.sales] == ["1", "3"]
        assert {r.sale_id for r in parsed.rejections} == {"2"}


def test_a_row_with_too_many_fields_is_rejected() -> None:
    # An unquoted comma in the item name shifts every later cell: reading it would misread money.
    parsed = read(export(line("1"), line("2", item="Bay, hire"), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert "8 fields" in parsed.rejected(3).reason


def test_trailing_empty_cells_beyond_the_header_are_tolerated() -> None:
    parsed = read(export(line("1") + ",,", line("2") + ",  "))
    assert parsed.rejections == []
    assert [s.sale_id for s in parsed.sales] == ["1", "2"]


@pytest.mark.parametrize("blank", [",,,,,,", ",,,", "  ,  ,,,,,"])
def test_a_row_of_empty_cells_is_blank_not_rejected(blank: str) -> None:
    parsed = read(export(line("1"), blank, line("2"), blank, blank))
    assert parsed.rejections == []
    assert [s.sale_id for s in parsed.sales] == ["1", "2"]
    assert parsed.reader.stats.rows_total == 2


def test_a_field_longer_than_1000_characters_is_rejected_naming_the_column() -> None:
    parsed = read(export(line("1", item="x" * 1000), line("2", item="y" * 1001), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    rejection = parsed.rejected(3)
    assert "Item name" in rejection.reason and "1000" in rejection.reason.replace(",", "")


def test_a_sale_id_longer_than_64_characters_is_rejected() -> None:
    parsed = read(export(line("1"), line("9" * 65), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert "Sale ID" in parsed.rejected(3).reason


def _huge_field_export(size: int, *, quoted: bool, copies: int = 1) -> bytes:
    big = "x" * size
    note = f'"{big}"' if quoted else big
    rows = [line("1")]
    for n in range(copies):
        rows.append(line(f"big{n}", item=note))
        rows.append(line(f"after{n}"))
    return export(*rows)


def _peak_while_reading(data: bytes) -> tuple[int, list[tuple[object, ...]]]:
    """Peak traced memory while reading `data`, keeping only a summary of what came out."""
    stream = io.BytesIO(data)
    out: list[tuple[object, ...]] = []
    tracemalloc.start()
    try:
        for item in ExportReader(iter_byte_lines(stream)):
            if isinstance(item, Rejection):
                out.append(("rejected", item.line_no, item.sale_id, item.reason[:60]))
            else:
                out.append(("sale", item.sale_id, item.first_line))
            del item
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.mark.parametrize("quoted", [False, True])
def test_a_10_mb_field_rejects_its_row_and_the_rest_of_the_file_ingests(quoted: bool) -> None:
    _, out = _peak_while_reading(_huge_field_export(10_000_000, quoted=quoted))
    assert out[0] == ("sale", "1", 2)
    assert out[1][:3] == ("rejected", 3, "big0")
    assert "Item name" in str(out[1][3])
    assert out[2:] == [("sale", "after0", 4)]


def test_memory_does_not_grow_with_the_number_of_huge_fields() -> None:
    one, _ = _peak_while_reading(_huge_field_export(10_000_000, quoted=False))
    three, out = _peak_while_reading(_huge_field_export(10_000_000, quoted=False, copies=3))
    assert [o[:2] for o in out] == [
        ("sale", "1"),
        ("rejected", 3),
        ("sale", "after0"),
        ("rejected", 5),
        ("sale", "after1"),
        ("rejected", 7),
        ("sale", "after2"),
    ]
    assert three < one * 1.2


def test_a_10_mb_field_is_read_within_a_documented_bound() -> None:
    # csv builds a field 4 bytes per character and grows it by reallocation: one 10 MB field
    # costs ~90-100 MB at peak (docs/ingest.md), far inside the ingest function's 1 GB, and it
    # does not add up over several such fields (the test above).
    peak, _ = _peak_while_reading(_huge_field_export(10_000_000, quoted=False))
    assert peak < 128 * 1024 * 1024


@pytest.mark.parametrize(
    "quoted",
    [
        False,
        True,
    ],
)
def test_a_field_over_16_mib_rejects_its_row_and_the_rest_of_the_file_ingests(quoted: bool) -> None:
    _, out = _peak_while_reading(_huge_field_export(17_000_000, quoted=quoted))
    assert out[0] == ("sale", "1", 2)
    # The over-long line's bytes were skipped, so its Sale ID is unknown: it is rejected on its own.
    assert out[1][:3] == ("rejected", 3, "")
    assert "longer than 16 MiB" in out[1][3]
    assert out[2:] == [("sale", "after0", 4)]


# --- statistics ----------------------------------------------------------------------------------


def test_row_counts_add_up() -> None:
    parsed = read(export(line("1"), line("1"), "", line("2", "bad"), line("2"), line("3")))
    stats = parsed.reader.stats
    assert stats.rows_total == 5
    assert stats.rows_ingested == 3  # sale 1 (2 lines) and sale 3
    assert stats.rows_rejected == 2  # both lines of sale 2
    assert stats.rows_ingested + stats.rows_rejected == stats.rows_total
