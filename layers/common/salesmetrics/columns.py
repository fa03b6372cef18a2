"""Which export column is which: header names matched case-insensitively, trimmed, with aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    SALE_DATE = "sale_date"
    SALE_ID = "sale_id"
    ITEM_TOTAL = "item_total"
    CLIENT_ID = "client_id"
    CLIENT_NAME = "client_name"
    ITEM_NAME = "item_name"
    ITEM_PRICE = "item_price"
    QUANTITY = "quantity"
    SUBTOTAL = "subtotal"
    DISCOUNT_PERCENT = "discount_percent"
    DISCOUNT_AMOUNT = "discount_amount"
    TAX = "tax"
    TOTAL_PAID = "total_paid"
    PAYMENT_METHOD = "payment_method"
    LOCATION = "location"


REQUIRED = (Field.SALE_DATE, Field.SALE_ID, Field.ITEM_TOTAL)

# Display names, used in messages and in the rejects file.
LABELS: dict[Field, str] = {
    Field.SALE_DATE: "Sale Date",
    Field.SALE_ID: "Sale ID",
    Field.ITEM_TOTAL: "Item Total",
    Field.CLIENT_ID: "Client ID",
    Field.CLIENT_NAME: "Client",
    Field.ITEM_NAME: "Item name",
    Field.ITEM_PRICE: "Item price",
    Field.QUANTITY: "Quantity",
    Field.SUBTOTAL: "Subtotal",
    Field.DISCOUNT_PERCENT: "Discount %",
    Field.DISCOUNT_AMOUNT: "Discount amount",
    Field.TAX: "Tax",
    Field.TOTAL_PAID: "Total Paid w/ Payment Method",
    Field.PAYMENT_METHOD: "Payment Method",
    Field.LOCATION: "Location",
}

_ALIASES: dict[Field, tuple[str, ...]] = {
    Field.SALE_DATE: ("sale date", "date", "sales date"),
    Field.SALE_ID: ("sale id", "sale #", "sale number", "sale no", "sale no."),
    Field.ITEM_TOTAL: ("item total", "item total (including tax)", "line total"),
    Field.CLIENT_ID: ("client id", "client #", "customer id"),
    Field.CLIENT_NAME: ("client", "client name", "customer", "customer name"),
    Field.ITEM_NAME: ("item name", "item", "item description"),
    Field.ITEM_PRICE: ("item price (excluding tax)", "item price", "unit price"),
    Field.QUANTITY: ("quantity", "qty"),
    Field.SUBTOTAL: ("subtotal (excluding tax)", "subtotal"),
    Field.DISCOUNT_PERCENT: ("discount %", "discount percent", "discount (%)"),
    Field.DISCOUNT_AMOUNT: ("discount amount", "discount"),
    Field.TAX: ("tax", "tax amount"),
    Field.TOTAL_PAID: ("total paid w/ payment method", "total paid"),
    Field.PAYMENT_METHOD: ("payment method",),
    Field.LOCATION: ("location",),
}

# Columns the figures are computed from: two of one of them make the file ambiguous.
FIGURES = frozenset({Field.SALE_DATE, Field.SALE_ID, Field.ITEM_TOTAL, Field.TAX, Field.DISCOUNT_AMOUNT})

# Columns that hold personal data: never read into a sale, never written back to the rejects file.
PERSONAL = frozenset({Field.CLIENT_NAME})

_BY_NAME = {alias: field for field, names in _ALIASES.items() for alias in names}
_SPACES = re.compile(r"\s+")


def normalise_header(name: str) -> str:
    return _SPACES.sub(" ", name.replace("\ufeff", "")).strip().casefold()


class HeaderError(ValueError):
    """The header cannot be used: the file is not a sales export."""


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Positions of the known columns in one file's header."""

    positions: dict[Field, int]
    header: tuple[str, ...]
    personal: frozenset[int] = frozenset()  # every column holding personal data, duplicates too

    @property
    def width(self) -> int:
        return len(self.header)

    def personal_positions(self) -> frozenset[int]:
        return self.personal


def map_header(cells: list[str]) -> ColumnMap:
    """Map a header row; unknown and empty-named columns are ignored."""
    positions: dict[Field, int] = {}
    personal: set[int] = set()
    for index, cell in enumerate(cells):
        field = _BY_NAME.get(normalise_header(cell))
        if field is None:
            continue
        if field in PERSONAL:
            personal.add(index)
        if field in positions:
            if field in FIGURES:
                raise HeaderError(
                    f"column '{LABELS[field]}' appears twice (columns {positions[field] + 1} and {index + 1})"
                )
            continue  # a repeated descriptive column: the first one is used
        positions[field] = index
    missing = [LABELS[f] for f in REQUIRED if f not in positions]
    if missing:
        raise HeaderError("not a sales export: missing required column(s) " + ", ".join(missing))
    return ColumnMap(positions=positions, header=tuple(cells), personal=frozenset(personal))


def looks_like_header(cells: list[str]) -> bool:
    """True when a row names every required column (used to find the header, and skip repeats)."""
    names = {_BY_NAME.get(normalise_header(c)) for c in cells}
    return all(f in names for f in REQUIRED)
