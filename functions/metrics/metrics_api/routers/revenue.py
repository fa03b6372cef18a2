"""GET /metrics/revenue and GET /metrics/revenue/daily: figures over a date range."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime to
# build validation and the OpenAPI document, and string annotations behind the tracer's wrapper
# cannot be resolved.
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from salesmetrics.metrics import daily_series, money_text, revenue_summary, validate_range

from ..errors import error_responses
from ..models import DailyRevenueResponse, DayRevenueResponse, IsoDate, RevenueResponse, documented
from ..settings import settings
from ..storage import get_storage
from ..telemetry import count, tracer

router = Router()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

StartParam = Annotated[IsoDate, Query(description="First day of the range, YYYY-MM-DD (inclusive).")]
# The limit in the document is the configured one, as read at cold start.
EndParam = Annotated[IsoDate, Query(description="Last day of the range, YYYY-MM-DD (inclusive); the range "
                                                f"holds at most {settings().max_range_days} days.")]


@router.get("/metrics/revenue", summary="Revenue summary over a date range",
            responses={**documented(RevenueResponse, "Revenue figures of the range."), **error_responses(400)})
@tracer.capture_method
def get_revenue(start: StartParam, end: EndParam) -> RevenueResponse:
    count("RevenueRequests")
    config = settings()
    validate_range(start, end, config.max_range_days)
    summary = revenue_summary(get_storage().day_totals(start, end), start, end)
    return RevenueResponse(
        start=start, end=end, currency=config.currency,
        total_revenue_sgd=money_text(summary.total_revenue),
        net_revenue_sgd=money_text(summary.net_revenue),
        tax_sgd=money_text(summary.tax),
        discounts_sgd=money_text(summary.discounts),
        order_count=summary.order_count,
        average_order_value_sgd=money_text(summary.average_order_value),
        refund_count=summary.refund_count,
        refunds_sgd=money_text(summary.refunds),
    )


@router.get("/metrics/revenue/daily", summary="Revenue per day over a date range",
            responses={**documented(DailyRevenueResponse, "One entry per day of the range."),
                       **error_responses(400)})
@tracer.capture_method
def get_revenue_daily(start: StartParam, end: EndParam) -> DailyRevenueResponse:
    count("DailyRevenueRequests")
    config = settings()
    validate_range(start, end, config.max_range_days)
    series = daily_series(get_storage().day_totals(start, end), start, end)
    return DailyRevenueResponse(
        start=start, end=end, currency=config.currency,
        days=[DayRevenueResponse(date=d.day, revenue_sgd=money_text(d.revenue), order_count=d.order_count,
                                 average_order_value_sgd=money_text(d.average_order_value))
              for d in series],
    )
