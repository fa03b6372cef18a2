"""The sample-export generator (devtools.samplegen) and the independent reckoner (tests.reckoning)."""

from __future__ import annotations

import csv
import gzip
import inspect
import io
import re
import sys
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from itertools import islice
from pathlib import Path

import pytest

from devtools.samplegen import (
    CANONICAL_COLUMNS,
    COMP,
    GenSale,
    first_sale_id_for,
    generate_export,
    generate_sales,
    main,
    write_export,
)
from salesmetrics.parsing import ExportReader, Rejection, iter_byte_lines
from tests.reckoning import cents, reckon

D = Decimal
SCALE_LINES = 20_000
MONEY = (
    "Item price (excluding tax)",
    "Subtotal (excluding tax)",
    "Discount amount",
    "Tax",
    "Item Total",
    "Total Paid w/ Payment Method",
)
# No trailing zeros (`34.88`, `32`, `0.436`), except lesson packages keyed as `340.00`.
_AMOUNT = re.compile(r"-?(\d+|\d+\.\d{0,2}[1-9]|\d+\.\d\d)\Z")


def export(lines: int, seed: int, **options: object) -> bytes:
    out = io.BytesIO()
    generate_export(out, lines=lines, seed=seed, **options)  # type: ignore[arg-type]
    return out.getvalue()


def table(data: bytes, encoding: str = "utf-8") -> tuple[list[str], list[dict[str, str]]]:
    text = data.decode(encoding)
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    header = rows[0]
    return header, [dict(zip(header, row, strict=True)) for row in rows[1:]]


@cache
def big_export() -> bytes:
    return export(SCALE_LINES, seed=2025)


@cache
def big_table() -> tuple[list[str], list[dict[str, str]]]:
    return table(big_export())


def by_sale(rows: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    sales: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        sales.setdefault(row["Sale ID"], []).append(row)
    return sales


def total(lines: list[dict[str, str]]) -> Decimal:
    return sum((D(line["Item Total"]) for line in lines), D(0))


# --- reproducibility and shape ----------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    assert export(3_000, seed=11) == export(3_000, seed=11)
    assert export(3_000, seed=11) != export(3_000, seed=12)


def test_a_longer_export_extends_a_shorter_one() -> None:
    # Overlapping exports (the demo's second upload) rely on this: more lines, same seed, same
    # sales first; only the sale the shorter export cut short grows.
    short = list(generate_sales(seed=21, lines=1_000))
    longer = list(generate_sales(seed=21, lines=1_500))
    assert longer[: len(short) - 1] == short[:-1]
    cut, whole = short[-1], longer[len(short) - 1]
    assert (cut.sale_id, cut.sale_date) == (whole.sale_id, whole.sale_date)
    assert whole.lines[: len(cut.lines)] == cut.lines


# --- Sale IDs: one block per seed, or where asked --------------------------------------------


def _sale_ids(data: bytes) -> set[int]:
    return {int(row["Sale ID"]) for row in table(data)[1]}


def test_files_of_different_seeds_never_share_a_sale_id() -> None:
    # The demo's failure: a second generated file (another seed, another start) dropped next to
    # the sample rewrote thousands of its sales, because every seed numbered from ~3900.
    sample = _sale_ids(export(6_000, seed=7))
    other = _sale_ids(export(6_000, seed=8, start=date(2025, 8, 1)))
    assert len(sample) > 5_000 and len(other) > 5_000
    assert sample.isdisjoint(other)
    seeds = {seed: _sale_ids(export(300, seed=seed)) for seed in range(12)}
    for seed, ids in seeds.items():
        assert all(first_sale_id_for(seed) <= i < first_sale_id_for(seed + 1) for i in ids), seed


def test_first_sale_id_renumbers_and_changes_nothing_else() -> None:
    derived = table(export(2_000, seed=7))[1]
    renumbered = table(export(2_000, seed=7, first_sale_id=5_000))[1]
    assert int(renumbered[0]["Sale ID"]) == 5_000
    offset = int(derived[0]["Sale ID"]) - 5_000
    assert [int(r["Sale ID"]) + offset for r in renumbered] == [int(r["Sale ID"]) for r in derived]
    strip = [{k: v for k, v in r.items() if k != "Sale ID"} for r in derived]
    assert [{k: v for k, v in r.items() if k != "Sale ID"} for r in renumbered] == strip
    # and two files overlap only when asked to
    assert _sale_ids(export(500, seed=3, first_sale_id=5_000)) & _sale_ids(export(500, seed=4, first_sale_id=5_100))


def test_first_sale_id_must_be_positive() -> None:
    with pytest.raises(ValueError, match="first_sale_id"):
        generate_sales(seed=1, lines=10, first_sale_id=0)


def test_cli_takes_first_sale_id(tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    assert main(["--lines", "20", "--seed", "9", "--first-sale-id", "70000", "--out", str(out)]) == 0
    assert min(_sale_ids(out.read_bytes())) == 70_000


@pytest.mark.parametrize("lines", [0, 1, 2, 7, 1_000, 4_321])
def test_exactly_the_requested_number_of_lines(lines: int) -> None:
    out = io.BytesIO()
    summary = generate_export(out, lines=lines, seed=lines)
    header, rows = table(out.getvalue())
    assert header == list(CANONICAL_COLUMNS)
    assert len(rows) == lines == summary.lines
    assert summary.sales == len(by_sale(rows))
    assert summary.bytes_written == len(out.getvalue())


def test_sales_come_in_date_order_with_increasing_ids_and_adjacent_lines() -> None:
    _, rows = big_table()
    runs: list[tuple[str, list[dict[str, str]]]] = []
    for row in rows:
        if runs and runs[-1][0] == row["Sale ID"]:
            runs[-1][1].append(row)
        else:
            runs.append((row["Sale ID"], [row]))
    ids = [int(sale_id) for sale_id, _ in runs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    days = []
    for _, lines in runs:
        assert len({line["Sale Date"] for line in lines}) == 1
        month, day, year = lines[0]["Sale Date"].split("/")
        days.append(date(int(year), int(month), int(day)))
    assert days == sorted(days)
    assert days[0] == date(2025, 3, 1)


def test_the_model_matches_what_is_written() -> None:
    sales = list(generate_sales(seed=5, lines=2_000))
    assert sum(len(s.lines) for s in sales) == 2_000
    out = io.BytesIO()
    write_export(sales, out)
    _, rows = table(out.getvalue())
    assert [r["Sale ID"] for r in rows] == [ln.sale_id for s in sales for ln in s.lines]
    figures = reckon([out.getvalue()])
    assert figures.range(sales[0].sale_date, sales[-1].sale_date).total_revenue == sum((s.total for s in sales), D(0))


# --- the real export's quirks, at scale --------------------------------------------------------


def test_dates_mix_padded_and_unpadded_formats() -> None:
    _, rows = big_table()
    formats = Counter(re.sub(r"\d", "9", row["Sale Date"]) for row in rows)
    assert formats["99/99/9999"] > 0  # 03/01/2025
    assert formats["9/99/9999"] > 0  # 3/13/2025
    assert formats["9/9/9999"] > 0  # 3/1/2025
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", row["Sale Date"]) for row in rows)


def test_refunds_are_sales_of_their_own_with_negative_amounts() -> None:
    _, rows = big_table()
    sales = by_sale(rows)
    refunds = [lines for lines in sales.values() if total(lines) < 0]
    assert 0.005 * len(sales) < len(refunds) < 0.02 * len(sales)
    for lines in refunds:
        for line in lines:
            assert D(line["Quantity"]) < 0
            assert D(line["Subtotal (excluding tax)"]) < 0
            assert D(line["Tax"]) < 0
            assert D(line["Item Total"]) < 0
            assert D(line["Total Paid w/ Payment Method"]) < 0
    assert any(re.fullmatch(r"\d+", line["Batch #"]) for lines in refunds for line in lines)


def test_zero_total_sales_comps_and_empty_payment_methods() -> None:
    _, rows = big_table()
    sales = by_sale(rows)
    zero = [lines for lines in sales.values() if total(lines) == 0]
    assert 0.01 * len(sales) < len(zero) < 0.035 * len(sales)
    comps = [row for row in rows if row["Payment Method"] == COMP]
    assert comps
    for row in comps:
        assert row["Discount %"] == "100"
        assert row["Discount amount"] == row["Subtotal (excluding tax)"] != "0"
        assert row["Item Total"] == row["Tax"] == "0"
    no_payment = [row for row in rows if row["Payment Method"] == ""]
    assert no_payment and all(row["Item Total"] == "0" for row in no_payment)


def test_identical_lines_repeat_within_a_sale() -> None:
    _, rows = big_table()
    repeats = 0
    for lines in by_sale(rows).values():
        seen: set[tuple[str, ...]] = set()
        for line in lines:
            key = tuple(line.values())
            repeats += key in seen
            seen.add(key)
    assert 0.015 * len(rows) < repeats < 0.04 * len(rows)


def test_multi_line_sales() -> None:
    _, rows = big_table()
    sizes = Counter(len(lines) for lines in by_sale(rows).values())
    multi = sum(n for size, n in sizes.items() if size > 1)
    assert 0.10 < multi / sum(sizes.values()) < 0.20
    assert max(sizes) <= 4


def test_text_quirks_trailing_spaces_placeholders_quoted_newlines() -> None:
    data = big_export()
    _, rows = big_table()
    assert any(row["Item name"].endswith(" ") for row in rows)
    assert any("  " in row["Item name"] for row in rows)
    assert all(row["Color"] == row["Size"] == "---" for row in rows)
    assert Counter(row["Batch #"] for row in rows).most_common(1)[0][0] == "---"
    notes = [row["Sales Notes"] for row in rows if row["Sales Notes"]]
    assert any("\n" in n for n in notes)
    assert any("," in n for n in notes)
    assert any('"' in n for n in notes)
    assert b'""' in data  # a quote inside a quoted field is doubled
    # Quoted newlines make more physical lines than records.
    assert data.count(b"\r\n") == len(rows) + 1
    assert data.count(b"\n") > len(rows) + 1


def test_money_is_exact_three_decimals_and_adds_up() -> None:
    _, rows = big_table()
    for row in rows:
        for column in MONEY:
            assert _AMOUNT.match(row[column]), (column, row[column])
        price, qty = D(row["Item price (excluding tax)"]), D(row["Quantity"])
        subtotal, discount = D(row["Subtotal (excluding tax)"]), D(row["Discount amount"])
        tax, item_total = D(row["Tax"]), D(row["Item Total"])
        assert subtotal == price * qty
        assert item_total == subtotal - discount + tax
        if row["Payment Method"] not in (COMP, ""):
            assert tax == ((subtotal - discount) * D("0.09")).quantize(D("0.001"), ROUND_HALF_UP)
    water = [
        row
        for row in rows
        if row["Item name"].strip() == "Mineral Water" and row["Quantity"] == "1" and row["Discount amount"] == "0"
    ]
    assert {(r["Item price (excluding tax)"], r["Tax"], r["Item Total"]) for r in water} == {("0.4", "0.036", "0.436")}
    assert any(row["Item Total"] == "34.88" for row in rows)
    assert any(row["Item price (excluding tax)"] == "32" for row in rows)
    assert any(re.fullmatch(r"\d+\.\d0", row["Item Total"]) for row in rows)  # `370.60`: packages
    discounted = [row for row in rows if row["Discount amount"] != "0" and row["Payment Method"] != COMP]
    assert 0.05 * len(rows) < len(discounted) < 0.16 * len(rows)


def test_total_paid_rarely_differs_from_item_total() -> None:
    _, rows = big_table()
    differ = [row for row in rows if row["Total Paid w/ Payment Method"] != row["Item Total"]]
    assert 1 <= len(differ) <= 0.003 * len(rows)


def test_clients_locations_items() -> None:
    _, rows = big_table()
    clients = Counter(row["Client ID"] for row in rows)
    assert all(re.fullmatch(r"1|1\d{8}", client) for client in clients)
    members = [n for client, n in clients.items() if client != "1"]
    assert max(members) > 100  # a house account
    assert sum(n > 1 for n in members) > 0.2 * len(members)  # regulars come back
    assert {row["Location"] for row in rows} == {"Golf - experience", "Online Store"}
    assert 35 <= len({row["Item name"].strip() for row in rows}) <= 60


# --- writer options ---------------------------------------------------------------------------


def test_bom_crlf_and_lf() -> None:
    plain = export(500, seed=3)
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert plain.count(b"\r") == plain.count(b"\r\n") > 0
    with_bom = export(500, seed=3, bom=True)
    assert with_bom == b"\xef\xbb\xbf" + plain
    lf = export(500, seed=3, crlf=False)
    assert b"\r" not in lf
    assert lf == plain.replace(b"\r\n", b"\n")


def test_cp1252_encoding() -> None:
    utf8 = export(5_000, seed=4, client_names=True)
    cp1252 = export(5_000, seed=4, client_names=True, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        cp1252.decode("utf-8")
    assert cp1252.decode("cp1252") == utf8.decode("utf-8")


def test_client_names_column() -> None:
    header, rows = table(export(5_000, seed=6, client_names=True))
    assert header[:4] == ["Sale Date", "Client ID", "Client", "Sale ID"]
    names: dict[str, set[str]] = {}
    for row in rows:
        assert row["Client"].strip()
        names.setdefault(row["Client ID"], set()).add(row["Client"])
    assert all(len(n) == 1 for n in names.values())
    assert len({n for ns in names.values() for n in ns}) > 50
    assert any(not name.isascii() for ns in names.values() for name in ns)
    header, _ = table(export(10, seed=6))
    assert "Client" not in header


def test_alias_headers_column_order_and_messy_values_reckon_the_same() -> None:
    plain = export(6_000, seed=8)
    expected = reckon([plain])
    start, end = expected.first_day(), expected.last_day()

    aliases = export(6_000, seed=8, header_style="aliases")
    header = next(csv.reader(io.StringIO(aliases.decode())))
    assert "Item price" in header and "Subtotal" in header and "" in header
    assert any(name != name.strip() for name in header)
    assert "Register" in header  # a column no reader knows

    order = list(reversed(CANONICAL_COLUMNS))
    reordered = export(6_000, seed=8, column_order=order)
    assert next(csv.reader(io.StringIO(reordered.decode()))) == order

    messy = export(6_000, seed=8, messy=True)
    text = messy.decode()
    assert "S$" in text and ",$" in text
    assert re.search(r"\n2025-\d\d-\d\d,", text)  # ISO dates
    assert re.search(r'"\d,\d{3}(\.\d+)?"', text)  # thousands separators, quoted by csv

    for variant in (aliases, reordered, messy):
        assert reckon([variant]).range(start, end) == expected.range(start, end)
        assert reckon([variant]).daily(start, end) == expected.daily(start, end)


def test_gzip_unicode_text_and_semicolon_hold_the_same_cells() -> None:
    plain = export(3_000, seed=9, client_names=True, messy=True)
    _, rows = table(plain)
    packed = export(3_000, seed=9, client_names=True, messy=True, gzipped=True)
    assert packed[:2] == b"\x1f\x8b" and gzip.decompress(packed) == plain
    assert packed == export(3_000, seed=9, client_names=True, messy=True, gzipped=True)  # no time inside

    unicode_text = export(3_000, seed=9, client_names=True, messy=True, dialect="unicode-text")
    assert unicode_text.startswith(b"\xff\xfe")
    text = unicode_text[2:].decode("utf-16-le")
    assert text.count("\r") == text.count("\r\n") > 3_000
    header = list(CANONICAL_COLUMNS)
    header.insert(2, "Client")
    assert [
        dict(zip(header, r, strict=True)) for r in list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))[1:]
    ] == rows

    semicolon = export(3_000, seed=9, client_names=True, messy=True, dialect="semicolon")
    euro = list(csv.reader(io.StringIO(semicolon.decode(), newline=""), delimiter=";"))
    assert euro[0] == header
    swap = str.maketrans(",.", ".,")
    money = (
        "Item price (excluding tax)",
        "Quantity",
        "Subtotal (excluding tax)",
        "Discount %",
        "Discount amount",
        "Tax",
        "Item Total",
        "Total Paid w/ Payment Method",
    )
    seen = Counter[str]()
    for row, cells in zip(rows, euro[1:], strict=True):
        got = dict(zip(header, cells, strict=True))
        for name in money:
            assert got[name].replace(" ", ".") == row[name].translate(swap), (name, got[name], row[name])
            seen.update(
                kind
                for kind, pattern in (("comma", r"\d,\d"), ("dot", r"\d\.\d{3}"), ("space", r"\d \d{3}"))
                if re.search(pattern, got[name])
            )
        assert got["Sale ID"].replace(" ", "").replace(".", "") == row["Sale ID"].replace(",", "")
        assert {k: v for k, v in got.items() if k not in (*money, "Sale ID")} == {
            k: v for k, v in row.items() if k not in (*money, "Sale ID")
        }
    assert min(seen["comma"], seen["dot"], seen["space"]) > 0


def test_column_subset_and_bad_options() -> None:
    header, rows = table(export(20, seed=1, column_order=["Sale ID", "Sale Date", "Item Total"]))
    assert header == ["Sale ID", "Sale Date", "Item Total"]
    assert len(rows) == 20
    with pytest.raises(ValueError, match="unknown column"):
        export(5, seed=1, column_order=["Sale ID", "Nope"])
    with pytest.raises(ValueError, match="UTF-8"):
        export(5, seed=1, bom=True, encoding="cp1252")
    with pytest.raises(ValueError, match="Unicode text"):
        export(5, seed=1, bom=True, dialect="unicode-text")
    with pytest.raises(ValueError, match="unknown dialect"):
        export(5, seed=1, dialect="tsv")
    with pytest.raises(ValueError):
        generate_sales(seed=1, lines=-1)


def test_the_product_parser_reads_every_line() -> None:
    # A cross-check of the generator against the product's reader, not a test of the product.
    for options in (
        {},
        {"messy": True},
        {"header_style": "aliases", "client_names": True},
        {"encoding": "cp1252", "crlf": False, "client_names": True},
        {"bom": True},
    ):
        data = export(4_000, seed=9, **options)
        items = list(ExportReader(iter_byte_lines(io.BytesIO(data))))
        assert not [item for item in items if isinstance(item, Rejection)], options
        oracle = reckon([data])
        assert sum((item.total for item in items if not isinstance(item, Rejection)), D(0)) == sum(
            (s.total for s in oracle.sales.values()), D(0)
        )


# --- streaming ---------------------------------------------------------------------------------


class _Sink:
    def __init__(self, limit: int | None = None) -> None:
        self.count = 0
        self.limit = limit

    def write(self, data: bytes, /) -> int:
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise _Full
        return len(data)


class _Full(Exception):
    pass


def test_generation_is_lazy() -> None:
    sales = generate_sales(seed=1, lines=10**12)
    first: list[GenSale] = list(islice(sales, 3))
    assert inspect.isgenerator(sales)
    assert [int(s.sale_id) for s in first] == sorted(int(s.sale_id) for s in first)


def test_writing_streams_as_it_generates() -> None:
    def endless() -> Iterator[GenSale]:
        yield from generate_sales(seed=1, lines=10**12)

    sink = _Sink(limit=1_000_000)
    with pytest.raises(_Full):
        write_export(endless(), sink)


class _BlockSampler:
    """A sink that notes how many memory blocks Python holds each time a chunk is written."""

    def __init__(self) -> None:
        self.peak = 0

    def write(self, data: bytes, /) -> int:
        self.peak = max(self.peak, sys.getallocatedblocks())
        return len(data)


def test_writing_200k_lines_holds_no_list_of_them() -> None:
    # Cheap enough for every run: a materialised list of 200,000 lines shows up as ~900,000 blocks
    # at the first write; streaming stays in the low tens of thousands (the bounded caches).
    generate_export(_BlockSampler(), lines=1_000, seed=1)
    sampler = _BlockSampler()
    baseline = sys.getallocatedblocks()
    summary = generate_export(sampler, lines=200_000, seed=1)
    assert summary.lines == 200_000
    assert sampler.peak - baseline < 100_000, sampler.peak - baseline


@pytest.mark.slow
def test_writing_200k_lines_keeps_memory_flat() -> None:
    generate_export(_Sink(), lines=1_000, seed=1)  # warm caches and imports outside the measurement
    tracemalloc.start()
    try:
        summary = generate_export(_Sink(), lines=200_000, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.lines == 200_000
    # A list of 200,000 lines alone would take ~75 MB.
    assert peak < 8 * 1024 * 1024, peak


# --- CLI -----------------------------------------------------------------------------------------


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sales.csv"
    assert main(["--lines", "300", "--seed", "5", "--out", str(out), "--start", "2024-12-30"]) == 0
    assert "300 lines" in capsys.readouterr().err
    data = out.read_bytes()
    assert data == export(300, seed=5, start=date(2024, 12, 30))
    _, rows = table(data)
    assert rows[0]["Sale Date"] == "12/30/2024" and len(rows) == 300

    out2 = tmp_path / "other.csv"
    main(["--lines", "300", "--seed", "5", "--out", str(out2), "--lf", "--client-names", "--cp1252"])
    assert out2.read_bytes() == export(300, seed=5, crlf=False, client_names=True, encoding="cp1252")
    main(["--lines", "300", "--seed", "5", "--out", str(out2), "--bom"])
    assert out2.read_bytes().startswith(b"\xef\xbb\xbf")
    for flags, options in (
        (["--gzip"], {"gzipped": True}),
        (["--unicode-text"], {"dialect": "unicode-text"}),
        (["--semicolon", "--gzip"], {"dialect": "semicolon", "gzipped": True}),
    ):
        main(["--lines", "300", "--seed", "5", "--out", str(out2), *flags])
        assert out2.read_bytes() == export(300, seed=5, **options)
    with pytest.raises(SystemExit):
        main(["--lines", "3", "--seed", "5", "--out", str(out2), "--unicode-text", "--semicolon"])


# --- the reckoner on hand-computed figures -----------------------------------------------------

_HEADER = ",".join(CANONICAL_COLUMNS)
_FIRST = (
    "\r\n".join(
        [
            _HEADER,
            # 1001: one plain line.
            "03/01/2025,100000001,1001,10 Practice Credits,---,,Golf - experience,,---,---,32,1,32,0,0,2.88,34.88,"
            "34.88,Credit card (Visa/MC-Keyed)",
            # 1002: two identical lines, both count.
            "03/01/2025,1,1002,Mineral Water ,---,,Golf - experience,,---,---,0.4,1,0.4,0,0,0.036,0.436,0.436,"
            "Credit card (Visa/MC-Keyed)",
            "03/01/2025,1,1002,Mineral Water ,---,,Golf - experience,,---,---,0.4,1,0.4,0,0,0.036,0.436,0.436,"
            "Credit card (Visa/MC-Keyed)",
            # 1003: 10% discount; unpadded date of the same day.
            "3/1/2025,100000002,1003,Trial Lesson,---,,Online Store,,---,---,22,1,22,10,2.2,1.782,21.582,21.582,"
            "Credit card (AMEX-Keyed)",
            # 1004: a comp, zero total: neither order nor refund, but its discount counts.
            "03/02/2025,100000003,1004,30 Mins Practice Credit,---,,Golf - experience,,---,---,4.36,1,4.36,100,4.36,"
            "0,0,0,Misc. (Comp/Guest)",
            # 1005: a refund.
            "03/02/2025,100000001,1005,10 Practice Credits,1,,Golf - experience,,---,---,32,-1,-32,0,0,-2.88,-34.88,"
            "-34.88,Credit card (Visa/MC-Keyed)",
            # 1006: two lines (corrected by the second file).
            "03/02/2025,100000004,1006,60 Mins Practise,---,,Golf - experience,,---,---,8,1,8,0,0,0.72,8.72,8.72,"
            "Credit card (Visa/MC-Keyed)",
            "03/02/2025,100000004,1006,Club set rental,---,,Golf - experience,,---,---,2,1,2,0,0,0.18,2.18,2.18,"
            "Credit card (Visa/MC-Keyed)",
            # 1007: a quoted note with a comma and a newline.
            '03/03/2025,100000005,1007,1 month storage,---,"Paid in cash, see\nfront desk",Golf - experience,,---,'
            "---,6,2,12,0,0,1.08,13.08,13.08,Misc. (Paynow/Bank Transfer)",
        ]
    )
    + "\r\n"
)
# The corrected export: alias headers in another order, LF, a BOM; 1006 lost its rental line and
# a new sale 1008 appeared. 1001-1005 and 1007 are not mentioned and stay as they were.
_SECOND = (
    "\ufeff"
    + "\n".join(
        [
            " sale id ,SALE DATE,Item name,Subtotal,Tax,Discount Amount,ITEM TOTAL,Item price,Quantity",
            "1006,03/02/2025,60 Mins Practise,8,0.72,0,8.72,8,1",
            "1008,3/3/2025,25 Practice Credits,75,6.75,0,81.75,75,1",
        ]
    )
    + "\n"
)


def test_reckoner_on_hand_computed_figures() -> None:
    first, second = _FIRST.encode(), _SECOND.encode()
    both = reckon([first, second])
    r = both.range(date(2025, 3, 1), date(2025, 3, 3))
    assert r.total_revenue == D("126.004")
    assert r.tax == D("10.404")
    assert r.net_revenue == D("115.600")
    assert r.discounts == D("6.56")
    assert r.order_count == 6
    assert r.order_value == D("160.884")
    assert r.average_order_value == D("26.814")
    assert r.refund_count == 1
    assert r.refunds == D("-34.88")
    assert r.sales_count == 8

    days = both.daily(date(2025, 3, 1), date(2025, 3, 4))
    assert [(d.day.day, d.revenue, d.order_count) for d in days] == [
        (1, D("57.334"), 3),
        (2, D("-26.16"), 1),
        (3, D("94.83"), 2),
        (4, D(0), 0),
    ]
    assert cents(days[0].average_order_value) == D("19.11")  # 57.334 / 3
    assert days[1].average_order_value == D("8.72")  # the refund and the comp are not orders
    assert cents(days[2].average_order_value) == D("47.42")  # 47.415 rounds half-up
    assert days[3].average_order_value == 0

    # Without the correction: 1006 still has its rental line, 1008 does not exist.
    only_first = reckon([first]).range(date(2025, 3, 1), date(2025, 3, 3))
    assert only_first.total_revenue == D("46.434")
    assert only_first.order_count == 5
    # Applying a file again changes nothing; the older file applied last wins back 1006.
    assert reckon([first, first, second, second]).range(date(2025, 3, 1), date(2025, 3, 3)) == r
    assert reckon([second, first]).sales["1006"].total == D("10.90")
    assert reckon([second, first]).sales["1008"].total == D("81.75")


def test_reckoner_merges_every_run_of_a_sale_in_one_file_and_amount_formats() -> None:
    data = "\n".join(
        [
            "Sale Date,Sale ID,Item Total,Tax,Discount amount",
            '3/5/2025,"1,288",S$1.09,0.09,---',
            "3/5/2025,77,5,0,",
            '2025-03-05,1288,"$1,090.00",90,0',
            "3/5/2025,78,-S$2.18,-0.18,0",
        ]
    ).encode()
    rk = reckon([data])
    # All lines of a Sale ID in a file are that sale, wherever they stand (same date either way).
    assert (rk.sales["1288"].total, rk.sales["1288"].lines) == (D("1091.09"), 2)
    r = rk.range(date(2025, 3, 5), date(2025, 3, 5))
    assert (r.total_revenue, r.tax, r.order_count, r.refund_count, r.refunds) == (
        D("1093.91"),
        D("89.91"),
        2,
        1,
        D("-2.18"),
    )
