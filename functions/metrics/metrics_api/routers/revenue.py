"""GET /metrics/revenue (with `compare`), /metrics/revenue/daily and /metrics/revenue/series:
figures over a date range, from the day aggregates."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime to
# build validation and the OpenAPI document, and string annotations behind the tracer's wrapper
# cannot be resolved.
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from salesmetrics.metrics import (
    RevenueSummary,
    daily_series,
    money_text,
    previous_range,
    revenue_series,
    revenue_summary,
    summary_changes,
    validate_range,
)

from ..answers import csv_answer, csv_content, json_answer
from ..errors import error_responses
from ..examples import DAILY_CSV_EXAMPLE, REVENUE_COMPARED_EXAMPLE, SERIES_CSV_EXAMPLE, SERIES_EXAMPLE
from ..models import (
    ChangePct,
    Comparison,
    ComparisonResponse,
    DailyRevenueResponse,
    DayRevenueResponse,
    Granularity,
    IsoDate,
    OutputFormat,
    PeriodRevenueResponse,
    RevenueResponse,
    RevenueSeriesResponse,
)
from ..settings import settings
from ..storage import get_storage
from ..telemetry import count, tracer

router = Router()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

StartParam = Annotated[IsoDate, Query(description="First day of the range, YYYY-MM-DD (inclusive).")]
# The limit in the document is the configured one, as read at cold start.
EndParam = Annotated[
    IsoDate,
    Query(
        description="Last day of the range, YYYY-MM-DD (inclusive); the range "
        f"holds at most {settings().max_range_days} days."
    ),
]
FormatParam = Annotated[
    OutputFormat,
    Query(
        alias="format",
        description="`json` (the default) or `csv`: a "
        "file download, one row per entry, header row with the JSON "
        "field names, money as plain two-decimal numbers.",
    ),
]


def _figures(summary: RevenueSummary) -> dict[str, Any]:
    return {
        "total_revenue_sgd": money_text(summary.total_revenue),
        "net_revenue_sgd": money_text(summary.net_revenue),
        "tax_sgd": money_text(summary.tax),
        "discounts_sgd": money_text(summary.discounts),
        "order_count": summary.order_count,
        "average_order_value_sgd": money_text(summary.average_order_value),
        "refund_count": summary.refund_count,
        "refunds_sgd": money_text(summary.refunds),
    }


def with_example(model: Any, description: str, example: dict[str, Any]) -> dict[int, Any]:
    return {200: {"description": description, "content": {"application/json": {"model": model, "example": example}}}}


def json_and_csv(
    model: Any, description: str, csv_description: str, csv_example: str, example: dict[str, Any] | None = None
) -> dict[int, Any]:
    json_content: dict[str, Any] = {"model": model}
    if example is not None:
        json_content["example"] = example
    return {
        200: {
            "description": description,
            "content": {"application/json": json_content, "text/csv": csv_content(csv_description, csv_example)},
        }
    }


@router.get(
    "/metrics/revenue",
    summary="Revenue summary over a date range, optionally compared",
    responses={
        **with_example(
            RevenueResponse,
            "Revenue figures of the range (with `comparison` when `compare` is given).",
            REVENUE_COMPARED_EXAMPLE,
        ),
        **error_responses(400),
    },
)
@tracer.capture_method
def get_revenue(
    start: StartParam,
    end: EndParam,
    compare: Annotated[
        Comparison | None,
        Query(
            description="Also give the figures of `previous_period` (as "
            "many days, ending the day before start) or "
            "`previous_year` (the same dates a year earlier) "
            "and the change in percent."
        ),
    ] = None,
) -> Response[str]:
    count("RevenueRequests")
    config = settings()
    validate_range(start, end, config.max_range_days)
    storage = get_storage()
    if compare is None:
        summary = revenue_summary(storage.day_totals(start, end), start, end)
        return json_answer(
            RevenueResponse(start=start, end=end, currency=config.currency, **_figures(summary)), exclude={"comparison"}
        )
    before_start, before_end = previous_range(start, end, compare.value)
    if compare is Comparison.PREVIOUS_PERIOD:  # adjacent: one read covers both ranges
        days = storage.day_totals(before_start, end)
        previous_days = days
    else:
        days = storage.day_totals(start, end)
        previous_days = storage.day_totals(before_start, before_end)
    summary = revenue_summary(days, start, end)
    previous = revenue_summary(previous_days, before_start, before_end)
    comparison = ComparisonResponse(
        start=before_start,
        end=before_end,
        **_figures(previous),
        change_pct=ChangePct(**summary_changes(summary, previous)),
    )
    return json_answer(
        RevenueResponse(start=start, end=end, currency=config.currency, **_figures(summary), comparison=comparison)
    )


@router.get(
    "/metrics/revenue/daily",
    summary="Revenue per day over a date range",
    responses={
        **json_and_csv(
            DailyRevenueResponse,
            "One entry per day of the range.",
            "With format=csv: a header row, then one row per day.",
            DAILY_CSV_EXAMPLE,
        ),
        **error_responses(400),
    },
)
@tracer.capture_method
def get_revenue_daily(start: StartParam, end: EndParam, output: FormatParam = OutputFormat.JSON) -> Response[str]:
    count("DailyRevenueRequests")
    config = settings()
    validate_range(start, end, config.max_range_days)
    series = daily_series(get_storage().day_totals(start, end), start, end)
    days = [
        DayRevenueResponse(
            date=d.day,
            revenue_sgd=money_text(d.revenue),
            order_count=d.order_count,
            average_order_value_sgd=money_text(d.average_order_value),
        )
        for d in series
    ]
    if output is OutputFormat.CSV:
        return csv_answer(
            f"revenue-daily-{start.isoformat()}-{end.isoformat()}.csv",
            list(DayRevenueResponse.model_fields),
            ((d.date, d.revenue_sgd, d.order_count, d.average_order_value_sgd) for d in days),
        )
    return json_answer(DailyRevenueResponse(start=start, end=end, currency=config.currency, days=days))


@router.get(
    "/metrics/revenue/series",
    summary="Revenue per day, ISO week or calendar month",
    responses={
        **json_and_csv(
            RevenueSeriesResponse,
            "One entry per period of the range.",
            "With format=csv: a header row, then one row per period.",
            SERIES_CSV_EXAMPLE,
            SERIES_EXAMPLE,
        ),
        **error_responses(400),
    },
)
@tracer.capture_method
def get_revenue_series(
    start: StartParam,
    end: EndParam,
    granularity: Annotated[
        Granularity, Query(description="`day`, `week` (ISO weeks, Monday to Sunday) or `month` (calendar months).")
    ] = Granularity.DAY,
    output: FormatParam = OutputFormat.JSON,
) -> Response[str]:
    count("RevenueSeriesRequests")
    config = settings()
    validate_range(start, end, config.max_range_days)
    periods = [_period(p) for p in revenue_series(get_storage().day_totals(start, end), start, end, granularity.value)]
    if output is OutputFormat.CSV:
        return csv_answer(
            f"revenue-{granularity.value}-{start.isoformat()}-{end.isoformat()}.csv",
            list(PeriodRevenueResponse.model_fields),
            (
                (p.start, p.end, p.revenue_sgd, p.order_count, p.average_order_value_sgd, p.refund_count, p.refunds_sgd)
                for p in periods
            ),
        )
    return json_answer(
        RevenueSeriesResponse(start=start, end=end, currency=config.currency, granularity=granularity, periods=periods)
    )


def _period(summary: RevenueSummary) -> PeriodRevenueResponse:
    return PeriodRevenueResponse(
        start=summary.start,
        end=summary.end,
        revenue_sgd=money_text(summary.total_revenue),
        order_count=summary.order_count,
        average_order_value_sgd=money_text(summary.average_order_value),
        refund_count=summary.refund_count,
        refunds_sgd=money_text(summary.refunds),
    )
