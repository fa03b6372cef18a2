"""The function's Powertools logger, metrics and tracer, shared by the handler and the routes."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from salesmetrics.tracing import TRACED_MODULES

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)

# Most reads add no metric of their own; Powertools would warn about the empty flush on each such
# invocation (the way its documentation suggests silencing it).
warnings.filterwarnings("ignore", message="No application metrics to publish")


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
