"""Sales as a user counts them: lines grouped into sales, whole-sale rejection, refunds and zero sales,
day totals, content hashes, personal data kept out, and generated exports against tests/reckoning.py."""

from __future__ import annotations

import dataclasses
import io
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devtools.samplegen import generate_export, generate_sales
from salesmetrics.parsing import MAX_SALE_LINES
from salesmetrics.sales import ZERO_TOTALS, DaySums, DayTotals, Sale, SaleLine, StoredSale
from tests.reckoning import read_sales
from tests.unit.support import export, line, read

D = Decimal
MAR_1 = date(2025, 3, 1)

FULL_HEADER = (
    "Sale Date,Client ID,Client,Sale ID,Item name,Sales Notes,Item price (excluding tax),Quantity,"
    "Subtotal (excluding tax),Discount %,Discount amount,Tax,Item Total,Payment Method,Location"
)
FULL_DEFAULTS = {
    "day": "3/1/2025",
    "client_id": "100000888",
    "client": "Mei Tan",
    "sale_id": "1",
    "item": "Bay hire",
    "notes": "",
    "price": "40",
    "qty": "1",
    "subtotal": "40",
    "pct": "0",
    "discount": "0",
    "tax": "3.6",
    "total": "43.6",
    "pay": "Visa",
    "location": "Golf - experience",
}


def full(**cells: str) -> str:
    """A data line for FULL_HEADER (cells written as given)."""
    values = FULL_DEFAULTS | cells
    return ",".join(values[k] for k in FULL_DEFAULTS)


def full_export(*lines: str) -> bytes:
    return export(*lines, header=FULL_HEADER)


# --- lines into sales ----------------------------------------------------------------------------


def test_consecutive_lines_with_one_sale_id_are_one_sale() -> None:
    parsed = read(
        full_export(
            full(sale_id="7", item="Bay hire", total="43.6", tax="3.6"),
            full(sale_id="7", item="Water", price="2", subtotal="2", tax="0.18", total="2.18"),
            full(sale_id="7", item="Glove", price="30", subtotal="30", discount="3", tax="2.43", total="29.43"),
            full(sale_id="8", total="43.6"),
        )
    )
    assert parsed.rejections == []
    seven, eight = parsed.sales
    assert (seven.sale_id, seven.sale_date, seven.client_id) == ("7", MAR_1, "100000888")
    assert [ln.item_name for ln in seven.lines] == ["Bay hire", "Water", "Glove"]
    assert [ln.line_no for ln in seven.lines] == [2, 3, 4]
    assert seven.total == D("75.21")
    assert seven.tax == D("6.21")
    assert seven.discounts == D(3)
    assert seven.net == D(69)
    assert (eight.sale_id, eight.total, eight.first_line) == ("8", D("43.6"), 5)


def test_two_identical_lines_in_a_sale_are_both_kept() -> None:
    water = full(sale_id="7", item="Water", price="2", subtotal="2", tax="0.18", total="2.18")
    parsed = read(full_export(water, water))
    (sale,) = parsed.sales
    assert len(sale.lines) == 2
    assert sale.lines[0].item_name == sale.lines[1].item_name == "Water"
    assert sale.total == D("4.36")
    assert sale.tax == D("0.36")
    single = read(full_export(water)).sales[0]
    assert single.content_hash != sale.content_hash


def test_a_refund_sale_has_a_negative_total() -> None:
    parsed = read(
        full_export(
            full(sale_id="9", qty="-1", price="40", subtotal="-40", tax="-3.6", total="-43.6", pay="Visa"),
        )
    )
    (refund,) = parsed.sales
    assert refund.total == D("-43.6")
    assert refund.tax == D("-3.6")
    assert refund.lines[0].quantity == D(-1)
    totals = DayTotals.of(refund.total, refund.tax, refund.discounts)
    assert (totals.refund_count, totals.refunds) == (1, D("-43.6"))
    assert (totals.order_count, totals.order_value) == (0, D(0))


def test_a_zero_total_sale_is_kept() -> None:
    parsed = read(
        full_export(
            full(sale_id="10", pct="100", discount="40", tax="0", total="0", pay="Misc. (Comp/Guest)"),
        )
    )
    assert parsed.rejections == []
    (comp,) = parsed.sales
    assert comp.total == D(0)
    assert comp.discounts == D(40)
    totals = DayTotals.of(comp.total, comp.tax, comp.discounts)
    assert (totals.order_count, totals.refund_count, totals.sales_count) == (0, 0, 1)


def test_item_names_lose_stray_spaces_and_hash_the_same() -> None:
    spaced = read(full_export(full(item="Bay hire   "), full(sale_id="2", item=" Water ")))
    plain = read(full_export(full(item="Bay hire"), full(sale_id="2", item="Water")))
    assert [s.lines[0].item_name for s in spaced.sales] == ["Bay hire", "Water"]
    assert [s.content_hash for s in spaced.sales] == [s.content_hash for s in plain.sales]


def test_a_sale_whose_lines_carry_different_dates_is_rejected_whole() -> None:
    parsed = read(export(line("1"), line("2", day="3/1/2025"), line("2", day="3/2/2025"), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert [(r.line_no, r.sale_id) for r in parsed.rejections] == [(3, "2"), (4, "2")]
    assert "Sale Date" in parsed.rejected(4).reason
    assert "line 4" in parsed.rejected(3).reason


def test_an_invalid_line_rejects_its_whole_sale_and_only_that_sale() -> None:
    parsed = read(
        export(
            line("1"),
            line("2", "5"),
            line("2", "abc"),
            line("2", "6"),
            line("3"),
        )
    )
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert [(r.line_no, r.sale_id) for r in parsed.rejections] == [(3, "2"), (4, "2"), (5, "2")]
    assert parsed.rejected(4).reason == "Item Total 'abc' is not a number"
    for other in (3, 5):
        reason = parsed.rejected(other).reason
        assert "line 4" in reason and "sale 2" in reason


def test_an_invalid_first_or_last_line_rejects_the_sale_too() -> None:
    parsed = read(export(line("2", "abc"), line("2", "6"), line("3", "5"), line("3", "", item="x")))
    assert parsed.sales == []
    assert [r.line_no for r in parsed.rejections] == [2, 3, 4, 5]
    assert "line 2" in parsed.rejected(3).reason
    assert "line 5" in parsed.rejected(4).reason


def test_a_line_without_sale_id_inside_a_sale_rejects_that_sale() -> None:
    parsed = read(export(line("1"), line("2", "5"), line("", "7"), line("2", "6"), line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert sorted(r.line_no for r in parsed.rejections) == [3, 4, 5]
    assert "Sale ID" in parsed.rejected(4).reason
    assert "2" in parsed.rejected(4).reason  # it names the sale it sits in
    assert "line 4" in parsed.rejected(3).reason
    assert "line 4" in parsed.rejected(5).reason


def test_a_line_without_sale_id_between_two_sales_rejects_only_itself() -> None:
    parsed = read(export(line(""), line("1"), line("", "7"), line("2"), line("")))
    assert [s.sale_id for s in parsed.sales] == ["1", "2"]
    assert sorted(r.line_no for r in parsed.rejections) == [2, 4, 6]
    assert all("Sale ID" in r.reason for r in parsed.rejections)


def test_a_row_with_the_wrong_number_of_fields_rejects_its_sale() -> None:
    parsed = read(export(line("1"), line("2"), "3/1/2025,2,Water,1,2", line("3")))
    assert [s.sale_id for s in parsed.sales] == ["1", "3"]
    assert [r.line_no for r in parsed.rejections] == [3, 4]
    assert "fields" in parsed.rejected(4).reason
    assert "line 4" in parsed.rejected(3).reason


def test_a_sale_of_500_lines_is_accepted() -> None:
    parsed = read(export(*[line("1", "1")] * MAX_SALE_LINES, line("2")))
    assert parsed.rejections == []
    assert [(s.sale_id, len(s.lines)) for s in parsed.sales] == [("1", 500), ("2", 1)]
    assert parsed.sales[0].total == D(500)


@pytest.mark.parametrize("size", [MAX_SALE_LINES + 1, 3 * MAX_SALE_LINES])
def test_a_sale_of_more_than_500_lines_is_rejected_whole(size: int) -> None:
    parsed = read(export(line("0"), *[line("1", "1")] * size, line("2")))
    assert [s.sale_id for s in parsed.sales] == ["0", "2"]
    assert [r.line_no for r in parsed.rejections] == list(range(3, 3 + size))
    assert {r.sale_id for r in parsed.rejections} == {"1"}
    assert all("500" in r.reason for r in parsed.rejections)
    assert parsed.sales[1].first_line == 3 + size


def test_a_sale_id_reappearing_later_yields_two_sales_and_the_writer_keeps_the_later() -> None:
    # Not merged: two separate runs are two versions of sale 1; ingest orders versions by their
    # position in the file, so the later run (line 4) replaces the earlier one (line 2).
    parsed = read(export(line("1", "5"), line("2"), line("1", "7", item="Water")))
    assert parsed.rejections == []
    assert [(s.sale_id, s.first_line, s.total) for s in parsed.sales] == [
        ("1", 2, D(5)),
        ("2", 3, D("10.9")),
        ("1", 4, D(7)),
    ]


# --- personal data ---------------------------------------------------------------------------------


def _strings(value: object) -> list[str]:
    """Every value reachable from a Sale's attributes, as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, tuple):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


@pytest.mark.parametrize("column", ["Client", "client name", " CUSTOMER ", "Customer Name"])
def test_the_client_name_is_in_no_sale_attribute(column: str) -> None:
    header = FULL_HEADER.replace(",Client,", f",{column},")
    parsed = read(
        export(
            full(client="Tan Mei Ling", sale_id="1"),
            full(client="Tan Mei Ling", sale_id="1", item="Water"),
            full(client='"Ng, Kenji"', sale_id="2"),
            header=header,
        )
    )
    assert len(parsed.sales) == 2
    texts = [t for sale in parsed.sales for t in _strings(sale)] + [repr(s) for s in parsed.sales]
    for name in ("Tan Mei Ling", "Mei Ling", "Ng, Kenji", "Kenji"):
        assert not any(name in t for t in texts)
    assert {s.client_id for s in parsed.sales} == {"100000888"}  # the client id is kept


def test_sale_lines_have_no_attribute_for_a_name_or_notes() -> None:
    names = set(SaleLine._fields) | set(Sale._fields)
    assert not {"client", "client_name", "notes", "sales_notes"} & names


# --- day totals ------------------------------------------------------------------------------------


def test_day_totals_classify_orders_refunds_and_zero_sales() -> None:
    order = DayTotals.of(D("43.6"), D("3.6"), D(0))
    refund = DayTotals.of(D("-43.6"), D("-3.6"), D(0))
    zero = DayTotals.of(D(0), D(0), D(40))
    tiny = DayTotals.of(D("0.001"), D(0), D(0))
    assert (order.order_count, order.order_value, order.refund_count, order.refunds) == (1, D("43.6"), 0, D(0))
    assert (refund.order_count, refund.order_value) == (0, D(0))
    assert (refund.refund_count, refund.refunds) == (1, D("-43.6"))
    assert (zero.order_count, zero.refund_count, zero.sales_count, zero.discounts) == (0, 0, 1, D(40))
    assert (tiny.order_count, tiny.order_value) == (1, D("0.001"))  # > 0 is an order, however small
    assert order.net == D(40) and refund.net == D(-40)
    assert all(t.sales_count == 1 for t in (order, refund, zero))


def test_day_totals_add_subtract_and_negate_exactly() -> None:
    a = DayTotals.of(D("43.6"), D("3.6"), D("4.4"))
    b = DayTotals.of(D("-21.8"), D("-1.8"), D(0))
    c = DayTotals.of(D(0), D(0), D(40))
    day = ZERO_TOTALS + a + b + c
    assert (day.revenue, day.order_count, day.refund_count, day.sales_count) == (D("21.8"), 1, 1, 3)
    assert day - b - c == a
    assert day - a - b - c == ZERO_TOTALS
    assert (day - a - b - c).is_zero()
    minus_a = -a
    assert -minus_a == a
    assert minus_a.revenue == D("-43.6") and minus_a.order_count == -1
    assert a + (-a) == ZERO_TOTALS
    assert (a - a).is_zero()
    assert not a.is_zero() and not c.is_zero()
    # Replacing a sale = subtracting its old contribution and adding the new one.
    replaced = day - a + DayTotals.of(D("50"), D("4"), D(0))
    assert replaced.revenue == D("28.2") and replaced.order_count == 1 and replaced.sales_count == 3


def test_stored_sale_totals_match_day_totals_of() -> None:
    stored = StoredSale("1", MAR_1, "v", "h", D("-5"), D("-0.4"), D(0), "imp", "imp")
    assert stored.totals() == DayTotals.of(D("-5"), D("-0.4"), D(0))
    assert stored.totals().refund_count == 1


# --- content hash ----------------------------------------------------------------------------------


def _hash(*lines: str) -> str:
    (sale,) = read(full_export(*lines)).sales
    return sale.content_hash


def test_content_hash_ignores_trailing_zeros() -> None:
    assert _hash(full(total="34.880", tax="2.880", price="32.00")) == _hash(full(total="34.88", tax="2.88", price="32"))
    assert _hash(full(total='"S$1,034.88"')) == _hash(full(total="1034.88"))


@pytest.mark.parametrize(
    "change",
    [
        {"total": "43.61"},
        {"tax": "3.61"},
        {"price": "41"},
        {"qty": "2"},
        {"subtotal": "41"},
        {"discount": "1"},
        {"day": "3/2/2025"},
        {"item": "Bay hire (peak)"},
        {"pay": "Cash"},
        {"location": "Online Store"},
        {"client_id": "1"},
        {"tax": "---"},
    ],
)
def test_content_hash_changes_when_what_the_sale_says_changes(change: dict[str, str]) -> None:
    assert _hash(full(**change)) != _hash(full())


def test_content_hash_ignores_what_is_not_kept() -> None:
    # Client name, notes and discount % are not part of the stored sale: editing them changes nothing.
    assert _hash(full(client="Someone Else", notes="Paid on 3rd", pct="5")) == _hash(full())


def test_content_hash_does_not_depend_on_line_numbers() -> None:
    early = read(full_export(full(sale_id="5"), full(sale_id="5", item="Water")))
    late = read(
        export(
            "",
            full(sale_id="1", notes='"two\nlines"'),
            full(sale_id="2"),
            full(sale_id="5"),
            full(sale_id="5", item="Water"),
            header=FULL_HEADER,
        )
    )
    a, b = early.sale("5"), late.sale("5")
    assert (a.first_line, b.first_line) == (2, 6)
    assert a.content_hash == b.content_hash


def test_money_is_never_float() -> None:
    parsed = read(full_export(full(), full(discount="---", tax=""), full(sale_id="2", total="0.436")))
    for sale in parsed.sales:
        for money in (sale.total, sale.tax, sale.discounts, sale.net):
            assert type(money) is Decimal
        for ln in sale.lines:
            for value in (ln.quantity, ln.item_price, ln.subtotal, ln.discount_amount, ln.tax, ln.item_total):
                assert value is None or type(value) is Decimal
        totals = DayTotals.of(sale.total, sale.tax, sale.discounts)
        for f in dataclasses.fields(totals):
            assert type(getattr(totals, f.name)) in (Decimal, int)


# --- generated exports against the independent reckoner ---------------------------------------------

SCALE_LINES = 20_000
SEED = 4242


@cache
def _generated(**options: Any) -> tuple[bytes, int, int, Decimal]:
    out = io.BytesIO()
    summary = generate_export(out, lines=SCALE_LINES, seed=SEED, client_names=True, **options)
    return out.getvalue(), summary.lines, summary.sales, summary.revenue


@cache
def _parsed(**options: Any) -> tuple[list[Sale], int, int]:
    data = _generated(**options)[0]
    parsed = read(data)
    return parsed.sales, len(parsed.rejections), parsed.reader.stats.rows_total


def _figures(sales: list[Sale]) -> list[tuple[str, date, int, Decimal, Decimal, Decimal]]:
    return [(s.sale_id, s.sale_date, len(s.lines), s.total, s.tax, s.discounts) for s in sales]


VARIANTS: dict[str, dict[str, Any]] = {
    "utf8-bom-crlf": {"bom": True, "crlf": True},
    "cp1252-aliases": {"encoding": "cp1252", "header_style": "aliases"},
    "messy-lf": {"messy": True, "crlf": False},
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_generated_20000_line_export_parses_clean_and_matches_the_reckoning(variant: str) -> None:
    options = VARIANTS[variant]
    data, lines, sale_count, revenue = _generated(**options)
    if variant == "cp1252-aliases":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # the variant really is Windows-1252 (client names like Zoë)
    sales, rejected, rows_total = _parsed(**options)
    assert rejected == 0
    assert rows_total == lines == SCALE_LINES
    assert len(sales) == sale_count
    assert sum((s.total for s in sales), Decimal(0)) == revenue
    reckoned = [(r.sale_id, r.day, r.lines, r.total, r.tax, r.discounts) for r in read_sales(data)]
    assert _figures(sales) == reckoned


@pytest.mark.parametrize("variant", ["cp1252-aliases", "messy-lf"])
def test_the_same_export_in_another_encoding_and_header_style_gives_the_same_sales(variant: str) -> None:
    base, _, _ = _parsed(**VARIANTS["utf8-bom-crlf"])
    other, _, _ = _parsed(**VARIANTS[variant])
    assert _figures(other) == _figures(base)
    assert [s.content_hash for s in other] == [s.content_hash for s in base]


def test_generated_client_names_reach_no_sale() -> None:
    names = {ln.client for sale in generate_sales(seed=SEED, lines=SCALE_LINES) for ln in sale.lines}
    names.discard("")
    assert len(names) > 20
    sales, _, _ = _parsed(**VARIANTS["utf8-bom-crlf"])
    blob = "\x1f".join({t for sale in sales for t in _strings(sale)})
    leaked = {name for name in names if name in blob}
    assert leaked == set()


_AMOUNTS = st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 3), _AMOUNTS, _AMOUNTS, _AMOUNTS, st.booleans()),
        max_size=40,
    )
)
def test_a_plans_day_sums_are_the_sums_of_each_sales_day_totals(
    contributions: list[tuple[int, Decimal, Decimal, Decimal, bool]],
) -> None:
    # What the planner sums in place must be exactly what adding DayTotals one by one gives:
    # + a sale written, - a stored version leaving its day.
    sums = DaySums()
    expected: dict[date, DayTotals] = {}
    for day_no, total, tax, discounts, leaving in contributions:
        day = date(2025, 3, day_no)
        sums.add(day, total, tax, discounts, negate=leaving)
        totals = DayTotals.of(total, tax, discounts)
        delta = -totals if leaving else totals
        expected[day] = expected[day] + delta if day in expected else delta
    assert sums.totals() == expected
    assert len(sums) == len(expected) and all(day in sums for day in expected)
