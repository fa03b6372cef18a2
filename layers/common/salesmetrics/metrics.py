"""Revenue figures from day aggregates (docs/contract.md: what the figures mean, the API).

Everything here is computed from `DayTotals` only, never from individual sales: a query over any
range costs one read of at most `MAX_RANGE_DAYS` small items, however many sales were stored.

Sums stay exact `Decimal`s. The only quotient (average order value) is rounded half-up to cents
directly from the exact rational value, so nothing is ever rounded twice; every other figure is
rounded once, at the API edge, by `money_text`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from .money import ZERO, round_cents
from .sales import ZERO_TOTALS, DayTotals

MAX_RANGE_DAYS = 3660


class RangeError(ValueError):
    """A requested date range the API refuses; `parameter` names the query parameter at fault."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def validate_range(start: date, end: date, max_days: int = MAX_RANGE_DAYS) -> None:
    """Refuse `start` after `end` and ranges longer than `max_days` (both ends inclusive)."""
    if start > end:
        raise RangeError("start", f"start ({start.isoformat()}) is after end ({end.isoformat()})")
    days = range_days(start, end)
    if days > max_days:
        raise RangeError(
            "end",
            f"the range start..end covers {days} days; at most {max_days} are allowed",
        )


def range_days(start: date, end: date) -> int:
    """Number of days in the inclusive range (0 when `start` is after `end`)."""
    return max((end - start).days + 1, 0)


def iter_days(start: date, end: date) -> Iterator[date]:
    # Offsets, not `day += 1 day` until past `end`: that would overflow at date.max (9999-12-31).
    for offset in range(range_days(start, end)):
        yield start + timedelta(days=offset)


def average(value: Decimal, count: int) -> Decimal:
    """`value / count` rounded half-up to cents, exactly; 0.00 when `count` is 0.

    Computed on the exact rational value (integer arithmetic), not on a `Decimal` quotient cut to
    the context's 28 digits, so the result is the true half-up rounding whatever the inputs.
    """
    if count <= 0:
        return round_cents(ZERO)
    numerator, denominator = value.as_integer_ratio()
    # cents = value * 100 / count = numerator * 100 / (denominator * count)
    num = numerator * 100
    den = denominator * count
    quotient, remainder = divmod(abs(num), den)
    if 2 * remainder >= den:  # half-up: ties go away from zero
        quotient += 1
    cents = -quotient if num < 0 else quotient
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))


def money_text(value: Decimal) -> str:
    """The API's money format: half-up to cents, always two decimals, no exponent, no `-0.00`.

    Strings, not JSON numbers: most JSON parsers read numbers as binary floats, which cannot hold
    most cent amounts exactly.
    """
    rounded = round_cents(value)
    if rounded.is_zero():
        rounded = round_cents(ZERO)  # -0.004 rounds to -0.00; say 0.00
    return format(rounded, "f")


@dataclass(frozen=True, slots=True)
class RevenueSummary:
    """`GET /metrics/revenue` (docs/contract.md), exact (round with `money_text` when presenting).

    `refunds` is the sum of the totals of refund sales (sales whose total is < 0), so it is zero
    or negative; `total_revenue` already includes it (revenue is the sum of all sale totals).
    """

    start: date
    end: date
    total_revenue: Decimal
    net_revenue: Decimal
    tax: Decimal
    discounts: Decimal
    order_count: int
    order_value: Decimal
    refund_count: int
    refunds: Decimal
    sales_count: int

    @property
    def average_order_value(self) -> Decimal:
        """Order value / orders, already rounded half-up to cents (0.00 without orders)."""
        return average(self.order_value, self.order_count)


@dataclass(frozen=True, slots=True)
class DayRevenue:
    """One day of `GET /metrics/revenue/daily`."""

    day: date
    revenue: Decimal
    order_count: int
    order_value: Decimal

    @property
    def average_order_value(self) -> Decimal:
        return average(self.order_value, self.order_count)


def _in_range(days: Mapping[date, DayTotals], start: date, end: date) -> Iterator[DayTotals]:
    # Storage should return only days in range; filtering again keeps the figures right even if
    # an implementation hands back a wider page.
    return (totals for day, totals in days.items() if start <= day <= end)


def revenue_summary(days: Mapping[date, DayTotals], start: date, end: date) -> RevenueSummary:
    """Sum the day aggregates of `start..end` (inclusive) into the revenue summary."""
    totals = sum(_in_range(days, start, end), ZERO_TOTALS)
    return RevenueSummary(
        start=start,
        end=end,
        total_revenue=totals.revenue,
        net_revenue=totals.net,
        tax=totals.tax,
        discounts=totals.discounts,
        order_count=totals.order_count,
        order_value=totals.order_value,
        refund_count=totals.refund_count,
        refunds=totals.refunds,
        sales_count=totals.sales_count,
    )


def daily_series(days: Mapping[date, DayTotals], start: date, end: date) -> list[DayRevenue]:
    """Every day of `start..end` in date order; days without an aggregate count as zero."""
    series: list[DayRevenue] = []
    for day in iter_days(start, end):
        totals = days.get(day, ZERO_TOTALS)
        series.append(DayRevenue(day, totals.revenue, totals.order_count, totals.order_value))
    return series


# -- series: weeks and months -----------------------------------------------------------------------

GRANULARITIES = ("day", "week", "month")


def periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    """The periods of `start..end` in order: days, ISO weeks (Monday to Sunday) or calendar
    months, the first and the last clipped to the range."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    out: list[tuple[date, date]] = []
    first = start
    for _ in range(range_days(start, end)):  # bounded: at least one day per period
        if first > end:
            break
        if granularity == "day":
            last = first
        elif granularity == "week":  # clipped before adding: a week past 9999-12-31 overflows
            last = first + timedelta(days=min(6 - first.weekday(), (end - first).days))
        else:
            last = min(_month_end(first), end)
        out.append((first, last))
        if last == end:
            break
        first = last + timedelta(days=1)
    return out


def _month_end(day: date) -> date:
    if day.month == 12:
        return date(day.year, 12, 31)
    return date(day.year, day.month + 1, 1) - timedelta(days=1)


def revenue_series(days: Mapping[date, DayTotals], start: date, end: date, granularity: str) -> list[RevenueSummary]:
    """One summary per period of `start..end` (see `periods`); periods without sales are zeros.

    Each period looks up its own days, so a 3,660-day series costs 3,660 lookups, not a pass
    over every day per period."""
    out = []
    for first, last in periods(start, end, granularity):
        span = {day: days[day] for day in iter_days(first, last) if day in days}
        out.append(revenue_summary(span, first, last))
    return out


# -- comparisons -------------------------------------------------------------------------------------

COMPARISONS = ("previous_period", "previous_year")


def previous_range(start: date, end: date, compare: str) -> tuple[date, date]:
    """The range `start..end` is compared with.

    `previous_period`: as many days, ending the day before `start`. `previous_year`: the same
    dates one year earlier, 29 February becoming 28 February. A range that would begin before
    year 1 is a `RangeError` naming `compare`.
    """
    try:
        if compare == "previous_period":
            previous_end = start - timedelta(days=1)
            return previous_end - timedelta(days=range_days(start, end) - 1), previous_end
        if compare == "previous_year":
            return _year_earlier(start), _year_earlier(end)
    except (OverflowError, ValueError):
        raise RangeError(
            "compare", f"compare={compare}: the calendar has no {compare.replace('_', ' ')} before {start.isoformat()}"
        ) from None
    raise ValueError(f"compare must be one of {', '.join(COMPARISONS)}, not {compare!r}")


def _year_earlier(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def change_pct(current: Fraction | Decimal | int, previous: Fraction | Decimal | int) -> str | None:
    """(current - previous) / |previous| x 100, half-up to one decimal, as text ("12.5", "-3.0");
    None when `previous` is zero. Computed on the exact values: nothing is rounded twice."""
    before = Fraction(previous)
    if before == 0:
        return None
    ratio = (Fraction(current) - before) * 1000 / abs(before)  # in tenths of a percent
    tenths, remainder = divmod(abs(ratio.numerator), ratio.denominator)
    if 2 * remainder >= ratio.denominator:  # half-up: ties away from zero
        tenths += 1
    sign = "-" if ratio < 0 and tenths else ""
    return f"{sign}{tenths // 10}.{tenths % 10}"


def exact_average(value: Decimal, count: int) -> Fraction:
    """The unrounded average order value (0 without orders), for comparing two ranges."""
    return Fraction(value) / count if count > 0 else Fraction(0)


def summary_changes(current: RevenueSummary, previous: RevenueSummary) -> dict[str, str | None]:
    """`change_pct` of the figures a comparison reports, from the exact sums."""
    return {
        "total_revenue_sgd": change_pct(current.total_revenue, previous.total_revenue),
        "net_revenue_sgd": change_pct(current.net_revenue, previous.net_revenue),
        "order_count": change_pct(current.order_count, previous.order_count),
        "average_order_value_sgd": change_pct(
            exact_average(current.order_value, current.order_count),
            exact_average(previous.order_value, previous.order_count),
        ),
        "refunds_sgd": change_pct(current.refunds, previous.refunds),
    }
