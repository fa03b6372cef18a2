"""Which column is which: header names as real exports (and hand-edited files) spell them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from salesmetrics.columns import PERSONAL, Field, HeaderError, map_header, normalise_header
from salesmetrics.parsing import ExportError
from tests.unit.support import HEADER, export, line, read

D = Decimal


def test_header_names_are_trimmed_case_folded_and_inner_spaces_collapsed() -> None:
    assert normalise_header("  Sale   DATE \t") == "sale date"
    assert normalise_header("\ufeffSale Date") == "sale date"
    assert normalise_header("Item price  (excluding   tax)") == "item price (excluding tax)"


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("Item price", Field.ITEM_PRICE),
        ("Item price (excluding tax)", Field.ITEM_PRICE),
        ("Unit price", Field.ITEM_PRICE),
        ("Subtotal", Field.SUBTOTAL),
        ("Subtotal (excluding tax)", Field.SUBTOTAL),
        ("Qty", Field.QUANTITY),
        ("QUANTITY", Field.QUANTITY),
        ("Sale #", Field.SALE_ID),
        ("Sale Id", Field.SALE_ID),
        ("Date", Field.SALE_DATE),
        ("Line total", Field.ITEM_TOTAL),
        ("Discount", Field.DISCOUNT_AMOUNT),
        ("Discount amount", Field.DISCOUNT_AMOUNT),
        ("Discount %", Field.DISCOUNT_PERCENT),
        ("Total Paid", Field.TOTAL_PAID),
        ("Client", Field.CLIENT_NAME),
        ("Client Name", Field.CLIENT_NAME),
        ("Customer", Field.CLIENT_NAME),
        ("Client ID", Field.CLIENT_ID),
        ("Item", Field.ITEM_NAME),
    ],
)
def test_aliases_map_to_their_column(name: str, field: Field) -> None:
    cells = ["Sale Date", "Sale ID", "Item Total"]
    required = {Field.SALE_DATE: 0, Field.SALE_ID: 1, Field.ITEM_TOTAL: 2}
    spelled = f"  {name.upper()}  "
    if field in required:
        cells[required[field]] = spelled
    else:
        cells.append(spelled)
    assert map_header(cells).positions[field] == cells.index(spelled)


def test_client_name_is_the_personal_column() -> None:
    assert {Field.CLIENT_NAME} == PERSONAL
    columns = map_header(["Sale Date", "Client", "Sale ID", "Item Total"])
    assert columns.personal_positions() == {1}


def test_map_header_refuses_a_duplicate_column() -> None:
    with pytest.raises(HeaderError, match="Sale ID"):
        map_header(["Sale Date", "Sale ID", "Item Total", "sale id"])


def test_alias_headers_in_any_order_read_the_same_sale() -> None:
    canonical = read(
        export(
            line("1", "10.9", qty="2", price="5", tax="0.9", item="Water"),
        )
    )
    shuffled = read(
        export(
            ",".join(("0.9", "2", "10.9", "5", "1", "Water", "3/1/2025")),
            header=' TAX , qty ,Line Total,UNIT PRICE,sale #,item,"  Sale   date "',
        )
    )
    assert canonical.rejections == shuffled.rejections == []
    (a,), (b,) = canonical.sales, shuffled.sales
    assert (b.sale_id, b.sale_date, b.total, b.tax) == (a.sale_id, a.sale_date, a.total, a.tax)
    assert b.lines[0].item_name == "Water"
    assert b.lines[0].quantity == D(2)
    assert b.lines[0].item_price == D(5)
    assert b.content_hash == a.content_hash


def test_unknown_and_empty_named_columns_are_ignored() -> None:
    parsed = read(
        export(
            "POS 1,3/1/2025,1,=not a number,10.9,",
            "POS 2,3/1/2025,2,junk,5,trailing",
            header="Register,Sale Date,Sale ID,,Item Total,",
        )
    )
    assert parsed.rejections == []
    assert [(s.sale_id, s.total) for s in parsed.sales] == [("1", D("10.9")), ("2", D(5))]


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("Sale Date,Sale ID,Item name,Quantity", ["Item Total"]),
        ("Sale ID,Item name,Item Total", ["Sale Date"]),
        ("Sale Date,Item name,Item Total", ["Sale ID"]),
        ("Item name,Quantity,Tax", ["Sale Date", "Sale ID", "Item Total"]),
    ],
)
def test_missing_required_columns_fail_the_file_naming_them(header: str, missing: list[str]) -> None:
    data = export("3/1/2025,1,A,1", header=header)
    with pytest.raises(ExportError) as caught:
        read(data)
    message = str(caught.value)
    for name in missing:
        assert name in message


def test_not_a_sales_export_at_all_fails_the_file() -> None:
    with pytest.raises(ExportError, match="Sale Date"):
        read(b"name,email\nJohn,john@example.com\n")


@pytest.mark.parametrize(
    "header",
    [
        "Sale Date,Sale ID,Sale ID,Item Total",
        "Sale Date,Sale ID,Item Total,item total",
        "Sale Date,Sale ID,Item Total,Line total",  # an alias counts as the same column
        "Date,Sale Date,Sale ID,Item Total",
    ],
)
def test_a_required_column_appearing_twice_fails_the_file(header: str) -> None:
    with pytest.raises(ExportError, match="appears twice"):
        read(export("3/1/2025,1,1,5", header=header))


def test_a_preamble_before_the_header_is_skipped() -> None:
    parsed = read(
        export(
            "Sales report,,,",
            "Golf - experience: 3/1/2025 - 3/31/2025",
            "",
            HEADER,
            line("1"),
            header=None,
        )
    )
    assert parsed.rejections == []
    assert [s.sale_id for s in parsed.sales] == ["1"]
    assert parsed.sales[0].first_line == 5  # physical line numbers count the preamble
    assert parsed.reader.stats.rows_total == 1


def test_a_repeated_header_row_mid_file_is_skipped_not_rejected() -> None:
    # Concatenated exports (two reports pasted into one file) repeat the header row.
    parsed = read(export(line("1"), HEADER, line("2")))
    assert parsed.rejections == []
    assert [s.sale_id for s in parsed.sales] == ["1", "2"]
    assert parsed.reader.stats.rows_total == 2
    assert parsed.reader.stats.repeated_headers == 1


def test_a_repeated_header_row_of_another_width_is_skipped_not_rejected() -> None:
    parsed = read(export(line("1"), HEADER + ",Register", line("2")))
    assert parsed.rejections == []
    assert [s.sale_id for s in parsed.sales] == ["1", "2"]
    assert parsed.reader.stats.rows_total == 2
    assert parsed.reader.stats.repeated_headers == 1


def test_a_repeated_header_does_not_split_or_join_sales() -> None:
    # The header between two lines of sale 1 is not a line of it: sale 1 still has both lines.
    parsed = read(export(line("1", "5"), HEADER + ",Register", line("1", "6")))
    assert parsed.rejections == []
    assert [(s.sale_id, s.total) for s in parsed.sales] == [("1", D(11))]
