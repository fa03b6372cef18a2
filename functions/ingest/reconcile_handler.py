"""Recompute the day aggregates and breakdowns from stored sales; `{"repair": true}` also fixes drift."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from salesmetrics.config import ReconcileSettings, get_settings
from salesmetrics.reconcile import reconcile
from salesmetrics.storage.dynamodb import DynamoSalesStore
from salesmetrics.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()
# Read at import: a missing or malformed variable fails the cold start, naming it.
get_settings(ReconcileSettings)


def reset() -> None:
    """Forget the settings read at cold start (docs/architecture.md, "State per execution
    environment")."""
    get_settings.cache_clear()


@logger.inject_lambda_context(clear_state=True, correlation_id_path="requestId || id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, Any]:
    repair = bool((event or {}).get("repair", False))
    report = reconcile(DynamoSalesStore(get_settings(ReconcileSettings).table_name), repair=repair)
    metrics.add_metric(name="AggregateDriftDays", unit=MetricUnit.Count, value=len(report.drift))
    metrics.add_metric(name="BreakdownDriftDays", unit=MetricUnit.Count, value=len(report.breakdown_drift))
    result = {"repair": repair, **report.to_dict()}
    (logger.info if report.clean else logger.warning)("reconcile finished", extra={"report": result})
    return result
