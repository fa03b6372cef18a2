"""Sales and their contribution to a day's figures (docs/contract.md: what the figures mean)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from .money import ZERO


class SaleLine(NamedTuple):
    """One sold line item, as far as the service keeps it (no client name, no free-text notes).

    A NamedTuple, not a frozen dataclass: a million of these are built per million lines, and a
    frozen dataclass sets each field through object.__setattr__ (several times slower).
    """

    line_no: int
    item_name: str
    quantity: Decimal | None
    item_price: Decimal | None
    subtotal: Decimal | None
    discount_amount: Decimal | None
    tax: Decimal | None
    item_total: Decimal
    payment_method: str
    location: str


class Sale(NamedTuple):
    """A sale: the run of consecutive lines with one Sale ID, and its totals.

    A NamedTuple, built with tuple.__new__: one is made per sale of a file, on the hot path.
    """

    sale_id: str
    sale_date: date
    client_id: str
    lines: tuple[SaleLine, ...]
    total: Decimal
    tax: Decimal
    discounts: Decimal

    @property
    def first_line(self) -> int:
        return self.lines[0].line_no

    @property
    def net(self) -> Decimal:
        return self.total - self.tax

    @property
    def content_hash(self) -> str:
        """What the sale says, digested. Computed on each access: it is a write-time concern, and
        the writer asks once per sale (SaleWrite carries it on to storage)."""
        return content_hash(self.sale_date, self.client_id, self.lines)

    @classmethod
    def build(cls, sale_id: str, sale_date: date, client_id: str, lines: tuple[SaleLine, ...]) -> Sale:
        if len(lines) == 1:  # most sales: no sums to run
            (ln,) = lines
            tax = ln.tax if ln.tax is not None else ZERO
            discounts = ln.discount_amount if ln.discount_amount is not None else ZERO
            return _new(cls, (sale_id, sale_date, client_id, lines, ln.item_total, tax, discounts))
        total = sum((ln.item_total for ln in lines), ZERO)
        tax = sum((ln.tax for ln in lines if ln.tax is not None), ZERO)
        discounts = sum((ln.discount_amount for ln in lines if ln.discount_amount is not None), ZERO)
        return _new(cls, (sale_id, sale_date, client_id, lines, total, tax, discounts))


_new = tuple.__new__


def content_hash(sale_date: date, client_id: str, lines: tuple[SaleLine, ...]) -> str:
    """A digest of what a sale says, independent of where in a file it and its lines stood.

    Amounts are normalised so that `34.880` and `34.88` are the same content. One string, one
    digest call: this runs once per written sale.
    """
    d = _d
    parts = [sale_date.isoformat(), client_id, str(len(lines))]
    if len(lines) == 1:
        (ln,) = lines
        parts += (
            ln.item_name,
            d(ln.quantity),
            d(ln.item_price),
            d(ln.subtotal),
            d(ln.discount_amount),
            d(ln.tax),
            d(ln.item_total),
            ln.payment_method,
            ln.location,
        )
    else:
        # The order of a sale's lines is where they stood in the file, not what the sale says:
        # a re-sorted re-upload of an export is the same sales.
        for text in sorted(
            "\x1e".join(
                (
                    ln.item_name,
                    d(ln.quantity),
                    d(ln.item_price),
                    d(ln.subtotal),
                    d(ln.discount_amount),
                    d(ln.tax),
                    d(ln.item_total),
                    ln.payment_method,
                    ln.location,
                )
            )
            for ln in lines
        ):
            parts.append(text)
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


# Canonical text of each amount seen (34.880 and 34.88 are equal keys, so share one text):
# normalising a Decimal costs more than the rest of the digest.
_CANONICAL: dict[Decimal, str] = {}


def _d(value: Decimal | None) -> str:
    if value is None:
        return ""
    try:
        return _CANONICAL[value]
    except KeyError:
        text = format(value.normalize(), "f")
        if len(_CANONICAL) >= 50_000:
            _CANONICAL.clear()
        _CANONICAL[value] = text
        return text


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Additive figures of one day; a sale contributes one of these, aggregates hold their sum."""

    revenue: Decimal = ZERO
    net: Decimal = ZERO
    tax: Decimal = ZERO
    discounts: Decimal = ZERO
    order_count: int = 0
    order_value: Decimal = ZERO
    refund_count: int = 0
    refunds: Decimal = ZERO
    sales_count: int = 0

    @classmethod
    def of(cls, total: Decimal, tax: Decimal, discounts: Decimal) -> DayTotals:
        """What one sale adds to its day: an order when total > 0, a refund when < 0."""
        return cls(
            revenue=total,
            net=total - tax,
            tax=tax,
            discounts=discounts,
            order_count=1 if total > 0 else 0,
            order_value=total if total > 0 else ZERO,
            refund_count=1 if total < 0 else 0,
            refunds=total if total < 0 else ZERO,
            sales_count=1,
        )

    def __add__(self, other: DayTotals) -> DayTotals:
        return DayTotals(
            self.revenue + other.revenue,
            self.net + other.net,
            self.tax + other.tax,
            self.discounts + other.discounts,
            self.order_count + other.order_count,
            self.order_value + other.order_value,
            self.refund_count + other.refund_count,
            self.refunds + other.refunds,
            self.sales_count + other.sales_count,
        )

    def __neg__(self) -> DayTotals:
        return DayTotals(
            -self.revenue,
            -self.net,
            -self.tax,
            -self.discounts,
            -self.order_count,
            -self.order_value,
            -self.refund_count,
            -self.refunds,
            -self.sales_count,
        )

    def __sub__(self, other: DayTotals) -> DayTotals:
        return self + (-other)

    def is_zero(self) -> bool:
        return not any(
            (
                self.revenue,
                self.net,
                self.tax,
                self.discounts,
                self.order_count,
                self.order_value,
                self.refund_count,
                self.refunds,
                self.sales_count,
            )
        )


ZERO_TOTALS = DayTotals()


def _figures_of(total: Decimal, tax: Decimal, discounts: Decimal) -> tuple[Decimal | int, ...]:
    """`DayTotals.of(total, tax, discounts)` as its nine values, in field order."""
    order = total > 0
    refund = total < 0
    return (
        total,
        total - tax,
        tax,
        discounts,
        1 if order else 0,
        total if order else ZERO,
        1 if refund else 0,
        total if refund else ZERO,
        1,
    )


class DaySums:
    """Each day's figures summed while a transaction is planned: what `DayTotals.of` says of each
    sale added (or, subtracted, of a stored version leaving its day), in place. The planner adds
    one per sale written; two DayTotals made per sale cost more than the rest of planning it."""

    __slots__ = ("_days",)

    def __init__(self) -> None:
        self._days: dict[date, list[Decimal | int]] = {}

    def __len__(self) -> int:
        return len(self._days)

    def __contains__(self, day: object) -> bool:
        return day in self._days

    def add(self, day: date, total: Decimal, tax: Decimal, discounts: Decimal, *, negate: bool = False) -> None:
        if negate:
            self._subtract(day, total, tax, discounts)
            return
        sums = self._days.get(day)
        if sums is None:
            self._days[day] = list(_figures_of(total, tax, discounts))
            return
        sums[0] += total
        sums[1] += total - tax
        sums[2] += tax
        sums[3] += discounts
        if total > 0:
            sums[4] += 1
            sums[5] += total
        elif total < 0:
            sums[6] += 1
            sums[7] += total
        sums[8] += 1

    def _subtract(self, day: date, total: Decimal, tax: Decimal, discounts: Decimal) -> None:
        values = [-v for v in _figures_of(total, tax, discounts)]
        sums = self._days.get(day)
        if sums is None:
            self._days[day] = values
            return
        for i, value in enumerate(values):
            sums[i] += value

    def totals(self) -> dict[date, DayTotals]:
        return {day: DayTotals(*sums) for day, sums in self._days.items()}  # type: ignore[arg-type]


class SaleChange(StrEnum):
    """What an import's write did to a sale."""

    CREATED = "created"
    UPDATED = "updated"  # its content changed (or it moved to another date)
    UNCHANGED = "unchanged"  # the same content again, or storage already holds a newer upload's version


class Holder(NamedTuple):
    """One earlier version of a sale, as the sale item remembers it (docs/architecture.md, "Undo"):
    enough to list what an import changed and to know which import a retraction falls back to."""

    version: str
    sale_date: date
    total: Decimal
    digest: str  # the first HOLDER_DIGEST characters of that version's content hash

    @property
    def import_id(self) -> str:
        return import_of(self.version)


HOLDER_DIGEST = 8
MAX_HOLDERS = 16  # earlier versions a sale item keeps; older ones are forgotten


def import_of(version: str) -> str:
    """The import that wrote a sale version (`ver` = time|sequencer|import_id|line)."""
    parts = version.split("|")
    return parts[2] if len(parts) >= 4 else ""


@dataclass(frozen=True, slots=True)
class StoredSale:
    """What storage holds of a sale: enough to undo its contribution and to order versions."""

    sale_id: str
    sale_date: date
    version: str
    content_hash: str
    total: Decimal
    tax: Decimal
    discounts: Decimal
    import_id: str
    first_import_id: str
    # What the import that wrote this version did to the sale.
    change: SaleChange = SaleChange.UPDATED
    # The stored version's lines: what its breakdown figures must lose when it is replaced.
    lines: tuple[SaleLine, ...] = ()
    client_id: str = ""
    # The earlier versions other imports wrote of this sale, newest first (the stored version
    # itself is not in it): what a retraction of the stored version falls back to.
    history: tuple[Holder, ...] = ()

    def totals(self) -> DayTotals:
        return DayTotals.of(self.total, self.tax, self.discounts)

    def as_holder(self) -> Holder:
        return Holder(self.version, self.sale_date, self.total, self.content_hash[:HOLDER_DIGEST])

    def as_sale(self) -> Sale:
        """The stored version as a Sale again (to rewrite the item with another history)."""
        return _new(
            Sale, (self.sale_id, self.sale_date, self.client_id, self.lines, self.total, self.tax, self.discounts)
        )
