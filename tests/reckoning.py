"""An independent reckoner: the revenue figures of docs/contract.md from export bytes, with plain
csv and Decimal.

This is the oracle the product is checked against, so it is deliberately naive and imports
nothing from the product (`salesmetrics`) or from the generator (`devtools`). It assumes
well-formed input: canonical or alias headers, `M/D/YYYY` or ISO dates, amounts that may carry
`S$` / `$`, thousands separators and a minus sign, `---` or empty for "no value".

    figures = reckon([first_export, corrected_export]).range(date(2025, 3, 1), date(2025, 3, 31))
    by_item = reckon([first_export]).breakdown("item", date(2025, 3, 1), date(2025, 3, 31))

Breakdowns (by item, location or payment method) count each line under its own trimmed value,
an empty one as "(none)".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext

ZERO = Decimal(0)

# Header names (normalised: trimmed, inner spaces collapsed, case-folded) of the columns needed.
_COLUMNS = {
    "sale date": "date",
    "sale id": "sale_id",
    "item total": "total",
    "tax": "tax",
    "discount amount": "discount",
    "item name": "item",
    "location": "location",
    "payment method": "payment_method",
    "quantity": "quantity",
}
NONE_KEY = "(none)"


@dataclass(frozen=True)
class ReckonedLine:
    item: str
    location: str
    payment_method: str
    quantity: Decimal
    total: Decimal
    tax: Decimal


@dataclass(frozen=True)
class ReckonedSale:
    sale_id: str
    day: date
    lines: int
    total: Decimal
    tax: Decimal
    discounts: Decimal
    items: tuple[ReckonedLine, ...] = ()


@dataclass(frozen=True)
class KeyFigures:
    """One key of a breakdown: its lines' sums, and how many sales have a line with it."""

    revenue: Decimal
    net_revenue: Decimal
    quantity: Decimal
    line_count: int
    sale_count: int


@dataclass(frozen=True)
class RangeFigures:
    start: date
    end: date
    total_revenue: Decimal
    net_revenue: Decimal
    tax: Decimal
    discounts: Decimal
    order_count: int
    order_value: Decimal  # sum of the totals of orders (sales with total > 0)
    average_order_value: Decimal
    refund_count: int
    refunds: Decimal  # sum of refund totals: negative
    sales_count: int


@dataclass(frozen=True)
class DayFigures:
    day: date
    revenue: Decimal
    order_count: int
    order_value: Decimal
    average_order_value: Decimal


def cents(value: Decimal) -> Decimal:
    """Round half-up to cents, as the API reports money (docs/contract.md)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _average(value: Decimal, count: int) -> Decimal:
    if count == 0:
        return ZERO
    # Far more digits than cents need, so rounding this to cents equals rounding the exact ratio.
    with localcontext() as ctx:
        ctx.prec = 60
        return value / count


def parse_amount(text: str) -> Decimal:
    value = text.strip()
    if value in ("", "---"):
        return ZERO
    negative = "-" in value
    for noise in ("S$", "$", ",", "-", " "):
        value = value.replace(noise, "")
    amount = Decimal(value)
    return -amount if negative else amount


def parse_day(text: str) -> date:
    value = text.strip()
    if "-" in value:
        return date.fromisoformat(value)
    month, day, year = value.split("/")
    return date(int(year), int(month), int(day))


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_sales(data: bytes) -> list[ReckonedSale]:
    """The sales of one export: a sale is every line with its Sale ID in the file, wherever they
    stand; a Sale ID whose lines carry two different dates is inconsistent and left out."""
    rows = csv.reader(io.StringIO(_decode(data), newline=""))
    header = next(rows)
    where = {}
    for index, name in enumerate(header):
        key = _COLUMNS.get(" ".join(name.split()).casefold())
        if key is not None:
            where[key] = index
    by_id: dict[str, list[list[str]]] = {}
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        by_id.setdefault(row[where["sale_id"]].strip().replace(",", ""), []).append(row)
    sales: list[ReckonedSale] = []
    for sale_id, run in by_id.items():
        days = {parse_day(r[where["date"]]) for r in run}
        if len(days) != 1:
            continue
        sales.append(
            ReckonedSale(
                sale_id=sale_id,
                day=days.pop(),
                lines=len(run),
                total=sum((parse_amount(r[where["total"]]) for r in run), ZERO),
                tax=sum((parse_amount(r[where["tax"]]) for r in run), ZERO) if "tax" in where else ZERO,
                discounts=(
                    sum((parse_amount(r[where["discount"]]) for r in run), ZERO) if "discount" in where else ZERO
                ),
                items=tuple(_line(r, where) for r in run),
            )
        )
    return sales


def _line(row: list[str], where: dict[str, int]) -> ReckonedLine:
    def text(name: str) -> str:
        return row[where[name]].strip() if name in where else ""

    def amount(name: str) -> Decimal:
        return parse_amount(row[where[name]]) if name in where else ZERO

    return ReckonedLine(
        item=text("item") or NONE_KEY,
        location=text("location") or NONE_KEY,
        payment_method=text("payment_method") or NONE_KEY,
        quantity=amount("quantity"),
        total=amount("total"),
        tax=amount("tax"),
    )


class Reckoning:
    """Every sale's latest version, and the contract's figures over them."""

    def __init__(self, sales: dict[str, ReckonedSale]) -> None:
        self.sales = sales

    def range(self, start: date, end: date) -> RangeFigures:
        sales = [sale for sale in self.sales.values() if start <= sale.day <= end]
        total = sum((s.total for s in sales), ZERO)
        tax = sum((s.tax for s in sales), ZERO)
        orders = [s.total for s in sales if s.total > 0]
        refunds = [s.total for s in sales if s.total < 0]
        order_value = sum(orders, ZERO)
        return RangeFigures(
            start=start,
            end=end,
            total_revenue=total,
            net_revenue=total - tax,
            tax=tax,
            discounts=sum((s.discounts for s in sales), ZERO),
            order_count=len(orders),
            order_value=order_value,
            average_order_value=_average(order_value, len(orders)),
            refund_count=len(refunds),
            refunds=sum(refunds, ZERO),
            sales_count=len(sales),
        )

    def daily(self, start: date, end: date) -> list[DayFigures]:
        """Every day of the range in order, zeros where nothing was sold."""
        by_day: dict[date, list[ReckonedSale]] = {}
        for sale in self.sales.values():
            if start <= sale.day <= end:
                by_day.setdefault(sale.day, []).append(sale)
        days = []
        day = start
        while day <= end:
            sales = by_day.get(day, [])
            orders = [s.total for s in sales if s.total > 0]
            order_value = sum(orders, ZERO)
            days.append(
                DayFigures(
                    day,
                    sum((s.total for s in sales), ZERO),
                    len(orders),
                    order_value,
                    _average(order_value, len(orders)),
                )
            )
            day += timedelta(days=1)
        return days

    def breakdown(self, dimension: str, start: date, end: date) -> dict[str, KeyFigures]:
        """Per key of `dimension` (item, location or payment_method) over the sales of the range."""
        sums: dict[str, list[Decimal]] = {}
        sales: dict[str, set[str]] = {}
        for sale in self.sales.values():
            if not start <= sale.day <= end:
                continue
            for line in sale.items:
                key = getattr(line, dimension)
                figures = sums.setdefault(key, [ZERO, ZERO, ZERO, ZERO])
                figures[0] += line.total
                figures[1] += line.total - line.tax
                figures[2] += line.quantity
                figures[3] += 1
                sales.setdefault(key, set()).add(sale.sale_id)
        return {key: KeyFigures(f[0], f[1], f[2], int(f[3]), len(sales[key])) for key, f in sums.items()}

    def first_day(self) -> date:
        return min(sale.day for sale in self.sales.values())

    def last_day(self) -> date:
        return max(sale.day for sale in self.sales.values())


def reckon(files: Iterable[bytes]) -> Reckoning:
    """Exports applied in upload order: a later file's version of a sale replaces the earlier one;
    a file never removes sales it does not mention.
    """
    latest: dict[str, ReckonedSale] = {}
    for data in files:
        for sale in read_sales(data):
            latest[sale.sale_id] = sale
    return Reckoning(latest)
