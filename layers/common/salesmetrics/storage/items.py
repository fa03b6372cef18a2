"""The table's items in DynamoDB's wire JSON (`{"S": ...}`, `{"N": "..."}`), built and read by hand.

The storage sends these to the low-level client as they are. The boto3 resource layer would
convert Python values on every call (TypeSerializer, a deep copy of every request, and back on
the way out), which cost more CPU than everything else in an ingest; this module knows the few
fixed shapes of this project's items and writes them directly. Numbers stay exact: DynamoDB JSON
carries them as decimal text, and `str(Decimal)` is that text, digit for digit.

A sale is stored *compact* (docs/architecture.md, "Sale items"): its keys, the version its
writes are conditioned on, and one string attribute `sale` holding the rest as JSON, amounts as
decimal strings and the lines as arrays. botocore serialises a request by walking every
attribute value of every item in Python, so four attributes instead of fifteen (and no list of
maps per line) is most of the saving, and a sale of several lines is smaller. Items written by
earlier versions (every field its own attribute, `lines` a list of maps) are read as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Clamped, Context, Decimal, DecimalException, Inexact, Overflow, Rounded, Underflow
from json.encoder import encode_basestring as _escape  # a str as a JSON string literal, non-ASCII kept
from json.encoder import encode_basestring_ascii as _escape_ascii  # the same, as json.dumps writes it
from typing import Any

from ..breakdowns import (
    MAX_KEYS_PER_UPDATE,
    SHARD_UNITS,
    BreakdownShard,
    KeyTotals,
    ShardDelta,
    ShardRef,
    iter_members,
    key_id,
)
from ..money import ZERO
from ..sales import DayTotals, Holder, SaleChange, SaleLine, StoredSale
from .base import SaleDelete, SaleWrite

DAYS_PK = "DAYS"
IMPORTS_GSI_PK = "IMPORTS"
SALE_SK = "SALE"
IMPORT_SK = "IMPORT"
SALE_ATTRIBUTE = "sale"  # the packed record of a compact sale item

DAY_FIELDS = (
    "revenue",
    "net",
    "tax",
    "discounts",
    "order_count",
    "order_value",
    "refund_count",
    "refunds",
    "sales_count",
)
# What a reader of sales projects: the packed record of compact items, and the attributes of
# items in the earlier shape (where `sale` is absent), so both shapes are read in one request.
SALE_READ_ATTRIBUTES = (
    "ver",
    SALE_ATTRIBUTE,
    "sale_id",
    "sale_date",
    "hash",
    "total",
    "tax",
    "discounts",
    "import_id",
    "first_import_id",
    "change",
    "lines",
    "client_id",
)

Item = dict[str, Any]

# DynamoDB numbers: at most 38 significant digits, exponent within -130..125. The same limits
# boto3's TypeSerializer enforces: a value it cannot hold exactly is an error, never rounded.
_NUMBER_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
_SHORT = 38  # characters of a number's plain text that cannot hold more than 38 digits
_SALE_SK = {"S": SALE_SK}
_DAYS_PK = {"S": DAYS_PK}


def sale_pk(sale_id: str) -> str:
    return f"SALE#{sale_id}"


def import_pk(import_id: str) -> str:
    return f"IMPORT#{import_id}"


# -- numbers --------------------------------------------------------------------------------------


def number(value: Decimal | int) -> dict[str, str]:
    """`{"N": text}` for a value DynamoDB stores exactly; ValueError for one it cannot."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise TypeError(f"a DynamoDB number must be an int or a Decimal, not {type(value).__name__}")
    text = str(value)
    if len(text) <= _SHORT and text[-1].isdigit() and "E" not in text:
        # Plain notation of at most 38 characters: at most 38 digits, an exponent far inside
        # DynamoDB's range, and finite (NaN and Infinity end in a letter). Nearly every amount
        # and count is one; the context below decides the rest.
        return {"N": text}
    try:
        checked = _NUMBER_CONTEXT.create_decimal(value)
    except DecimalException as exc:
        raise ValueError(
            f"{value} cannot be stored exactly as a DynamoDB number (at most 38 significant digits)"
        ) from exc
    if not checked.is_finite():
        raise ValueError(f"{value} is not a number DynamoDB can store")
    return {"N": str(value)}


def _decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


# -- sales ----------------------------------------------------------------------------------------


def encode_lines(lines: tuple[SaleLine, ...]) -> str:
    """The lines as a JSON array of arrays, each [line_no, item_name, quantity, item_price,
    subtotal, discount_amount, tax, item_total, payment_method, location]: amounts as their exact
    decimal text in strings (`"34.880"` stays `"34.880"`), absent optional amounts as null.

    Written by hand, not by `json.dumps`: this runs once per stored sale, and the encoder's
    per-call set-up and its fallback call for every Decimal cost twice as much. Strings go
    through the json module's own escaping; `str(Decimal)` (`!s`: Decimal's `__format__` is
    several times slower) has no character that needs any.
    """
    e = _escape
    return (
        "["
        + ",".join(
            [
                f"[{ln.line_no},{e(ln.item_name)},"
                f"{'null' if (q := ln.quantity) is None else f'"{q!s}"'},"
                f"{'null' if (p := ln.item_price) is None else f'"{p!s}"'},"
                f"{'null' if (b := ln.subtotal) is None else f'"{b!s}"'},"
                f"{'null' if (d := ln.discount_amount) is None else f'"{d!s}"'},"
                f"{'null' if (t := ln.tax) is None else f'"{t!s}"'},"
                f'"{ln.item_total!s}",{e(ln.payment_method)},{e(ln.location)}]'
                for ln in lines
            ]
        )
        + "]"
    )


def decode_lines(packed: list[list[Any]]) -> tuple[SaleLine, ...]:
    return tuple(
        SaleLine(
            line_no=int(no),
            item_name=str(name),
            quantity=_decimal_or_none(quantity),
            item_price=_decimal_or_none(price),
            subtotal=_decimal_or_none(subtotal),
            discount_amount=_decimal_or_none(discount),
            tax=_decimal_or_none(tax),
            item_total=Decimal(total),
            payment_method=str(payment),
            location=str(location),
        )
        for no, name, quantity, price, subtotal, discount, tax, total, payment, location in packed
    )


def sale_record(write: SaleWrite, now: str) -> str:
    """The packed `sale` attribute of a compact sale item: a JSON object (see encode_lines)."""
    sale = write.sale
    e = _escape
    return (
        f'{{"sale_id":{e(sale.sale_id)},"sale_date":"{sale.sale_date.isoformat()}","hash":{e(write.content_hash)},'
        f'"total":"{sale.total!s}","tax":"{sale.tax!s}","discounts":"{sale.discounts!s}","client_id":{e(sale.client_id)},'
        f'"import_id":{e(write.import_id)},"first_import_id":{e(write.first_import_id)},'
        f'"change":{e(write.change)},"updated_at":{e(now)},"lines":{encode_lines(sale.lines)}'
        f"{encode_history(write.history)}}}"
    )


def encode_history(history: tuple[Holder, ...]) -> str:
    """`,"hist":[[ver,date,total,digest],...]` (newest first), or nothing for a sale that only one
    version was ever written of: a first ingest's items are as big as before."""
    if not history:
        return ""
    e = _escape
    return (
        ',"hist":['
        + ",".join(f'[{e(h.version)},"{h.sale_date.isoformat()}","{h.total!s}",{e(h.digest)}]' for h in history)
        + "]"
    )


def decode_history(packed: list[list[Any]] | None) -> tuple[Holder, ...]:
    return tuple(Holder(str(v), date.fromisoformat(d), Decimal(t), str(h)) for v, d, t, h in packed or ())


def sale_item(write: SaleWrite, now: str) -> Item:
    return {
        "pk": {"S": "SALE#" + write.sale.sale_id},
        "sk": _SALE_SK,
        "ver": {"S": write.version},
        SALE_ATTRIBUTE: {"S": sale_record(write, now)},
    }


class EncodedItem(Mapping[str, Any]):
    """One transaction item written straight as its JSON text, read as the dict that text is.

    The storage puts the text into the request body as it is: no dict built per sale, and no
    encoder walking one. Whatever looks at the items before that (botocore's serialiser for the
    first item, a test, a dev tool's hook) reads a mapping, decoded on the first look.
    """

    __slots__ = ("_value", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._value: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._value is None:
            self._value = dict(json.loads(self.text))
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return f"EncodedItem({self.text!r})"


def item_text(item: Mapping[str, Any]) -> str:
    """A transaction item as request JSON: an `EncodedItem`'s own text, any other item encoded."""
    if isinstance(item, EncodedItem):
        return item.text
    # No cycle check: the items are trees this package built (a fifth of the encoding's time).
    return json.dumps(item, separators=(",", ":"), check_circular=False)


# The rest of a Put after its item: what json.dumps writes for sale_put's fields, in its order.
_PUT_OF_NEW = ',"ReturnValuesOnConditionCheckFailure":"ALL_OLD","ConditionExpression":"attribute_not_exists(pk)"}}'
_PUT_OVER = (
    ',"ReturnValuesOnConditionCheckFailure":"ALL_OLD","ConditionExpression":"#ver = :expected",'
    '"ExpressionAttributeNames":{"#ver":"ver"},"ExpressionAttributeValues":{":expected":{"S":'
)


def sale_put(table: str, write: SaleWrite, now: str) -> EncodedItem:
    """The transaction's Put of one sale: only if storage still holds what the plan expected.

    Its text is exactly what `json.dumps` writes for the item as a dict (ASCII, no spaces), the
    text the request carried when it was one: the packed record is a string inside the item, so
    it is escaped once more here, as any string value is.
    """
    a = _escape_ascii
    text = (
        f'{{"Put":{{"TableName":{a(table)},"Item":{{"pk":{{"S":{a("SALE#" + write.sale.sale_id)}}},'
        f'"sk":{{"S":"{SALE_SK}"}},"ver":{{"S":{a(write.version)}}},'
        f'"{SALE_ATTRIBUTE}":{{"S":{a(sale_record(write, now))}}}}}'
    )
    if write.expected is None:
        return EncodedItem(text + _PUT_OF_NEW)
    return EncodedItem(text + _PUT_OVER + a(write.expected.version) + "}}}}")


def sale_delete(table: str, delete: SaleDelete) -> Item:
    """The transaction's Delete of one sale: only if storage still holds the version expected."""
    return {
        "Delete": {
            "TableName": table,
            "Key": {"pk": {"S": "SALE#" + delete.sale_id}, "sk": _SALE_SK},
            "ConditionExpression": "#ver = :expected",
            "ExpressionAttributeNames": {"#ver": "ver"},
            "ExpressionAttributeValues": {":expected": {"S": delete.expected.version}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _packed(item: Mapping[str, Any]) -> dict[str, Any] | None:
    value = item.get(SALE_ATTRIBUTE)
    return dict(json.loads(value["S"])) if value is not None else None


def stored_sale(item: Mapping[str, Any]) -> StoredSale:
    """What storage holds of a sale, from an item of either shape (compact or earlier)."""
    version = str(item["ver"]["S"])
    packed = _packed(item)
    if packed is not None:
        return StoredSale(
            sale_id=str(packed["sale_id"]),
            sale_date=date.fromisoformat(packed["sale_date"]),
            version=version,
            content_hash=str(packed["hash"]),
            total=Decimal(packed["total"]),
            tax=Decimal(packed["tax"]),
            discounts=Decimal(packed["discounts"]),
            import_id=str(packed["import_id"]),
            first_import_id=str(packed["first_import_id"]),
            change=SaleChange(packed["change"]),
            lines=decode_lines(packed["lines"]),
            client_id=str(packed.get("client_id", "")),
            history=decode_history(packed.get("hist")),
        )
    # The earlier shape: one attribute per field; absent ones read as the earlier reader did.
    return StoredSale(
        sale_id=str(item["sale_id"]["S"]),
        sale_date=date.fromisoformat(item["sale_date"]["S"]),
        version=version,
        content_hash=str(item["hash"]["S"]),
        total=_number_or_zero(item.get("total")),
        tax=_number_or_zero(item.get("tax")),
        discounts=_number_or_zero(item.get("discounts")),
        import_id=_text_or(item.get("import_id"), ""),
        first_import_id=_text_or(item.get("first_import_id"), ""),
        change=SaleChange(_text_or(item.get("change"), SaleChange.UPDATED)),
        lines=sale_lines(item),
        client_id=_text_or(item.get("client_id"), ""),
    )


def sale_lines(item: Mapping[str, Any]) -> tuple[SaleLine, ...]:
    """The lines of a stored sale item of either shape, every amount as it was written."""
    packed = _packed(item)
    if packed is not None:
        return decode_lines(packed["lines"])
    lines = []
    for entry in item.get("lines", {}).get("L", []):
        m = entry["M"]
        lines.append(
            SaleLine(
                line_no=int(m["line_no"]["N"]),
                item_name=str(m["item_name"]["S"]),
                quantity=_number_or_none(m.get("quantity")),
                item_price=_number_or_none(m.get("item_price")),
                subtotal=_number_or_none(m.get("subtotal")),
                discount_amount=_number_or_none(m.get("discount_amount")),
                tax=_number_or_none(m.get("tax")),
                item_total=Decimal(m["item_total"]["N"]),
                payment_method=str(m["payment_method"]["S"]),
                location=str(m["location"]["S"]),
            )
        )
    return tuple(lines)


def sale_client_id(item: Mapping[str, Any]) -> str:
    packed = _packed(item)
    return str(packed["client_id"]) if packed is not None else _text_or(item.get("client_id"), "")


def _number_or_zero(value: Mapping[str, str] | None) -> Decimal:
    return Decimal(value["N"]) if value is not None else ZERO


def _number_or_none(value: Mapping[str, str] | None) -> Decimal | None:
    return Decimal(value["N"]) if value is not None else None


def _text_or(value: Mapping[str, str] | None, default: str) -> str:
    return str(value["S"]) if value is not None else default


# -- day aggregates -------------------------------------------------------------------------------

_DAY_UPDATE = "ADD " + ", ".join(f"#{name} :{name}" for name in DAY_FIELDS) + ", #rev :one SET #updated_at = :now"


def day_update(table: str, day: date, delta: DayTotals, now: str) -> Item:
    """The transaction's Update of one day aggregate: ADD the delta (creating the item if new)."""
    values: Item = {f":{name}": number(getattr(delta, name)) for name in DAY_FIELDS}
    values[":one"] = {"N": "1"}
    values[":now"] = {"S": now}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": _DAYS_PK, "sk": {"S": day.isoformat()}},
            "UpdateExpression": _DAY_UPDATE,
            "ExpressionAttributeNames": {
                **{f"#{n}": n for n in DAY_FIELDS},
                "#rev": "rev",
                "#updated_at": "updated_at",
            },
            "ExpressionAttributeValues": values,
        }
    }


def day_item(day: date, totals: DayTotals, rev: int, now: str) -> Item:
    item: Item = {"pk": _DAYS_PK, "sk": {"S": day.isoformat()}, "rev": number(rev), "updated_at": {"S": now}}
    for name in DAY_FIELDS:
        item[name] = number(getattr(totals, name))
    return item


def day_totals(item: Mapping[str, Any]) -> DayTotals:
    def dec(name: str) -> Decimal:
        return _number_or_zero(item.get(name))

    def count(name: str) -> int:
        value = item.get(name)
        return int(value["N"]) if value is not None else 0

    return DayTotals(
        revenue=dec("revenue"),
        net=dec("net"),
        tax=dec("tax"),
        discounts=dec("discounts"),
        order_count=count("order_count"),
        order_value=dec("order_value"),
        refund_count=count("refund_count"),
        refunds=dec("refunds"),
        sales_count=count("sales_count"),
    )


# -- any other item (import records) --------------------------------------------------------------


def to_wire(value: Any) -> dict[str, Any]:
    """A plain value (str, bool, int, Decimal, None, list, dict) as a DynamoDB attribute value."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, Decimal)):
        return number(value)
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_wire(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_wire(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB (money is Decimal, never float)")


def from_wire(value: Mapping[str, Any]) -> Any:  # noqa: PLR0911 - one return per DynamoDB type
    """A DynamoDB attribute value as a plain value (numbers as Decimal, as boto3 reads them)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        return Decimal(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_wire(v) for k, v in raw.items()}
    if kind == "L":
        return [from_wire(v) for v in raw]
    if kind == "SS":
        return set(raw)
    if kind == "NS":
        return {Decimal(v) for v in raw}
    raise ValueError(f"unexpected DynamoDB attribute type {kind}")


def plain_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: from_wire(value) for name, value in item.items()}


# -- breakdown shards (docs/architecture.md, "Breakdown shards") --------------------------------------

BREAKDOWN_PK_PREFIX = "BY#"
KEYS_ATTRIBUTE = "keys"
# A key's five figures: Item Total, Tax, Quantity, lines, sales; each named <letter><key id>.
_FIGURE_LETTERS = ("r", "t", "q", "l", "s")
_FIGURE_NAME_LENGTH = 17  # one letter and a 16-character key id
_PLACEHOLDER_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def breakdown_pk(dimension: str) -> str:
    return BREAKDOWN_PK_PREFIX + dimension


def shard_sk(day: date, shard: int) -> str:
    return f"{day.isoformat()}#{shard:03d}"


def _placeholder(n: int) -> str:
    # Two characters for every placeholder of a shard's update (up to 3,844): the expression of 80
    # keys' 400 terms must stay under DynamoDB's 4 KB.
    return _PLACEHOLDER_ALPHABET[n // 62] + _PLACEHOLDER_ALPHABET[n % 62]


# Every placeholder of an update, made once: a shard update names hundreds (~15 µs of a call each).
_VALUE_NAMES = tuple(":" + _placeholder(n) for n in range(len(_PLACEHOLDER_ALPHABET) ** 2))
_ATTRIBUTE_NAMES = tuple("#" + _placeholder(n) for n in range(len(_PLACEHOLDER_ALPHABET) ** 2))


def _figures_of(totals: KeyTotals) -> tuple[Decimal | int, ...]:
    return (totals.revenue, totals.tax, totals.quantity, totals.lines, totals.sales)


def shard_update(table: str, ref: ShardRef, delta: ShardDelta, now: str) -> Item | None:
    """The transaction's Update of one breakdown shard: ADD each key's figures and its set
    members, only if the shard has room for the keys new to it and holds the keys the plan
    expects there. None when the delta adds nothing."""
    names: dict[str, str] = {"#k": KEYS_ATTRIBUTE, "#v": "rev", "#u": "updated_at"}
    values: Item = {":one": {"N": "1"}, ":now": {"S": now}, ":room": number(SHARD_UNITS - delta.new_units)}
    by_text: dict[str, str] = {}
    terms: list[str] = []
    new_keys: list[str] = []
    counter = 0
    value_names, attribute_names = _VALUE_NAMES, _ATTRIBUTE_NAMES
    for key, totals in delta.figures.items():
        if totals.is_zero():
            continue
        ident = key_id(key)
        for letter, value in zip(_FIGURE_LETTERS, _figures_of(totals), strict=True):
            if not value:
                continue
            text = str(value)
            value_name = by_text.get(text)
            if value_name is None:
                value_name = by_text[text] = value_names[counter]
                values[value_name] = number(value)
                counter += 1
            name = attribute_names[counter]
            counter += 1
            names[name] = letter + ident
            terms.append(name + " " + value_name)
        if key not in delta.present:
            new_keys.append(key)
    if not terms:
        return None
    if len(delta.figures) > MAX_KEYS_PER_UPDATE:
        raise ValueError(f"a shard update holds at most {MAX_KEYS_PER_UPDATE} keys, not {len(delta.figures)}")
    adds = ["#v :one", *terms]
    if new_keys:
        values[":k"] = {"SS": list(iter_members(new_keys))}
        adds.insert(0, "#k :k")
    checks = []
    for key in sorted(delta.present):
        value_name = value_names[counter]
        counter += 1
        values[value_name] = {"S": "=" + key}
        checks.append(f"contains(#k,{value_name})")
    condition = (
        " AND ".join(["attribute_exists(#k)", "size(#k) <= :room", *checks])
        if checks
        else "attribute_not_exists(#k) OR size(#k) <= :room"
    )
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": breakdown_pk(ref.dimension)}, "sk": {"S": shard_sk(ref.day, ref.shard)}},
            "UpdateExpression": "ADD " + ",".join(adds) + " SET #u = :now",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def shard_item(dimension: str, day: date, shard: int, figures: Mapping[str, KeyTotals], rev: int, now: str) -> Item:
    """A whole shard, as a repair writes it (no `keys` at all when it holds nothing)."""
    item: Item = {
        "pk": {"S": breakdown_pk(dimension)},
        "sk": {"S": shard_sk(day, shard)},
        "rev": number(rev),
        "updated_at": {"S": now},
    }
    kept = [key for key, totals in figures.items() if not totals.is_zero()]
    if kept:
        item[KEYS_ATTRIBUTE] = {"SS": list(iter_members(kept))}
    for key in kept:
        ident = key_id(key)
        for letter, value in zip(_FIGURE_LETTERS, _figures_of(figures[key]), strict=True):
            if value:
                item[letter + ident] = number(value)
    return item


_BASE_ATTRIBUTES = frozenset({"pk", "sk", KEYS_ATTRIBUTE, "rev", "updated_at"})


def _key_figures(item: Mapping[str, Any], ident: str) -> list[Decimal]:
    out = []
    for letter in _FIGURE_LETTERS:
        value = item.get(letter + ident)
        out.append(Decimal(value["N"]) if value is not None else ZERO)
    return out


def breakdown_shard(item: Mapping[str, Any], ids: dict[str, str] | None = None) -> BreakdownShard:
    """A stored shard item read back: its keys, units, write counter and figures per key.

    `ids` caches each key's id across the items of one read (the same keys recur day after day).
    """
    ids = {} if ids is None else ids
    dimension = str(item["pk"]["S"]).removeprefix(BREAKDOWN_PK_PREFIX)
    day_text, _, shard_text = str(item["sk"]["S"]).partition("#")
    members = item.get(KEYS_ATTRIBUTE, {}).get("SS", [])
    figures: dict[str, KeyTotals] = {}
    seen = 0
    for member in members:
        if not member.startswith("="):
            continue  # a unit marker of a long key
        key = member[1:]
        ident = ids.get(key)
        if ident is None:
            ident = ids[key] = key_id(key)
        f = _key_figures(item, ident)
        seen += sum(1 for letter in _FIGURE_LETTERS if letter + ident in item)
        figures[key] = KeyTotals(f[0], f[1], f[2], int(f[3]), int(f[4]))
    keys = frozenset(figures)
    if seen != len(item.keys() - _BASE_ATTRIBUTES):
        # A figure whose key is not in the set cannot be written by this code; were one there,
        # it is kept under its id so that reconcile reports it rather than losing it.
        known = {letter + ids[key] for key in keys for letter in _FIGURE_LETTERS}
        for name in item.keys() - known - _BASE_ATTRIBUTES:
            if len(name) == _FIGURE_NAME_LENGTH and name[0] in _FIGURE_LETTERS:
                f = _key_figures(item, name[1:])
                figures["?" + name[1:]] = KeyTotals(f[0], f[1], f[2], int(f[3]), int(f[4]))
    rev = item.get("rev")
    return BreakdownShard(
        dimension=dimension,
        day=date.fromisoformat(day_text),
        shard=int(shard_text),
        rev=int(rev["N"]) if rev is not None else 0,
        keys=keys,
        units=len(members),
        figures=figures,
    )


class ShardSums:
    """Each key's figures over many shard items (a range's breakdown), straight from the wire
    items, without building a shard of each: the number texts are collected per key and figure
    and summed once at the end, a third faster than adding Decimals as they come."""

    def __init__(self) -> None:
        self._names: dict[str, tuple[str, ...]] = {}  # key -> its five attribute names
        self._texts: dict[str, tuple[list[str], ...]] = {}

    def add(self, item: Mapping[str, Any]) -> None:
        for member in item.get(KEYS_ATTRIBUTE, {}).get("SS", ()):
            if not member.startswith("="):
                continue  # a unit marker of a long key
            key = member[1:]
            names = self._names.get(key)
            if names is None:
                ident = key_id(key)
                names = self._names[key] = tuple(letter + ident for letter in _FIGURE_LETTERS)
            texts = self._texts.get(key)
            if texts is None:
                texts = self._texts[key] = ([], [], [], [], [])
            for collected, name in zip(texts, names, strict=True):
                value = item.get(name)
                if value is not None:
                    collected.append(value["N"])

    def totals(self) -> dict[str, KeyTotals]:
        """Per key (those summing to zero left out)."""
        out: dict[str, KeyTotals] = {}
        for key, (revenue, tax, quantity, lines, sales) in self._texts.items():
            totals = KeyTotals(
                sum(map(Decimal, revenue), ZERO),
                sum(map(Decimal, tax), ZERO),
                sum(map(Decimal, quantity), ZERO),
                sum(map(int, lines)),
                sum(map(int, sales)),
            )
            if not totals.is_zero():
                out[key] = totals
        return out
