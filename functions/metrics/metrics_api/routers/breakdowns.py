"""GET /metrics/revenue/by/{dimension}: revenue by item, location or payment method."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from salesmetrics.breakdowns import breakdown
from salesmetrics.metrics import money_text, validate_range
from salesmetrics.money import round_cents

from ..answers import Cell, csv_answer, json_answer
from ..errors import error_responses
from ..examples import BREAKDOWN_CSV_EXAMPLE, BREAKDOWN_EXAMPLE
from ..models import BreakdownOthers, BreakdownResponse, BreakdownRow, Dimension, OutputFormat
from ..settings import settings
from ..storage import get_storage
from ..telemetry import count, tracer
from .revenue import EndParam, FormatParam, StartParam, json_and_csv

router = Router()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

MAX_ROWS = 1000
OTHERS_KEY = "(others)"


@router.get(
    "/metrics/revenue/by/<dimension>",
    summary="Revenue by item, location or payment method",
    responses={
        **json_and_csv(
            BreakdownResponse,
            "The keys of the range by revenue, the rest summed.",
            "With format=csv: a header row, one row per key, then the keys past "
            "the limit as one row keyed (others) (its sale_count empty).",
            BREAKDOWN_CSV_EXAMPLE,
            BREAKDOWN_EXAMPLE,
        ),
        **error_responses(400),
    },
)
@tracer.capture_method
def get_revenue_by(
    dimension: Annotated[
        Dimension, Path(description="`item` (the item name, trimmed), `location` or `payment_method`.")
    ],
    start: StartParam,
    end: EndParam,
    limit: Annotated[
        int, Query(ge=1, le=MAX_ROWS, description=f"Rows to list (1..{MAX_ROWS}); the others are summed.")
    ] = 20,
    output: FormatParam = OutputFormat.JSON,
) -> Response[str]:
    count("BreakdownRequests")
    config = settings()
    validate_range(start, end, config.max_range_days)
    result = breakdown(get_storage().breakdown_totals(dimension.value, start, end), limit, round_cents)
    rows = [
        BreakdownRow(
            key=r.key,
            revenue_sgd=money_text(r.totals.revenue),
            net_revenue_sgd=money_text(r.totals.net),
            quantity=r.totals.quantity,
            line_count=r.totals.lines,
            sale_count=r.totals.sales,
        )
        for r in result.rows
    ]
    others = None
    if result.others is not None:
        others = BreakdownOthers(
            key_count=result.others_keys,
            revenue_sgd=money_text(result.others.revenue),
            net_revenue_sgd=money_text(result.others.net),
            quantity=result.others.quantity,
            line_count=result.others.lines,
        )
    if output is OutputFormat.CSV:
        table: list[tuple[Cell, ...]] = [
            (r.key, r.revenue_sgd, r.net_revenue_sgd, r.quantity, r.line_count, r.sale_count) for r in rows
        ]
        if others is not None:
            table.append(
                (OTHERS_KEY, others.revenue_sgd, others.net_revenue_sgd, others.quantity, others.line_count, None)
            )
        return csv_answer(
            f"revenue-by-{dimension.value}-{start.isoformat()}-{end.isoformat()}.csv",
            list(BreakdownRow.model_fields),
            table,
        )
    return json_answer(
        BreakdownResponse(
            start=start,
            end=end,
            currency=config.currency,
            dimension=dimension,
            total_revenue_sgd=money_text(result.total_revenue),
            rows=rows,
            others=others,
        )
    )
