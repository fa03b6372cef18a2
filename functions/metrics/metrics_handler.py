"""The metrics function's Lambda entry point (template.yaml: `metrics_handler.handler`).

The API itself is the `metrics_api` package (docs/architecture.md, "Where a request goes"); this
module only wraps one resolution in what every request gets: correlation id, log line, metrics.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from metrics_api import errors, events
from metrics_api.app import app
from metrics_api.settings import settings
from metrics_api.telemetry import logger, metrics, tracer

from salesmetrics.config import get_settings
from salesmetrics.correlation import CORRELATION_HEADER, caller_correlation_id

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["app", "handler", "logger", "reset"]


def reset() -> None:
    """Forget what this execution environment built: the settings, and with them the storage
    (metrics_api.storage makes it again from new settings). docs/architecture.md, "State per
    execution environment"."""
    get_settings.cache_clear()


@metrics.log_metrics(capture_cold_start_metric=settings().metrics_enabled)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    event = events.normalise(event)
    # The resolver's middlewares run after request validation, so a 400 would never see them;
    # correlation is therefore done here, around the whole resolution.
    correlation_id = caller_correlation_id(event.get("headers"))
    if correlation_id:
        logger.set_correlation_id(correlation_id)
    correlation_id = correlation_id or str(logger.get_correlation_id() or "")
    if events.is_multipart(event):
        result = errors.lambda_result(errors.unsupported_content_type())
    else:
        result = app.resolve(event, context)
    if correlation_id:
        result.setdefault("headers", {})[CORRELATION_HEADER] = correlation_id
    http = event.get("requestContext", {}).get("http", {})
    logger.info(
        "request",
        extra={
            "method": http.get("method"),
            "path": event.get("rawPath"),
            "status": result.get("statusCode"),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return result
