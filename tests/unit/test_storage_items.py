"""The hand-written DynamoDB JSON of the storage: exact amounts, round trips, both item shapes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Clamped, Context, Decimal, DecimalException, Inexact, Overflow, Rounded, Underflow
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics.breakdowns import key_id
from salesmetrics.sales import DayTotals, Sale, SaleChange, SaleLine, StoredSale
from salesmetrics.storage.base import SaleWrite
from salesmetrics.storage.items import (
    EncodedItem,
    day_item,
    day_totals,
    day_update,
    decode_lines,
    encode_lines,
    from_wire,
    item_text,
    number,
    sale_client_id,
    sale_item,
    sale_lines,
    sale_put,
    sale_record,
    stored_sale,
    to_wire,
)
from tests.earlier_shape import earlier_sale_item

NOW = "2025-05-01T09:00:00.000Z"
VERSION = "2025-05-01T09:00:00.000000|0A00000000000000000000000000000|imp_a|0000000002"
# Amounts whose text a careless encoder would change: a trailing zero, a negative zero, an
# exponent (what Decimal.normalize() makes of 100), tiny, and more digits than a float holds.
TRICKY = [
    "0.001",
    "-0",
    "1E+2",
    "34.880",
    "-12.50",
    "0E-3",
    "123456789012345678901234567890.123456789",
    "-0.000000000000000000000000000000000001",
]


def _line(no: int, total: str, **kw: Any) -> SaleLine:
    fields: dict[str, Any] = {
        "line_no": no,
        "item_name": "Bay hire",
        "quantity": Decimal(1),
        "item_price": None,
        "subtotal": None,
        "discount_amount": None,
        "tax": None,
        "item_total": Decimal(total),
        "payment_method": "Cash",
        "location": "Range",
    }
    fields.update(kw)
    return SaleLine(**fields)


def _write(
    lines: tuple[SaleLine, ...], *, sale_id: str = "S-1", expected: StoredSale | None = None, change: str = "created"
) -> SaleWrite:
    sale = Sale.build(sale_id, date(2025, 3, 1), "C-9", lines)
    return SaleWrite(sale, VERSION, "imp_a", "imp_first", expected, change, sale.content_hash)


def _same_text(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal digit for digit: value, sign (of zero too) and exponent."""
    return (a is None and b is None) or (a is not None and b is not None and a.as_tuple() == b.as_tuple())


@pytest.mark.parametrize("text", TRICKY)
def test_every_amount_of_a_line_comes_back_digit_for_digit(text: str) -> None:
    amount = Decimal(text)
    line = _line(7, text, quantity=amount, item_price=amount, subtotal=amount, discount_amount=amount, tax=amount)
    (back,) = decode_lines(json.loads(encode_lines((line,))))
    for name in ("quantity", "item_price", "subtotal", "discount_amount", "tax", "item_total"):
        assert _same_text(getattr(back, name), amount), (name, getattr(back, name), text)
    assert back == line


@pytest.mark.parametrize("text", TRICKY)
def test_sale_totals_read_back_from_a_compact_item_are_exact(text: str) -> None:
    write = _write((_line(2, text, tax=Decimal(text), discount_amount=Decimal(text)),))
    stored = stored_sale(sale_item(write, NOW))
    assert _same_text(stored.total, Decimal(text))
    assert _same_text(stored.tax, Decimal(text))
    assert _same_text(stored.discounts, Decimal(text))


def test_a_compact_item_holds_everything_the_earlier_item_did() -> None:
    lines = (_line(2, "81.75", item_price=Decimal("75"), tax=Decimal("6.75")), _line(3, "8.72", item_name='60 "Mins"'))
    write = _write(lines, change="updated")
    item = sale_item(write, NOW)
    assert set(item) == {"pk", "sk", "ver", "sale"}
    assert item["pk"] == {"S": "SALE#S-1"} and item["sk"] == {"S": "SALE"} and item["ver"] == {"S": VERSION}
    assert stored_sale(item) == StoredSale(
        "S-1",
        date(2025, 3, 1),
        VERSION,
        write.content_hash,
        Decimal("90.47"),
        Decimal("6.75"),
        Decimal(0),
        "imp_a",
        "imp_first",
        "updated",
        lines,
        "C-9",
    )
    assert sale_lines(item) == lines
    assert sale_client_id(item) == "C-9"
    assert json.loads(item["sale"]["S"])["updated_at"] == NOW


def test_lines_read_back_rebuild_the_same_sale() -> None:
    lines = (_line(4, "10.90", tax=Decimal("0.90"), discount_amount=Decimal("-1.00")), _line(5, "-3.5"))
    write = _write(lines)
    back = sale_lines(sale_item(write, NOW))
    rebuilt = Sale.build("S-1", date(2025, 3, 1), "C-9", back)
    assert rebuilt == write.sale
    assert rebuilt.content_hash == write.content_hash


names = st.text(st.characters(codec="utf-8"), max_size=30)  # quotes, backslashes, controls, emoji
amounts = st.decimals(allow_nan=False, allow_infinity=False, places=None)
maybe = st.none() | amounts
lines_strategy = st.lists(
    st.builds(SaleLine, st.integers(1, 10**9), names, maybe, maybe, maybe, maybe, maybe, amounts, names, names),
    min_size=1,
    max_size=6,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy)
def test_any_lines_round_trip_exactly(lines: tuple[SaleLine, ...]) -> None:
    text = encode_lines(lines)
    back = decode_lines(json.loads(text))
    assert back == lines
    for a, b in zip(back, lines, strict=True):
        for name in ("quantity", "item_price", "subtotal", "discount_amount", "tax", "item_total"):
            assert _same_text(getattr(a, name), getattr(b, name))


@settings(max_examples=100, deadline=None)
@given(sale_id=names.filter(bool), client=names, lines=lines_strategy)
def test_the_packed_record_is_valid_json_for_any_text(sale_id: str, client: str, lines: tuple[SaleLine, ...]) -> None:
    sale = Sale(sale_id, date(2024, 2, 29), client, lines, lines[0].item_total, Decimal("0.001"), Decimal("-0"))
    write = SaleWrite(sale, VERSION, "imp_a", "imp_a", None, "created", "h")
    record = json.loads(sale_record(write, NOW))
    assert record["sale_id"] == sale_id and record["client_id"] == client
    assert stored_sale(sale_item(write, NOW)).sale_id == sale_id
    assert sale_lines(sale_item(write, NOW)) == lines


# -- items in the earlier shape (what tables deployed before the compact item hold) --------------


def test_an_item_in_the_earlier_shape_reads_as_the_same_sale() -> None:
    lines = (_line(2, "34.880", tax=Decimal("2.88"), item_price=Decimal("32")), _line(3, "-0", item_name="Refund"))
    write = _write(lines, change="unchanged")
    new = sale_item(write, NOW)
    old = earlier_sale_item(new)
    assert "sale" not in old and old["lines"]["L"][0]["M"]["item_total"] == {"N": "34.880"}
    assert stored_sale(old) == stored_sale(new)
    assert sale_lines(old) == sale_lines(new) == lines
    assert sale_client_id(old) == sale_client_id(new) == "C-9"


def test_an_earlier_item_missing_optional_attributes_reads_as_before() -> None:
    old = earlier_sale_item(sale_item(_write((_line(1, "5"),)), NOW))
    for name in ("total", "tax", "discounts", "import_id", "first_import_id", "change"):
        del old[name]
    stored = stored_sale(old)
    assert (stored.total, stored.tax, stored.discounts) == (Decimal(0), Decimal(0), Decimal(0))
    assert (stored.import_id, stored.first_import_id, stored.change) == ("", "", "updated")


# -- puts, updates, numbers -------------------------------------------------------------------------


def test_a_put_of_a_new_sale_requires_its_absence_and_returns_the_item_if_not() -> None:
    put = sale_put("t", _write((_line(1, "5"),)), NOW)["Put"]
    assert put["ConditionExpression"] == "attribute_not_exists(pk)"
    assert put["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    assert "ExpressionAttributeValues" not in put


def test_a_put_over_a_stored_sale_requires_the_version_it_was_planned_against() -> None:
    stored = StoredSale("S-1", date(2025, 3, 1), "older|ver", "h", Decimal(5), Decimal(0), Decimal(0), "i", "i")
    put = sale_put("t", _write((_line(1, "5"),), expected=stored), NOW)["Put"]
    assert put["ConditionExpression"] == "#ver = :expected"
    assert put["ExpressionAttributeNames"] == {"#ver": "ver"}
    assert put["ExpressionAttributeValues"] == {":expected": {"S": "older|ver"}}


def _put_as_dict(table: str, write: SaleWrite, now: str) -> dict[str, Any]:
    """The Put of a sale as the dict it was built as before it was written as text: the spec."""
    put: dict[str, Any] = {
        "TableName": table,
        "Item": sale_item(write, now),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if write.expected is None:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        put["ConditionExpression"] = "#ver = :expected"
        put["ExpressionAttributeNames"] = {"#ver": "ver"}
        put["ExpressionAttributeValues"] = {":expected": {"S": write.expected.version}}
    return {"Put": put}


@settings(max_examples=300, deadline=None)
@given(
    table=st.text(min_size=1, max_size=20),
    sale_id=st.text(min_size=1, max_size=30),  # any code point, lone surrogates included
    client=st.text(max_size=30),
    version=st.text(max_size=60),
    expected=st.none() | st.text(max_size=60),
    lines=lines_strategy,
)
def test_a_put_is_written_as_exactly_the_json_of_its_dict(
    table: str, sale_id: str, client: str, version: str, expected: str | None, lines: tuple[SaleLine, ...]
) -> None:
    sale = Sale.build(sale_id, date(2024, 2, 29), client, lines)
    stored = (
        None
        if expected is None
        else StoredSale(sale_id, date(2024, 2, 29), expected, "h", *(Decimal(0),) * 3, "i", "i")
    )
    write = SaleWrite(sale, version, "imp_a", "imp_first", stored, SaleChange.CREATED, sale.content_hash)
    put = sale_put(table, write, NOW)
    spec = _put_as_dict(table, write, NOW)
    # Byte for byte what json.dumps writes (ASCII, so the body encodes whatever the text held).
    assert item_text(put) == json.dumps(spec, separators=(",", ":")) == put.text
    assert put.text.isascii()
    assert dict(put) == spec and put["Put"]["Item"]["pk"] == {"S": "SALE#" + sale_id}
    assert stored_sale(put["Put"]["Item"]).sale_id == sale_id


def test_an_encoded_item_reads_as_the_mapping_it_encodes() -> None:
    item = EncodedItem('{"Put":{"TableName":"t","Item":{"pk":{"S":"a\\u00e9"}}}}')
    assert len(item) == 1 and list(item) == ["Put"] and "Put" in item and item.get("Update") is None
    assert item["Put"]["Item"]["pk"]["S"] == "a\u00e9" and dict(item.items()) == {"Put": item["Put"]}
    assert item_text({"Update": {"Key": {"sk": {"S": "é"}}}}) == '{"Update":{"Key":{"sk":{"S":"\\u00e9"}}}}'


def test_a_day_update_adds_every_figure_as_exact_numbers() -> None:
    delta = DayTotals.of(Decimal("-0.001"), Decimal("1E+2"), Decimal("0"))
    update = day_update("t", date(2025, 3, 1), delta, NOW)["Update"]
    values = update["ExpressionAttributeValues"]
    assert values[":revenue"] == {"N": "-0.001"} and values[":tax"] == {"N": "1E+2"}
    assert values[":refund_count"] == {"N": "1"} and values[":one"] == {"N": "1"} and values[":now"] == {"S": NOW}
    assert update["Key"] == {"pk": {"S": "DAYS"}, "sk": {"S": "2025-03-01"}}
    assert update["UpdateExpression"].startswith("ADD #revenue :revenue, #net :net")
    assert day_totals({k.lstrip(":"): v for k, v in values.items()}) == delta


def test_a_replaced_day_reads_back_as_its_totals() -> None:
    totals = DayTotals(
        Decimal("123456789012345678901234567890.12"),
        Decimal("1.5"),
        Decimal("-0"),
        Decimal(0),
        3,
        Decimal("7.25"),
        1,
        Decimal("-2"),
        4,
    )
    item = day_item(date(2024, 2, 29), totals, 7, NOW)
    assert item["rev"] == {"N": "7"} and item["sk"] == {"S": "2024-02-29"}
    assert day_totals(item) == totals


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.001"), "0.001"),
        (Decimal("-0"), "-0"),
        (Decimal(100).normalize(), "1E+2"),
        (Decimal("1" * 38), "1" * 38),
        (42, "42"),
        (-7, "-7"),
    ],
)
def test_numbers_keep_their_text(value: Decimal | int, text: str) -> None:
    assert number(value) == {"N": text}


@pytest.mark.parametrize(
    "value",
    [
        Decimal("1" * 39),
        Decimal("1.00000000000000000000000000000000000001"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+200"),
    ],
)
def test_a_number_dynamodb_cannot_hold_exactly_is_refused_not_rounded(value: Decimal) -> None:
    with pytest.raises(ValueError, match="DynamoDB"):
        number(value)


def _storable(value: Decimal | int) -> bool:
    """The full check, as boto3's TypeSerializer makes it: exact within 38 digits of precision
    and DynamoDB's exponent range, finite."""
    context = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
    try:
        return context.create_decimal(value).is_finite()
    except DecimalException:
        return False


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True),
        st.integers(min_value=-(10**45), max_value=10**45),
        st.builds(
            lambda digits, exp, neg: Decimal((neg, tuple(int(c) for c in digits), exp)),
            st.text("0123456789", min_size=1, max_size=45),
            st.integers(-140, 135),
            st.integers(0, 1),
        ),
    )
)
def test_a_number_is_stored_with_its_own_text_exactly_when_dynamodb_can_hold_it(value: Decimal | int) -> None:
    # The short-text shortcut in `number` must agree with the full check on every value.
    if _storable(value):
        assert number(value) == {"N": str(value)}
    else:
        with pytest.raises(ValueError, match="DynamoDB"):
            number(value)


@pytest.mark.parametrize("value", [1.5, True, "3"])
def test_only_ints_and_decimals_are_numbers(value: Any) -> None:
    with pytest.raises(TypeError):
        number(value)


def test_plain_values_round_trip_through_the_wire_form() -> None:
    value = {
        "s": "x",
        "n": Decimal("1.50"),
        "i": 3,
        "b": False,
        "none": None,
        "list": ["a", Decimal("-0")],
        "map": {"k": "v"},
    }
    assert from_wire(to_wire(value)) == {**value, "i": Decimal(3)}
    with pytest.raises(TypeError, match="float"):
        to_wire({"money": 1.5})


def test_the_key_ids_of_shard_updates_are_each_keys_digest_and_their_cache_stays_bounded() -> None:
    key_id.cache_clear()
    for n in range(3):
        assert key_id(f"item {n}") == key_id.__wrapped__(f"item {n}")
        assert key_id(f"item {n}") == key_id(f"item {n}")
    info = key_id.cache_info()
    assert info.maxsize == 20_000 and info.currsize == 3 and info.hits >= 3
