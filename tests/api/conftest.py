"""Fixtures for the HTTP API: an in-process moto AWS with the table and bucket, and a client that
sends API Gateway payload 2.0 events straight to the handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest

from devtools.gateway import build_event
from devtools.lambdacontext import LambdaContext
from tests.moto_resources import moto_aws

TABLE = "sales-api-test"
BUCKET = "sales-api-test-bucket"

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    # Anything escaping the mock fails fast instead of leaving the machine (docs/library-notes.md).
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "TABLE_NAME": TABLE,
    "BUCKET_NAME": BUCKET,
    "RETRACT_FUNCTION_NAME": "sales-metrics-test-ingest:live",
    "UPLOADS_PREFIX": "uploads/",
    "UPLOAD_URL_TTL_SECONDS": "900",
    "CURRENCY": "SGD",
    "HEALTH_TIMEOUT_SECONDS": "1",
    "POWERTOOLS_SERVICE_NAME": "sales-metrics-api-test",
    "POWERTOOLS_METRICS_NAMESPACE": "SalesMetricsTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def handlers() -> tuple[ModuleType, ModuleType]:
    """(metrics_handler, health_handler), imported on first use: like a Lambda, their module-level
    Logger/Metrics/Tracer read the environment at import, so it must be set first (api_env)."""
    import health_handler
    import metrics_handler

    return metrics_handler, health_handler


def metrics_storage() -> Any:
    """The storage the metrics function's routes use (made from its current settings)."""
    handlers()
    from metrics_api.storage import get_storage

    return get_storage()


def reset_handlers() -> None:
    """Forget per-process state (settings, storage) so each test starts like a cold Lambda."""
    metrics, health = handlers()
    metrics.reset()
    health.reset()


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_handlers()
    yield
    reset_handlers()


@pytest.fixture
def aws(api_env: None) -> Iterator[dict[str, Any]]:
    """The suite's moto resources (tests/moto_resources.py) under the names the API functions'
    environment gives (ENV), set first; "table_resource" is the table as a boto3 resource."""
    with moto_aws(table=TABLE, bucket=BUCKET) as resources:
        yield {**resources, "table_resource": boto3.resource("dynamodb").Table(TABLE)}


def fake_context(function_name: str = "MetricsFunction") -> LambdaContext:
    return LambdaContext(function_name=function_name, memory_limit_in_mb=512, timeout_seconds=30)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.raw.get("body") or "")

    def json(self) -> Any:
        return json.loads(self.text)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class ApiClient:
    """Sends payload 2.0 events (built like API Gateway does, devtools.gateway.build_event)."""

    def event(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path_parameters: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        raw_query = query if isinstance(query, str) else urlencode(query or {}, doseq=True)
        hdrs = {"user-agent": "pytest", **(headers or {})}
        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
            hdrs.setdefault("content-type", "application/json")
        payload = body.encode() if isinstance(body, str) else body
        route_key = f"{method} {path}" if path_parameters is None else "$default"
        return build_event(
            method,
            path,
            raw_query,
            list(hdrs.items()),
            payload,
            route_key=route_key,
            path_parameters=path_parameters,
            iam=True,
        )

    def send(self, event: dict[str, Any], handler: Any = None) -> Reply:
        if handler is None:
            metrics, health = handlers()
            handler = health.handler if event["rawPath"] == "/health" else metrics.handler
        result = handler(event, fake_context())
        return Reply(result["statusCode"], result.get("headers") or {}, result)

    def get(self, path: str, query: dict[str, Any] | str | None = None, **kw: Any) -> Reply:
        return self.send(self.event("GET", path, query, **kw))

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.send(self.event("POST", path, body=body, **kw))


@pytest.fixture
def client(aws: dict[str, Any]) -> ApiClient:
    return ApiClient()


@pytest.fixture
def offline_client(api_env: None) -> ApiClient:
    """No AWS at all (a dead proxy): for input the API must refuse before touching storage."""
    return ApiClient()
