"""Seeded, reproducible sales exports of the MindBody shape: any size, streamed, with the real quirks.

The real sample export may not be copied, shipped or depended on (see the data README), so tests,
the demo and the benchmarks use exports written here. They have the real export's columns and its
quirks at similar frequencies: mixed `3/13/2025` / `03/01/2025` dates, 9% GST giving 3-decimal
money, discounts, 100%-discount comps, refund sales, zero-total sales, two identical lines in one
sale, stray spaces in item names, `---` placeholders, quoted notes with commas, quotes and
newlines, empty payment methods, a rare `Total Paid` that differs from `Item Total`.

Two layers: `generate_sales` is the model (a lazy stream of `GenSale`, every cell already the
string that will be written) and `write_export` turns a stream of sales into CSV bytes with a
chosen encoding, line ending, header style and column order. Nothing is held but the sale being
written, so a 1,000,000-line export is written with flat memory.

    python -m devtools.samplegen --lines 100000 --seed 7 --out /tmp/sales.csv

The same sales can also be written as people save them elsewhere: gzip-compressed (`--gzip`), as
Excel "Unicode text" (`--unicode-text`: UTF-16 LE with a byte order mark, tab-delimited) or as a
European semicolon file with decimal commas (`--semicolon`: `1.362,50`; dates stay as the export
writes them).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import gzip
import io
import random
import sys
import time
import zlib
from bisect import bisect
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import accumulate
from operator import attrgetter
from pathlib import Path
from typing import Literal, Protocol

TAX_RATE = Decimal("0.09")  # Singapore GST as the real export applies it, per line
DEFAULT_START = date(2025, 3, 1)
DEFAULT_SALES_PER_DAY = 30
# Each seed numbers its sales in a block of its own: seed s starts just above (|s| + 1) * block.
# A sale takes one or two IDs (voided sales leave gaps), so files of different seeds never share
# a Sale ID while each has fewer than ~5,000,000 lines. (Seeds s and -s draw the same file.)
SALE_ID_BLOCK = 10_000_000

_MILLI = Decimal("0.001")
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)

STUDIO = "Golf - experience"
ONLINE_STORE = "Online Store"
COMP = "Misc. (Comp/Guest)"
WALK_IN_CLIENT = "1"  # the real export books counter sales (mostly drinks) to client 1
HOUSE_CLIENT = "100000888"  # one account books a large share of simulator bays and rentals

CANONICAL_COLUMNS: tuple[str, ...] = (
    "Sale Date",
    "Client ID",
    "Sale ID",
    "Item name",
    "Batch #",
    "Sales Notes",
    "Location",
    "Notes",
    "Color",
    "Size",
    "Item price (excluding tax)",
    "Quantity",
    "Subtotal (excluding tax)",
    "Discount %",
    "Discount amount",
    "Tax",
    "Item Total",
    "Total Paid w/ Payment Method",
    "Payment Method",
)
CLIENT_COLUMN = "Client"
REQUIRED_COLUMNS: tuple[str, ...] = ("Sale Date", "Sale ID", "Item Total")

_ATTRIBUTE: dict[str, str] = {
    "Sale Date": "sale_date",
    "Client ID": "client_id",
    CLIENT_COLUMN: "client",
    "Sale ID": "sale_id",
    "Item name": "item_name",
    "Batch #": "batch",
    "Sales Notes": "sales_notes",
    "Location": "location",
    "Notes": "notes",
    "Color": "color",
    "Size": "size",
    "Item price (excluding tax)": "item_price",
    "Quantity": "quantity",
    "Subtotal (excluding tax)": "subtotal",
    "Discount %": "discount_percent",
    "Discount amount": "discount_amount",
    "Tax": "tax",
    "Item Total": "item_total",
    "Total Paid w/ Payment Method": "total_paid",
    "Payment Method": "payment_method",
}

# What other exports (and hand-edited files) call the same columns: the short aliases
# docs/contract.md names, other case, stray surrounding spaces. Every one must still map to its column.
_ALIAS_HEADER: dict[str, str] = {
    "Sale Date": " sale date",
    "Client ID": "CLIENT ID",
    CLIENT_COLUMN: "client ",
    "Sale ID": "Sale Id ",
    "Item name": "ITEM NAME",
    "Batch #": "batch #",
    "Sales Notes": "sales notes",
    "Location": " Location ",
    "Notes": "NOTES",
    "Color": "color",
    "Size": "size",
    "Item price (excluding tax)": "Item price",
    "Quantity": " quantity",
    "Subtotal (excluding tax)": "Subtotal",
    "Discount %": "DISCOUNT %",
    "Discount amount": "Discount Amount ",
    "Tax": "tax",
    "Item Total": "ITEM TOTAL",
    "Total Paid w/ Payment Method": "Total paid w/ payment method",
    "Payment Method": "payment method ",
}
UNKNOWN_COLUMN = "Register"  # an alias-style header gets one column no reader knows ...
UNKNOWN_VALUE = "POS 1"
# ... and a trailing column with an empty header (a stray comma at the end of every row).

_MONEY_ATTRS = ("item_price", "subtotal", "discount_amount", "tax", "item_total", "total_paid")

HeaderStyle = Literal["canonical", "aliases"]
# comma: the export as the booking system writes it; unicode-text: Excel's "Unicode text" (UTF-16 LE
# with a BOM, tab-delimited); semicolon: a European CSV (`;`, decimal commas, `.` thousands).
ExportDialect = Literal["comma", "unicode-text", "semicolon"]
SaleKind = Literal["sale", "refund", "comp", "transfer"]


@dataclass(frozen=True, slots=True)
class GenLine:
    """One line item, every cell exactly the string that will be written."""

    sale_date: str
    client_id: str
    sale_id: str
    item_name: str
    item_price: str
    quantity: str
    subtotal: str
    discount_percent: str
    discount_amount: str
    tax: str
    item_total: str
    total_paid: str
    payment_method: str
    location: str
    client: str = ""
    batch: str = "---"
    sales_notes: str = ""
    notes: str = ""
    color: str = "---"
    size: str = "---"


@dataclass(frozen=True, slots=True)
class GenSale:
    """One sale: its consecutive lines, all on one date."""

    sale_id: str
    sale_date: date
    lines: tuple[GenLine, ...]
    kind: SaleKind = "sale"

    @property
    def total(self) -> Decimal:
        return sum((_decimal(line.item_total) for line in self.lines), _ZERO)


@dataclass(frozen=True, slots=True)
class ExportSummary:
    lines: int
    sales: int
    first_date: date | None
    last_date: date | None
    refund_sales: int
    zero_total_sales: int
    revenue: Decimal
    bytes_written: int


# ---------------------------------------------------------------------------------------------
# The catalogue. Names, prices and weights follow the real export's shape; coach names are
# invented. Weights are selection odds (floats are fine there), prices are Decimal.


@dataclass(frozen=True, slots=True)
class _Item:
    name: str
    price: Decimal
    weight: float
    kind: str
    # Other spellings the till uses for the same item, each with its odds (stray trailing spaces).
    spellings: tuple[tuple[str, float], ...] = ()
    # Lesson packages are keyed in as `340.00`: the export keeps two decimals on those amounts.
    fixed2: bool = False
    online: float = 0.005
    discount: float = 0.06


def _item(
    name: str,
    price: str,
    weight: float,
    kind: str,
    *,
    spellings: tuple[tuple[str, float], ...] = (),
    fixed2: bool = False,
    online: float = 0.005,
    discount: float = 0.06,
) -> _Item:
    return _Item(name, Decimal(price), weight, kind, spellings, fixed2, online, discount)


CATALOGUE: tuple[_Item, ...] = (
    _item("10 Practice Credits", "32", 280, "practice", discount=0.13),
    _item("30 Mins Practice Credit", "4", 230, "practice", discount=0.01),
    _item("60 Mins Practise", "8", 110, "practice", discount=0.01),
    _item("25 Practice Credits", "75", 77, "practice", discount=0.3),
    _item("50 Practice Credits", "140", 13, "practice", discount=0.4),
    _item("100 Practice Credits", "260", 8, "practice", fixed2=True, discount=0.2),
    _item("90 Mins practice", "12", 7, "practice"),
    _item("30 Min Practice Voucher", "4", 2, "practice"),
    _item("Golfzon 9 Holes - 1 Pax", "14", 10, "bay"),
    _item("Golfzon 9 Holes - 2 Pax", "16", 55, "bay"),
    _item("Golfzon 9 Holes - 3 Pax", "24", 12, "bay"),
    _item("Golfzon 9 Holes - 4 Pax", "32", 11, "bay"),
    _item("Golfzon 18 Holes - 1 Pax", "20", 9, "bay"),
    _item("Golfzon 18 Holes - 2 Pax", "24", 45, "bay"),
    _item("Golfzon 18 Holes - 3 Pax", "36", 14, "bay"),
    _item("Golfzon 18 Holes - 4 Pax", "48", 5, "bay"),
    _item("1 Club Rental", "0.6", 54, "rental", discount=0.0),
    _item("Club set rental", "2", 38, "rental", discount=0.0),
    _item("1 month storage", "6", 46, "storage", discount=0.0),
    _item("1 Week Storage", "2", 2, "storage", discount=0.0),
    _item("Mineral Water", "0.4", 166, "drink", spellings=(("Mineral Water ", 0.16),)),
    _item("Coke Zero", "0.6", 46, "drink"),
    _item("100+", "0.6", 27, "drink"),
    _item("Sparkling Water", "0.6", 13, "drink"),
    _item("Nescafe", "0.6", 15, "drink"),
    _item("Americano", "0.5", 11, "drink"),
    _item("Coke", "0.6", 7, "drink"),
    _item("Sprite", "0.6", 6, "drink"),
    _item("Flat White", "0.6", 4, "drink"),
    _item("Cafe Latte", "0.6", 3, "drink"),
    _item("Trial Lesson W/ Alex Tan", "22", 31, "lesson", online=0.5, discount=0.35),
    _item("Trial Lesson W/ Ben L", "22", 26, "lesson", online=0.6, discount=0.1),
    _item("Trial Lesson W/ Chris Ong", "22", 16, "lesson", online=0.5, discount=0.3),
    _item("Trial Lesson W/ Dana Koh", "22", 14, "lesson", online=0.5),
    _item("Trial Lesson w/ Eli ", "22", 12, "lesson", online=0.6, spellings=(("Trial Lesson w/ Eli", 0.25),)),
    _item("Trial Lesson W/ Faye Ng", "22", 11, "lesson", online=0.5),
    _item("Trial Lesson W/ Gus Teo", "22", 10, "lesson", online=0.4),
    _item("30 Mins 1:1 Lesson W/ Eli", "22", 7, "lesson", online=0.3),
    _item("60 Mins 1:1 Lesson W/ Hana Yeo.", "44", 1, "lesson"),
    _item("10 Lesson Pack (Alex Tan)", "180", 19, "pack", online=0.2),
    _item("10 Lesson Pack  (Ben Lim)", "180", 16, "pack", online=0.2),
    _item("10 Lesson Pack (Chris Ong.)", "180", 15, "pack", online=0.2),
    _item("10 Lesson Pack (Dana Koh)", "180", 12, "pack", online=0.1),
    _item("10 Lesson Pack ( Faye Ng)", "180", 7, "pack", online=0.1),
    _item("20 Lesson Pack (Chris Ong.)", "340", 5, "pack", fixed2=True, online=0.2),
    _item("20 Lesson Pack  (Dana Koh)", "340", 4, "pack", fixed2=True, online=0.2),
    _item("50 Lesson Pack  (Alex Tan)", "800", 2, "pack", fixed2=True),
    _item("5 Semi Private (1:2 Lesson) w/ Gus Teo", "252", 3, "pack", fixed2=True, online=0.3),
    _item("10 Semi Private (1:2 Lesson)  w/ Eli Goh", "476", 2, "pack", fixed2=True),
    _item("5 Weeks Junior Program", "90", 12, "lesson", discount=0.25),
    _item("Junior Group Class", "40", 10, "lesson"),
    _item("Group Trial Chris", "36", 5, "lesson", discount=0.3),
    # Rare, but it is what puts four-digit amounts (`1362.50`) into an export.
    _item("Corporate Golf Day (per bay)", "1250", 1.5, "event", fixed2=True),
)
_CATALOGUE_CUM = tuple(accumulate(item.weight for item in CATALOGUE))
_COMPABLE = tuple(item for item in CATALOGUE if item.kind in ("practice", "lesson", "pack"))
_COMPABLE_CUM = tuple(accumulate(item.weight for item in _COMPABLE))
_PACKS = tuple(item for item in CATALOGUE if item.kind == "pack")

_BOUGHT_IN_MULTIPLES = frozenset({"drink", "storage", "rental"})
_SALE_SIZES = (1, 2, 3, 4)
_SALE_SIZE_CUM = tuple(accumulate((0.845, 0.139, 0.014, 0.002)))
_PAYMENTS = (
    "Credit card (Visa/MC-Keyed)",
    "Credit card (AMEX-Keyed)",
    "Misc. (Paynow/Bank Transfer)",
    "Misc. (Account)",
    "Misc. (HitPay)",
)
_PAYMENT_CUM = tuple(accumulate((0.843, 0.09, 0.064, 0.002, 0.001)))
_PERCENTS = tuple(Decimal(p) for p in ("10", "2", "20", "3", "5", "50"))
_PERCENT_CUM = tuple(accumulate((0.55, 0.15, 0.1, 0.1, 0.05, 0.05)))
_FIXED_DISCOUNTS = (Decimal(5), Decimal(10), Decimal(11))

# Free text as front desks type it: commas, quotes, an embedded newline, a non-ASCII character,
# a trailing space. All of it is Windows-1252 encodable so a `--cp1252` export can be written.
_SALES_NOTES = (
    "Weekday promo",
    "New coach promo, 10% off",
    "Used 30 min practice voucher",
    'Customer said "see you next week"',
    "Paid by bank transfer on 2 Mar, ref 5531",
    "Switch coach once schedule is known\nCall back on Monday",
    "Package moved over from the old system",
    "Sign-up gift – voucher GV-0042",
    "Paid at the café counter",
    'Voucher "SPRING" applied,\nsee front desk log',
    "Discount agreed by manager ",
    "Will miss 1 class, 20% discount given",
)
_COMP_NOTES = (
    "Used 30 min practice voucher",
    "Redeemed 2x 30 min practice vouchers",
    "Complimentary from coach",
    "FOC, keyed into the wrong account",
)
_TRANSFER_NOTES = ("Transfer from another coach", "Coach away, package moved", "")
_NOTES = ("Payment made on 3rd", "Ref 8841207", "Balance paid on 5/4")

_FIRST_NAMES = (
    "Wei Ling",
    "Jun Jie",
    "Hui Min",
    "Zoë",
    "José",
    "Renée",
    "Chloé",
    "Søren",
    "Priya",
    "Arjun",
    "Siti",
    "Ahmad",
    "Mei",
    "Daniel",
    "Rachel",
    "Kenji",
    "Min-jun",
    "Ji-woo",
    "Nur",
    "Aisyah",
    "Marcus",
    "Gabriel",
    "Hannah",
    "Björn",
    "Chen",
)
_LAST_NAMES = (
    "Tan",
    "Lim",
    "Lee",
    "Ng",
    "Ong",
    "Wong",
    "Goh",
    "Chua",
    "Koh",
    "Teo",
    "Kumar",
    "Rahman",
    "Müller",
    "O'Brien",
    "Núñez",
    "Park",
    "Kim",
    "Nguyen",
    "Fernández",
    "Smith",
    "Yeo",
    "Sim",
)

# Frequencies, per sale unless said otherwise (measured on the real export).
_P_REFUND = 0.01
_P_COMP = 0.0095
_P_TRANSFER = 0.005  # a pair of zero-total sales: a package handed back, another given
_P_REFUND_TWO_LINES = 0.15
_P_REPEAT = 0.09  # per extra line of a sale: the same item again, an identical line
_P_SALES_NOTE = 0.02
_P_NOTES = 0.004
_P_PAID_DIFFERS = 1 / 1500  # per line
_P_UNPADDED_EARLY_DAY = 0.15


# Exports repeat a few hundred amounts millions of times.
_decimal = lru_cache(maxsize=4096)(Decimal)


def _pick[T](rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    index = bisect(cum, rng.random() * cum[-1])
    return items[min(index, len(items) - 1)]


def format_amount(value: Decimal) -> str:
    """`34.88`, `32`, `0.436`, `-196.2`: the real export writes no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _format_fixed2(value: Decimal) -> str:
    """`340.00`, `370.60`; a third decimal is kept (`358.615`)."""
    if value == value.quantize(_CENT):
        return format(value.quantize(_CENT), "f")
    return format_amount(value)


type _Discount = tuple[str, Decimal] | None


@lru_cache(maxsize=8192)
def _amounts(price: Decimal, quantity: int, discount: _Discount, fixed2: bool) -> tuple[str, ...]:
    """Price, quantity, subtotal, discount %, discount amount, tax, item total of one line.

    A negative quantity (a refund) negates every amount exactly: half-up rounding is symmetric.
    """
    subtotal = price * quantity
    sign = -1 if quantity < 0 else 1
    if discount is None:
        percent = amount = _ZERO
    elif discount[0] == "percent":
        percent = discount[1] * sign
        amount = (subtotal * discount[1] / _HUNDRED).quantize(_MILLI, ROUND_HALF_UP)
    else:
        amount = discount[1] * sign
        percent = (discount[1] * _HUNDRED / abs(subtotal)).quantize(_MILLI, ROUND_HALF_UP) * sign
    net = subtotal - amount
    tax = (net * TAX_RATE).quantize(_MILLI, ROUND_HALF_UP)
    total = net + tax
    big = _format_fixed2 if fixed2 else format_amount
    return (
        big(price),
        str(quantity),
        big(subtotal),
        format_amount(percent),
        format_amount(amount),
        format_amount(tax),
        big(total),
    )


@lru_cache(maxsize=4096)
def client_name(client_id: str) -> str:
    """A made-up person's name, always the same for one client."""
    h = zlib.crc32(client_id.encode())
    return f"{_FIRST_NAMES[h % len(_FIRST_NAMES)]} {_LAST_NAMES[(h // 97) % len(_LAST_NAMES)]}"


def date_text(day: date, unpadded: bool) -> str:
    """The real export's two formats: spreadsheet-rewritten `03/01/2025` for days 1-12 (they look
    like dates either way round), `3/13/2025` as the till wrote it otherwise. Some early days keep
    the till's `3/1/2025`.
    """
    if day.day >= 13 or unpadded:
        return f"{day.month}/{day.day}/{day.year}"
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


@dataclass(slots=True)
class _SaleContext:
    sale_id: str
    date_text: str
    client_id: str
    location: str
    payment: str


class _Shop:
    """The generator's state: a seeded RNG and a few bounded memories (recent clients, recent
    purchases to refund). Nothing grows with the number of lines.
    """

    def __init__(self, seed: int, first_sale_id: int | None = None) -> None:
        self.rng = rng = random.Random(seed)
        # The offset is drawn even when the first ID is given, so the rest of the file is the same.
        offset = rng.randrange(100)
        self.next_sale_id = first_sale_id_for(seed) + offset if first_sale_id is None else first_sale_id
        self.next_client = 100_002_600 + rng.randrange(100)
        self.regulars = tuple(str(100_000_000 + rng.randrange(500, 2600)) for _ in range(40))
        self.recent_clients: deque[str] = deque(maxlen=300)
        self.recent_purchases: deque[tuple[str, _Item, _Discount, str, str]] = deque(maxlen=200)
        self.refund_batch = 0

    def sale_id(self) -> str:
        value = self.next_sale_id
        # Voided sales leave gaps in the numbering.
        self.next_sale_id += 2 if self.rng.random() < 0.02 else 1
        return str(value)

    def member(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.18:
            return rng.choice(self.regulars)
        if r < 0.38 and self.recent_clients:
            return rng.choice(self.recent_clients)
        client = str(self.next_client)
        self.next_client += 1 + rng.randrange(3)
        self.recent_clients.append(client)
        return client

    def client_for(self, item: _Item) -> str:
        r = self.rng.random()
        if item.kind == "drink" and r < 0.6:
            return WALK_IN_CLIENT
        if item.kind in ("bay", "rental") and r < 0.6:
            return HOUSE_CLIENT
        return self.member()

    def spelling(self, item: _Item) -> str:
        for name, odds in item.spellings:
            if self.rng.random() < odds:
                return name
        return item.name

    def quantity(self, item: _Item) -> int:
        if item.kind not in _BOUGHT_IN_MULTIPLES:
            return 1
        r = self.rng.random()
        return 2 if r < 0.06 else 3 if r < 0.08 else 4 if r < 0.085 else 1

    def discount(self, item: _Item, quantity: int) -> _Discount:
        rng = self.rng
        if rng.random() >= item.discount:
            return None
        if rng.random() < 0.85 or item.price * quantity <= _FIXED_DISCOUNTS[-1]:
            return ("percent", _pick(rng, _PERCENTS, _PERCENT_CUM))
        return ("amount", rng.choice(_FIXED_DISCOUNTS))

    def line(
        self,
        ctx: _SaleContext,
        item: _Item,
        quantity: int,
        discount: _Discount,
        *,
        batch: str = "---",
        sales_notes: str = "",
        notes: str = "",
    ) -> GenLine:
        amounts = _amounts(item.price, quantity, discount, item.fixed2)
        price, qty, subtotal, percent, amount, tax, total = amounts
        paid = total
        if quantity > 0 and self.rng.random() < _P_PAID_DIFFERS:
            # A payment keyed in short of the line total: revenue is the Item Total regardless.
            paid = format_amount(Decimal(total) - (Decimal(total) * Decimal("0.018")).quantize(_MILLI))
        name = self.spelling(item) if item.spellings else item.name
        return GenLine(
            ctx.date_text,
            ctx.client_id,
            ctx.sale_id,
            name,
            price,
            qty,
            subtotal,
            percent,
            amount,
            tax,
            total,
            paid,
            ctx.payment,
            ctx.location,
            client_name(ctx.client_id),
            batch,
            sales_notes,
            notes,
        )

    def comp_line(self, ctx: _SaleContext, item: _Item, sales_notes: str) -> GenLine:
        # A comp is keyed at the tax-inclusive price and discounted 100%: no tax, nothing paid.
        gross_value = (item.price * (1 + TAX_RATE)).quantize(_MILLI, ROUND_HALF_UP)
        gross = _format_fixed2(gross_value) if item.fixed2 else format_amount(gross_value)
        return GenLine(
            ctx.date_text,
            ctx.client_id,
            ctx.sale_id,
            self.spelling(item),
            gross,
            "1",
            gross,
            "100",
            gross,
            "0",
            "0",
            "0",
            COMP,
            ctx.location,
            client_name(ctx.client_id),
            sales_notes=sales_notes,
        )

    def context(self, day_text: str, client: str, location: str, payment: str) -> _SaleContext:
        return _SaleContext(self.sale_id(), day_text, client, location, payment)

    def sales(self, day: date, day_text: str) -> tuple[GenSale, ...]:
        r = self.rng.random()
        if r >= _P_REFUND + _P_COMP + _P_TRANSFER:
            return (self.sale(day, day_text),)
        if r < _P_REFUND:
            return (self.refund(day, day_text),)
        if r < _P_REFUND + _P_COMP:
            return (self.comp(day, day_text),)
        return self.transfer(day, day_text)

    def sale(self, day: date, day_text: str) -> GenSale:
        rng = self.rng
        size = _pick(rng, _SALE_SIZES, _SALE_SIZE_CUM)
        first = _pick(rng, CATALOGUE, _CATALOGUE_CUM)
        client = self.client_for(first)
        online = rng.random() < first.online
        payment = _PAYMENTS[0] if online else _pick(rng, _PAYMENTS, _PAYMENT_CUM)
        ctx = self.context(day_text, client, ONLINE_STORE if online else STUDIO, payment)
        sales_notes = rng.choice(_SALES_NOTES) if rng.random() < _P_SALES_NOTE else ""
        notes = rng.choice(_NOTES) if rng.random() < _P_NOTES else ""
        lines: list[GenLine] = []
        item = first
        for n in range(size):
            if n and rng.random() < _P_REPEAT:
                lines.append(rng.choice(lines))  # the very same line again: two identical items
                continue
            if n:
                item = _pick(rng, CATALOGUE, _CATALOGUE_CUM)
            quantity = self.quantity(item)
            discount = self.discount(item, quantity)
            lines.append(
                self.line(ctx, item, quantity, discount, sales_notes=sales_notes if not n else "", notes=notes)
            )
            if quantity == 1:
                self.recent_purchases.append((client, item, discount, ctx.location, payment))
        return GenSale(ctx.sale_id, day, tuple(lines))

    def refund(self, day: date, day_text: str) -> GenSale:
        rng = self.rng
        if self.recent_purchases:
            client, item, discount, location, payment = rng.choice(self.recent_purchases)
        else:
            item = _pick(rng, CATALOGUE, _CATALOGUE_CUM)
            client, discount, location, payment = self.member(), None, STUDIO, _PAYMENTS[0]
        ctx = self.context(day_text, client, location, payment)
        # Refunds carry a running batch number in the real export (once in a while none).
        self.refund_batch += 1
        batch = "---" if rng.random() < 0.1 else str(self.refund_batch)
        lines = [self.line(ctx, item, -1, discount, batch=batch)]
        if rng.random() < _P_REFUND_TWO_LINES:
            lines.append(self.line(ctx, _pick(rng, CATALOGUE, _CATALOGUE_CUM), -1, None, batch=batch))
        return GenSale(ctx.sale_id, day, tuple(lines), "refund")

    def comp(self, day: date, day_text: str) -> GenSale:
        rng = self.rng
        item = _pick(rng, _COMPABLE, _COMPABLE_CUM)
        ctx = self.context(day_text, self.member(), STUDIO, COMP)
        note = rng.choice(_COMP_NOTES) if rng.random() < 0.5 else ""
        return GenSale(ctx.sale_id, day, (self.comp_line(ctx, item, note),), "comp")

    def transfer(self, day: date, day_text: str) -> tuple[GenSale, GenSale]:
        rng = self.rng
        client = self.member()
        given_back, given = rng.choice(_PACKS), rng.choice(_PACKS)
        # The package handed back: a zero-value negative line, no payment method at all.
        ctx = self.context(day_text, client, STUDIO, "")
        back = GenLine(
            ctx.date_text,
            client,
            ctx.sale_id,
            self.spelling(given_back),
            "0",
            "-1",
            "0",
            "0",
            "0",
            "0",
            "0",
            "0",
            "",
            STUDIO,
            client_name(client),
        )
        ctx = self.context(day_text, client, STUDIO, COMP)
        given_line = self.comp_line(ctx, given, rng.choice(_TRANSFER_NOTES))
        return (GenSale(back.sale_id, day, (back,), "transfer"), GenSale(ctx.sale_id, day, (given_line,), "transfer"))


def first_sale_id_for(seed: int) -> int:
    """The bottom of the seed's block of Sale IDs (its first sale is 0..99 above it)."""
    return SALE_ID_BLOCK * (abs(seed) + 1)


def generate_sales(
    *,
    seed: int,
    lines: int,
    start: date = DEFAULT_START,
    sales_per_day: int = DEFAULT_SALES_PER_DAY,
    first_sale_id: int | None = None,
) -> Iterator[GenSale]:
    """Sales in date order with increasing Sale IDs, exactly `lines` lines in all (the last sale
    may be cut short). Lazy: memory does not grow with `lines`. The same arguments always give
    the same sales. Sale IDs come from the seed's own block (`first_sale_id_for`), or start at
    `first_sale_id`; nothing else about the file depends on where they start.
    """
    if lines < 0:
        raise ValueError("lines must be >= 0")
    if sales_per_day < 1:
        raise ValueError("sales_per_day must be >= 1")
    if first_sale_id is not None and first_sale_id < 1:
        raise ValueError("first_sale_id must be >= 1")
    return _generate(seed, lines, start, sales_per_day, first_sale_id)


def _generate(
    seed: int, lines: int, start: date, sales_per_day: int, first_sale_id: int | None = None
) -> Iterator[GenSale]:
    shop = _Shop(seed, first_sale_id)
    rng = shop.rng
    remaining = lines
    day = start
    one_day = timedelta(days=1)
    while remaining > 0:
        # Busier weekends, quieter weekdays; every day sees at least one sale.
        busy = 1.25 if day.weekday() >= 5 else 0.9
        count = max(1, round(sales_per_day * busy * rng.uniform(0.4, 1.6)))
        text = date_text(day, unpadded=rng.random() < _P_UNPADDED_EARLY_DAY)
        for _ in range(count):
            for sale in shop.sales(day, text):
                if len(sale.lines) >= remaining:
                    yield replace(sale, lines=sale.lines[:remaining])
                    return
                remaining -= len(sale.lines)
                yield sale
        day += one_day


# ---------------------------------------------------------------------------------------------
# Writing


class SupportsWriteBytes(Protocol):
    def write(self, data: bytes, /) -> object: ...


_CHUNK_CHARS = 1 << 16


def export_columns(column_order: Sequence[str] | None = None, *, client_names: bool = False) -> list[str]:
    """The canonical names of the columns an export will have, in order.

    `column_order` lists canonical names (any subset, any order: leaving out a required column
    makes an export the product must refuse). `client_names` adds `Client` after `Client ID`.
    """
    if column_order is None:
        columns = list(CANONICAL_COLUMNS)
    else:
        columns = list(column_order)
        unknown = [c for c in columns if c not in _ATTRIBUTE]
        if unknown:
            raise ValueError(f"unknown column(s): {', '.join(unknown)}")
        if len(set(columns)) != len(columns):
            raise ValueError("a column is listed twice")
    if client_names and CLIENT_COLUMN not in columns:
        at = columns.index("Client ID") + 1 if "Client ID" in columns else len(columns)
        columns.insert(at, CLIENT_COLUMN)
    return columns


def _messy_amount(text: str, sign: str) -> str:
    if text in ("", "---"):
        return text
    negative = text.startswith("-")
    whole, dot, fraction = text.lstrip("-").partition(".")
    if len(whole) > 3:
        whole = f"{int(whole):,}"
    return f"{'-' if negative else ''}{sign}{whole}{dot}{fraction}"


def _messy(sale: GenSale, sale_no: int, line_no: int) -> tuple[GenLine, ...]:
    """The same sale as other tills write it. Deterministic in the sale's position in the file, so
    a messy export is as reproducible as a plain one.
    """
    common: dict[str, str] = {}
    if sale_no % 20 == 7:
        common["sale_date"] = sale.sale_date.isoformat()
    if sale_no % 30 == 11 and sale.sale_id.isdigit():
        common["sale_id"] = f"{int(sale.sale_id):,}"
    lines = []
    for n, line in enumerate(sale.lines, start=line_no):
        sign = "S$" if n % 6 == 0 else "$" if n % 6 == 3 else ""
        changes = dict(common)
        for attr in _MONEY_ATTRS:
            value = getattr(line, attr)
            messy = _messy_amount(value, sign)
            if messy != value:
                changes[attr] = messy
        lines.append(replace(line, **changes) if changes else line)
    return tuple(lines)


_SWAP_MARKS = str.maketrans(",.", ".,")
_NUMERIC_ATTRS = (
    "item_price",
    "quantity",
    "subtotal",
    "discount_percent",
    "discount_amount",
    "tax",
    "item_total",
    "total_paid",
)


def _decimal_comma(lines: Sequence[GenLine], line_no: int) -> tuple[GenLine, ...]:
    """Lines as a European CSV writes their numbers: `1,362.50` becomes `1.362,50`; every other
    line groups thousands with a space instead (`1 362,50`). A grouped Sale ID (`4,105`, from
    `messy`) is grouped the same way."""
    out = []
    for n, line in enumerate(lines, start=line_no):
        changes: dict[str, str] = {}
        for attr in (*_NUMERIC_ATTRS, "sale_id"):
            value: str = getattr(line, attr)
            if attr == "sale_id" and "," not in value:
                continue
            swapped = value.translate(_SWAP_MARKS)
            if n % 2 and "." in swapped:
                swapped = swapped.replace(".", " ")
            if swapped != value:
                changes[attr] = swapped
        out.append(replace(line, **changes) if changes else line)
    return tuple(out)


def write_export(  # noqa: C901 - one pass writes every option's quirk per row; split, each helper would re-walk the row
    sales: Iterable[GenSale],
    out: SupportsWriteBytes,
    *,
    bom: bool = False,
    crlf: bool = True,
    client_names: bool = False,
    encoding: str = "utf-8",
    column_order: Sequence[str] | None = None,
    header_style: HeaderStyle = "canonical",
    messy: bool = False,
    dialect: ExportDialect = "comma",
    gzipped: bool = False,
) -> None:
    """Write `sales` as a CSV export (csv module, minimal quoting) to a binary stream.

    `crlf` is the real export's line ending; quoted newlines inside notes stay bare `\\n`.
    `header_style="aliases"` writes alias header names (`Item price`, `Subtotal`, other case,
    stray spaces) plus an unknown column and a trailing column with an empty header.
    `messy` adds what other exports do and the real one does not: `S$` / `$` signs, thousands
    separators (`1,362.50`, Sale ID `4,105`), ISO dates.
    `dialect="unicode-text"` writes Excel's "Unicode text" (UTF-16 LE with a byte order mark,
    tab-delimited); `dialect="semicolon"` a European CSV: `;` between cells, numbers with a decimal
    comma and, when `messy`, `.` or space thousands (`1.362,50`, `1 362,50`, Sale ID `4.105`).
    `gzipped` compresses the whole file (reproducibly: no name, no time in the gzip header).
    """
    if gzipped:
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=0) as packed:  # type: ignore[call-overload]
            write_export(
                sales,
                packed,
                bom=bom,
                crlf=crlf,
                client_names=client_names,
                encoding=encoding,
                column_order=column_order,
                header_style=header_style,
                messy=messy,
                dialect=dialect,
            )
        return
    if header_style not in ("canonical", "aliases"):
        raise ValueError(f"unknown header_style {header_style!r}")
    if dialect not in ("comma", "unicode-text", "semicolon"):
        raise ValueError(f"unknown dialect {dialect!r}")
    if bom and codecs.lookup(encoding).name != "utf-8":
        raise ValueError("a byte order mark is only written for UTF-8")
    if dialect == "unicode-text":
        if bom or codecs.lookup(encoding).name != "utf-8":
            raise ValueError("Unicode text is always UTF-16 LE with its byte order mark: no bom or encoding option")
        encoding = "utf-16-le"
    columns = export_columns(column_order, client_names=client_names)
    attrs = [_ATTRIBUTE[c] for c in columns]
    getter: Callable[[GenLine], tuple[str, ...]]
    if len(attrs) == 1:
        single = attrs[0]
        getter = lambda line: (getattr(line, single),)  # noqa: E731 - attrgetter of one name is no tuple
    else:
        getter = attrgetter(*attrs)
    aliases = header_style == "aliases"
    header = [_ALIAS_HEADER[c] for c in columns] if aliases else list(columns)
    unknown_at = min(3, len(header))
    if aliases:
        header.insert(unknown_at, UNKNOWN_COLUMN)
        header.append("")

    buffer = io.StringIO()
    delimiter = {"comma": ",", "unicode-text": "\t", "semicolon": ";"}[dialect]
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n", delimiter=delimiter)
    if bom:
        out.write(codecs.BOM_UTF8)
    if dialect == "unicode-text":
        out.write(codecs.BOM_UTF16_LE)
    writer.writerow(header)
    line_no = 0
    semicolon = dialect == "semicolon"
    for sale_no, sale in enumerate(sales):
        lines = _messy(sale, sale_no, line_no) if messy else sale.lines
        if semicolon:
            lines = _decimal_comma(lines, line_no)
        line_no += len(lines)
        if aliases:
            for line in lines:
                row = list(getter(line))
                row.insert(unknown_at, UNKNOWN_VALUE)
                row.append("")
                writer.writerow(row)
        else:
            writer.writerows(map(getter, lines))
        if buffer.tell() >= _CHUNK_CHARS:
            out.write(buffer.getvalue().encode(encoding))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode(encoding))


class _Tally:
    """Counts what passes through: the summary of an export without a second pass."""

    def __init__(self, sales: Iterable[GenSale]) -> None:
        self._sales = sales
        self.lines = self.sales = self.refunds = self.zero = 0
        self.revenue = _ZERO
        self.first: date | None = None
        self.last: date | None = None

    def __iter__(self) -> Iterator[GenSale]:
        for sale in self._sales:
            total = sale.total
            self.lines += len(sale.lines)
            self.sales += 1
            self.revenue += total
            if total < 0:
                self.refunds += 1
            elif total == 0:
                self.zero += 1
            if self.first is None:
                self.first = sale.sale_date
            self.last = sale.sale_date
            yield sale


class _CountingSink:
    def __init__(self, out: SupportsWriteBytes) -> None:
        self._out = out
        self.count = 0

    def write(self, data: bytes, /) -> object:
        self.count += len(data)
        return self._out.write(data)


def generate_export(
    target: str | Path | SupportsWriteBytes,
    *,
    lines: int,
    seed: int,
    start: date = DEFAULT_START,
    sales_per_day: int = DEFAULT_SALES_PER_DAY,
    bom: bool = False,
    crlf: bool = True,
    client_names: bool = False,
    encoding: str = "utf-8",
    column_order: Sequence[str] | None = None,
    header_style: HeaderStyle = "canonical",
    messy: bool = False,
    dialect: ExportDialect = "comma",
    gzipped: bool = False,
    first_sale_id: int | None = None,
) -> ExportSummary:
    """Generate and write an export to a path or a binary stream; returns what was written."""
    tally = _Tally(
        generate_sales(seed=seed, lines=lines, start=start, sales_per_day=sales_per_day, first_sale_id=first_sale_id)
    )

    def write(out: SupportsWriteBytes) -> int:
        sink = _CountingSink(out)
        write_export(
            tally,
            sink,
            bom=bom,
            crlf=crlf,
            client_names=client_names,
            encoding=encoding,
            column_order=column_order,
            header_style=header_style,
            messy=messy,
            dialect=dialect,
            gzipped=gzipped,
        )
        return sink.count

    if isinstance(target, str | Path):
        with open(target, "wb", buffering=1 << 20) as handle:
            written = write(handle)
    else:
        written = write(target)
    return ExportSummary(
        tally.lines, tally.sales, tally.first, tally.last, tally.refunds, tally.zero, tally.revenue, written
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.samplegen", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, required=True, help="number of line items (data rows)")
    parser.add_argument(
        "--seed",
        type=int,
        required=True,
        help="same seed, same file; each seed numbers its sales in a block of its own "
        f"(seed s: Sale IDs from about (s+1) x {SALE_ID_BLOCK:,})",
    )
    parser.add_argument(
        "--first-sale-id",
        type=int,
        default=None,
        metavar="N",
        help="number the sales from N instead (e.g. to continue another file's numbering, "
        "or to overlap it on purpose); the rest of the file stays the same",
    )
    parser.add_argument("--out", required=True, help="output file, - for stdout")
    parser.add_argument("--start", type=date.fromisoformat, default=DEFAULT_START, help="first day, YYYY-MM-DD")
    parser.add_argument("--sales-per-day", type=int, default=DEFAULT_SALES_PER_DAY)
    parser.add_argument("--bom", action="store_true", help="start with a UTF-8 byte order mark")
    parser.add_argument("--lf", action="store_true", help="LF line endings (default: CRLF, as real exports)")
    parser.add_argument("--client-names", action="store_true", help="add a Client column (fake names)")
    parser.add_argument("--cp1252", action="store_true", help="encode as Windows-1252 instead of UTF-8")
    parser.add_argument(
        "--aliases", action="store_true", help="alias header names, plus an unknown and an empty-named column"
    )
    parser.add_argument("--messy", action="store_true", help="currency signs, thousands separators, ISO dates")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument(
        "--unicode-text",
        action="store_true",
        help='Excel "Unicode text": UTF-16 LE with a byte order mark, tab-delimited',
    )
    layout.add_argument(
        "--semicolon", action="store_true", help="European CSV: semicolon-delimited, decimal commas (1.362,50)"
    )
    parser.add_argument("--gzip", action="store_true", help="gzip-compress the file")
    args = parser.parse_args(argv)
    if args.lines < 0 or args.sales_per_day < 1:
        parser.error("--lines must be >= 0 and --sales-per-day >= 1")
    if args.bom and args.cp1252:
        parser.error("--bom is for UTF-8 only")
    if args.unicode_text and (args.bom or args.cp1252):
        parser.error("--unicode-text is always UTF-16 with its byte order mark: no --bom or --cp1252")
    if args.first_sale_id is not None and args.first_sale_id < 1:
        parser.error("--first-sale-id must be >= 1")

    began = time.perf_counter()
    target: str | SupportsWriteBytes = sys.stdout.buffer if args.out == "-" else args.out
    summary = generate_export(
        target,
        lines=args.lines,
        seed=args.seed,
        start=args.start,
        sales_per_day=args.sales_per_day,
        bom=args.bom,
        crlf=not args.lf,
        client_names=args.client_names,
        encoding="cp1252" if args.cp1252 else "utf-8",
        header_style="aliases" if args.aliases else "canonical",
        messy=args.messy,
        dialect="unicode-text" if args.unicode_text else "semicolon" if args.semicolon else "comma",
        gzipped=args.gzip,
        first_sale_id=args.first_sale_id,
    )
    elapsed = time.perf_counter() - began
    print(
        f"wrote {summary.lines} lines, {summary.sales} sales ({summary.refund_sales} refunds, "
        f"{summary.zero_total_sales} zero-total), {summary.first_date} .. {summary.last_date}, "
        f"{summary.bytes_written} bytes to {args.out} in {elapsed:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
