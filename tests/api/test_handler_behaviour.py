"""The metrics handler around its routes: events of every shape, 404s, correlation ids, metrics,
and the OpenAPI document / Swagger UI."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools import sourceroots
from tests.api.conftest import ENV
from tests.api.conftest import handlers as api_handlers

ROUTES = {
    ("GET", "/metrics/revenue"),
    ("GET", "/metrics/revenue/daily"),
    ("GET", "/metrics/revenue/series"),
    ("GET", "/metrics/revenue/by/{dimension}"),
    ("GET", "/imports"),
    ("GET", "/imports/{import_id}"),
    ("GET", "/imports/{import_id}/rejects"),
    ("GET", "/imports/{import_id}/changes"),
    ("DELETE", "/imports/{import_id}"),
    ("POST", "/uploads"),
    ("GET", "/health"),
}

# The example event of the API Gateway developer guide (payload format 2.0), trimmed to one route.
DOCUMENTED_EVENT: dict[str, Any] = {
    "version": "2.0",
    "routeKey": "GET /metrics/revenue",
    "rawPath": "/metrics/revenue",
    "rawQueryString": "start=2025-03-01&end=2025-03-02",
    "cookies": ["cookie1", "cookie2"],
    "headers": {"header1": "value1", "header2": "value1,value2"},
    "queryStringParameters": {"start": "2025-03-01", "end": "2025-03-02"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "api-id",
        "authorizer": {
            "iam": {
                "accessKey": "AKIA...",
                "accountId": "111122223333",
                "callerId": "caller",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": "arn:aws:iam::111122223333:user/example-user",
                "userId": "AIDA...",
            }
        },
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "http": {
            "method": "GET",
            "path": "/metrics/revenue",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "GET /metrics/revenue",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    },
    "pathParameters": None,
    "isBase64Encoded": False,
    "stageVariables": None,
}


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The metrics handler's JSON log lines (its handler's stream was bound at import time)."""
    buffer = io.StringIO()
    handlers = api_handlers()[0].logger._logger.handlers
    saved = [h.setStream(buffer) for h in handlers]
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{")]
    for handler, stream in zip(handlers, saved, strict=True):
        handler.setStream(stream)


def test_documented_event_shape(client: Any) -> None:
    reply = client.send(json.loads(json.dumps(DOCUMENTED_EVENT)))
    assert reply.status == 200, reply.text
    assert reply.json()["start"] == "2025-03-01"
    assert reply.header("X-Correlation-Id") == "id"


def test_missing_stage_is_handled(client: Any) -> None:
    event = json.loads(json.dumps(DOCUMENTED_EVENT))
    del event["requestContext"]["stage"]
    assert client.send(event).status == 200


def test_named_stage_in_path(client: Any) -> None:
    """Deployed with StageName dev, paths arrive as /dev/...; the resolver strips the stage."""
    event = json.loads(json.dumps(DOCUMENTED_EVENT))
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/dev/metrics/revenue"
    event["requestContext"]["stage"] = "dev"
    assert client.send(event).status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/metrics"),
        ("GET", "/metrics/unknown"),
        ("POST", "/metrics/revenue"),
        ("DELETE", "/imports"),
        ("GET", "/uploads"),
        ("GET", "/imports/a/b"),
    ],
)
def test_unknown_route_is_404_json(offline_client: Any, method: str, path: str) -> None:
    reply = offline_client.send(offline_client.event(method, path))
    assert reply.status == 404
    assert reply.json()["message"] == f"no route {method} {path}"


def test_caller_correlation_id_wins_and_is_echoed(client: Any, log_lines: Any) -> None:
    reply = client.get(
        "/metrics/revenue", {"start": "2025-03-01", "end": "2025-03-01"}, headers={"X-Correlation-Id": "abc-123"}
    )
    assert reply.header("X-Correlation-Id") == "abc-123"
    logs = log_lines()
    assert logs and all(entry["correlation_id"] == "abc-123" for entry in logs)


def test_correlation_id_on_400_and_404_too(offline_client: Any) -> None:
    for query in ({"start": "bad"}, None):
        path = "/metrics/revenue" if query else "/nowhere"
        reply = offline_client.get(path, query, headers={"x-correlation-id": "c-1"})
        assert reply.status in (400, 404)
        assert reply.header("X-Correlation-Id") == "c-1"


@pytest.mark.parametrize("value", ["has space", "new\nline", "x" * 200, ""])
def test_unsafe_correlation_id_is_replaced(offline_client: Any, value: str) -> None:
    event = offline_client.event("GET", "/nowhere", headers={"x-correlation-id": value})
    reply = offline_client.send(event)
    assert reply.header("X-Correlation-Id") == event["requestContext"]["requestId"]


def test_logger_state_does_not_leak_between_invocations(client: Any, log_lines: Any) -> None:
    client.get("/nowhere", headers={"x-correlation-id": "first"})
    client.get("/nowhere")
    logs = log_lines()
    assert [entry["correlation_id"] == "first" for entry in logs] == [True, False]


def test_a_metric_per_route(client: Any, capsys: pytest.CaptureFixture[str]) -> None:
    client.get("/metrics/revenue", {"start": "2025-03-01", "end": "2025-03-01"})
    client.get("/metrics/revenue/daily", {"start": "2025-03-01", "end": "2025-03-01"})
    client.get("/imports")
    client.get("/imports/nope", path_parameters={"import_id": "nope"})
    client.post("/uploads", {"filename": "a.csv"})
    client.get("/metrics/revenue", {"start": "x"})
    out = capsys.readouterr().out
    emitted = set()
    for line in out.splitlines():
        if '"_aws"' in line:
            record = json.loads(line)
            for directive in record["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == "SalesMetricsTest"
                emitted |= {m["Name"] for m in directive["Metrics"]}
    assert {
        "RevenueRequests",
        "DailyRevenueRequests",
        "ImportsListRequests",
        "ImportRequests",
        "UploadUrlRequests",
        "BadRequests",
    } <= emitted


# -- OpenAPI and Swagger UI ------------------------------------------------------------------------


def openapi_document(client: Any) -> dict[str, Any]:
    reply = client.get("/swagger", {"format": "json"})
    assert reply.status == 200
    assert reply.header("content-type") == "application/json"
    return json.loads(reply.text)  # type: ignore[no-any-return]


def test_openapi_document_is_valid_and_lists_every_route(offline_client: Any) -> None:
    document = openapi_document(offline_client)
    import openapi_spec_validator as validator

    validator.validate(document)
    assert document["openapi"].startswith("3.")
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert listed == ROUTES


def test_openapi_says_what_is_returned(offline_client: Any) -> None:
    document = openapi_document(offline_client)
    schemas = document["components"]["schemas"]
    revenue = schemas["RevenueResponse"]["properties"]
    assert revenue["total_revenue_sgd"]["type"] == "string"
    assert revenue["refunds_sgd"]["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    assert "NEGATIVE" in revenue["refunds_sgd"]["description"]
    assert "float" in revenue["total_revenue_sgd"]["description"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert "422" not in codes, (method, path)  # mapped to 400
            if path != "/health":
                assert "400" in codes and operation["security"] == [{"sigv4": []}], (method, path)
    # 403 is API Gateway's answer to a missing or bad SigV4 signature
    assert set(document["paths"]["/uploads"]["post"]["responses"]) == {"201", "400", "403"}
    assert set(document["paths"]["/imports/{import_id}"]["get"]["responses"]) == {"200", "400", "403", "404"}
    assert document["paths"]["/health"]["get"]["security"] == []
    assert "HTTPValidationError" not in schemas


def test_openapi_describes_sigv4_as_a_per_request_signature_not_a_fixed_header(offline_client: Any) -> None:
    """Swagger UI offers a text box for an apiKey header; a SigV4 signature is computed per
    request, so the scheme is the HTTP scheme AWS4-HMAC-SHA256 (which the UI says it cannot do)."""
    scheme = openapi_document(offline_client)["components"]["securitySchemes"]["sigv4"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "AWS4-HMAC-SHA256")
    assert "in" not in scheme and "name" not in scheme
    assert "execute-api" in scheme["description"] and "awscurl" in scheme["description"]


def test_swagger_ui_is_served(offline_client: Any) -> None:
    reply = offline_client.get("/swagger")
    assert reply.status == 200
    assert reply.header("content-type") == "text/html"
    assert "swagger-ui" in reply.text.lower()


def test_swagger_ui_is_compressed_when_asked(offline_client: Any) -> None:
    reply = offline_client.get("/swagger", headers={"accept-encoding": "gzip, deflate"})
    assert reply.status == 200
    assert reply.header("content-encoding") == "gzip" and reply.raw["isBase64Encoded"]
    html = gzip.decompress(base64.b64decode(reply.text)).decode()
    assert "<html" in html.lower()
    assert len(reply.text) < len(html) / 2


_COLD_ENVIRONMENT = """
import json, sys
import metrics_handler
from devtools.gateway import build_event
from devtools.lambdacontext import LambdaContext

MODELS = "aws_lambda_powertools.event_handler.openapi.models"
context = LambdaContext(function_name="MetricsFunction", memory_limit_in_mb=512, timeout_seconds=30)
seen = [MODELS in sys.modules]
bad = metrics_handler.handler(build_event("GET", "/metrics/revenue", "start=2025-03-01&end=bad"), context)
seen.append(MODELS in sys.modules)
doc = metrics_handler.handler(build_event("GET", "/app/swagger", "format=json"), context)
seen.append(MODELS in sys.modules)
print(json.dumps({"seen": seen, "bad": bad["statusCode"], "doc": doc["statusCode"], "body": doc["body"][:200]}))
"""


def test_a_cold_environment_loads_the_openapi_models_only_for_the_document() -> None:
    # Powertools' OpenAPI models are ~50 ms of a cold start; only GET /swagger needs them.
    done = subprocess.run(
        [sys.executable, "-c", _COLD_ENVIRONMENT],
        env={**os.environ, **ENV, "PYTHONPATH": sourceroots.pythonpath(), "POWERTOOLS_LOG_LEVEL": "ERROR"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["seen"] == [False, False, True]
    assert (result["bad"], result["doc"]) == (400, 200)
    assert '"openapi":"3.1.0"' in result["body"].replace(" ", "")
