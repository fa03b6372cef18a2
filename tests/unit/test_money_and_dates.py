"""Money and dates as exports write them, and half-up rounding to cents as the API reports them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from salesmetrics.dates import DateError, parse_sale_date
from salesmetrics.money import AmountError, TwoWay, parse_amount, round_cents

D = Decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", D("1234.50")),
        ("$1,234.50", D("1234.50")),
        ("S$1,234.50", D("1234.50")),
        ("S$1,234,567.5", D("1234567.5")),
        ("-S$5", D(-5)),
        ("S$-5", D(-5)),
        ("-$1,234.50", D("-1234.50")),
        ("-196.2", D("-196.2")),
        ("0.436", D("0.436")),
        ("34.880", D("34.88")),
        (".5", D("0.5")),
        (" 12 ", D(12)),
        ("0", D(0)),
        ("-0", D(0)),
    ],
)
def test_export_number_formats_parse_to_exact_decimals(raw: str, expected: Decimal) -> None:
    value = parse_amount(raw)
    assert type(value) is Decimal
    assert value == expected


def test_three_decimal_money_keeps_every_digit() -> None:
    # 9% GST on 4.84 is 0.4356, exported as 0.436: the third decimal is real money.
    value = parse_amount("0.436")
    assert str(value) == "0.436"
    amounts = [parse_amount(text) for text in ("0.436", "0.437", "0.1", "0.2")]
    assert all(type(a) is Decimal for a in amounts)
    a, b, c, d = (x or D(0) for x in amounts)
    assert a + b == D("0.873")
    # The classic float trap: exact decimals do not drift.
    assert c + d == D("0.3")


@pytest.mark.parametrize("raw", ["", "---", "   ", " --- "])
def test_placeholders_mean_no_value(raw: str) -> None:
    assert parse_amount(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "0.4361",  # 4 decimals: more precision than any export has
        "abc",
        "1e5",
        "1E5",
        "NaN",
        "nan",
        "Infinity",
        "inf",
        "--5",
        "-S$-5",
        "-",
        "$",
        "S$",
        "1,23",
        "12,34.5",
        "1.2.3",
        "1 234",
        "5-",
        "(5.00)",
    ],
)
def test_malformed_numbers_are_refused(raw: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["0,436", "$0,436", "-0,5", "00,436"])
def test_a_leading_zero_group_is_a_decimal_comma_not_thousands(raw: str) -> None:
    # No thousands formatter writes `0,436`: it is 0.436 from a decimal-comma locale, never 436.
    with pytest.raises(AmountError, match="looks like a decimal comma"):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.234,50", D("1234.50")),
        ("1 234,50", D("1234.50")),
        ("4,36", D("4.36")),
        ("-S$1.234,5", D("-1234.5")),
        ("S$-0,436", D("-0.436")),
        ("1.234", D(1234)),
        ("---", None),
    ],
)
def test_decimal_comma_numbers_parse_to_exact_decimals(raw: str, expected: Decimal | None) -> None:
    assert parse_amount(raw, decimal_comma=True) == expected


def test_the_two_decimal_conventions_never_share_a_memoised_result() -> None:
    assert parse_amount("1,234") == D(1234)
    assert parse_amount("1,234", decimal_comma=True) == D("1.234")
    assert parse_amount("1.234", decimal_comma=True) == D(1234)
    assert parse_amount("1.234") == D("1.234")


def test_error_message_quotes_the_cell() -> None:
    with pytest.raises(AmountError, match="'abc' is not a number"):
        parse_amount("abc")
    with pytest.raises(AmountError, match="more than 3 decimals"):
        parse_amount("1.2345")


def test_memoised_parse_keeps_decimal_limits_apart() -> None:
    # The parse cache must not let a result computed under one decimal limit leak into another.
    assert parse_amount("7.1234", max_decimals=4) == D("7.1234")
    with pytest.raises(AmountError):
        parse_amount("7.1234")
    with pytest.raises(AmountError):
        parse_amount("7.1234")  # errors are not cached into values either
    assert parse_amount("7.1234", max_decimals=4) == D("7.1234")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004999", "0.00"),
        ("2.675", "2.68"),  # a float would give 2.67 (2.675 is 2.67499999... in binary)
        ("2.665", "2.67"),
        ("34.885", "34.89"),
        ("1", "1.00"),
        ("0", "0.00"),
        # ROUND_HALF_UP rounds ties away from zero, so refunds mirror orders exactly.
        ("-0.005", "-0.01"),
        ("-2.675", "-2.68"),
        ("-0.004", "0.00"),
    ],
)
def test_round_cents_is_half_up_away_from_zero(value: str, expected: str) -> None:
    rounded = round_cents(D(value))
    assert type(rounded) is Decimal
    assert rounded == D(expected)
    assert rounded.as_tuple().exponent == -2


def test_round_cents_is_symmetric_for_refunds() -> None:
    for text in ("0.005", "0.015", "1.125", "99.995", "0.436"):
        assert round_cents(-D(text)) == -round_cents(D(text))


@pytest.mark.parametrize("raw", ["3/1/2025", "03/01/2025", "3/01/2025", "03/1/2025", "2025-03-01", " 3/1/2025 "])
def test_us_and_iso_dates(raw: str) -> None:
    assert parse_sale_date(raw) == date(2025, 3, 1)


def test_dates_are_month_first() -> None:
    assert parse_sale_date("1/2/2025") == date(2025, 1, 2)
    assert parse_sale_date("12/31/2024") == date(2024, 12, 31)
    assert parse_sale_date("2/29/2024") == date(2024, 2, 29)


@pytest.mark.parametrize(
    "raw",
    [
        "2/30/2025",
        "2/29/2025",
        "13/01/2025",
        "31/12/2024",
        "0/1/2025",
        "1/0/2025",
        "2025/03/01",
        "March 1",
        "March 1, 2025",
        "3/1/25",
        "2025-3-1",
        "20250301",
        "",
        "---",
        "3/1/2025 10:30",
        "3-1-2025",
    ],
)
def test_non_dates_are_refused(raw: str) -> None:
    with pytest.raises(DateError):
        parse_sale_date(raw)


def test_date_error_quotes_the_cell() -> None:
    with pytest.raises(DateError, match="'2/30/2025'"):
        parse_sale_date("2/30/2025")
    with pytest.raises(DateError, match="'March 1'"):
        parse_sale_date("March 1")


def test_numbers_that_read_two_ways_are_refused_only_as_the_file_s_evidence_says() -> None:
    # Proven mark: read by it. Nothing proven: refused only where the mark would be thousands
    # (never a thousand-fold too large). Both proven: always refused. The memo of one way never
    # answers for another, in any order.
    undecided = TwoWay(refuse_all=False, why="nothing says")
    conflict = TwoWay(refuse_all=True, why="both said")
    for _ in range(2):
        assert parse_amount("34.880", decimal_comma=True) == D(34880)
        assert parse_amount("34,880", decimal_comma=True, two_way=undecided) == D("34.880")
        assert parse_amount("34.880", two_way=undecided) == D("34.880")
        with pytest.raises(
            AmountError,
            match=r"'34.880' reads two ways, 34.880 with a decimal point or 34880 with "
            r"a decimal comma, and nothing says: it is not guessed",
        ):
            parse_amount("34.880", decimal_comma=True, two_way=undecided)
        with pytest.raises(AmountError, match=r"'-1,234' reads two ways, -1234 with a decimal point or -1\.234"):
            parse_amount("-1,234", two_way=undecided)
        for raw, comma in (("34,880", True), ("34.880", False)):
            with pytest.raises(AmountError, match="and both said: it is not guessed"):
                parse_amount(raw, decimal_comma=comma, two_way=conflict)
        assert parse_amount("12.50", two_way=conflict) == D("12.50")
        with pytest.raises(AmountError, match=r"'0,436' looks like a decimal comma, .*\('0.436'\); both said"):
            parse_amount("0,436", two_way=conflict)
