"""devtools/gateway.py: routes from template.yaml, payload 2.0 events, answers mapped back to HTTP."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from devtools.gateway import Gateway, GatewayServer, build_event, compile_path, make_server, to_http

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
EXPECTED_ROUTES = {
    "GET /metrics/revenue": ("metrics_handler.handler", "AWS_IAM"),
    "GET /metrics/revenue/daily": ("metrics_handler.handler", "AWS_IAM"),
    "GET /metrics/revenue/series": ("metrics_handler.handler", "AWS_IAM"),
    "GET /metrics/revenue/by/{dimension}": ("metrics_handler.handler", "AWS_IAM"),
    "GET /imports": ("metrics_handler.handler", "AWS_IAM"),
    "GET /imports/{import_id}": ("metrics_handler.handler", "AWS_IAM"),
    "GET /imports/{import_id}/rejects": ("metrics_handler.handler", "AWS_IAM"),
    "GET /imports/{import_id}/changes": ("metrics_handler.handler", "AWS_IAM"),
    "DELETE /imports/{import_id}": ("metrics_handler.handler", "AWS_IAM"),
    "POST /uploads": ("metrics_handler.handler", "AWS_IAM"),
    "ANY /app/{proxy+}": ("metrics_handler.handler", "DashboardJwt"),
    "GET /swagger": ("metrics_handler.handler", "NONE"),
    "GET /health": ("health_handler.handler", "NONE"),
}


@pytest.fixture
def gateway(aws: dict[str, Any]) -> Gateway:
    return Gateway(TEMPLATE, apply_environment=False)


def test_routes_come_from_the_template() -> None:
    routes = Gateway(TEMPLATE, apply_environment=False).routes
    assert {r.route_key: (r.function.handler, r.spec.auth) for r in routes} == EXPECTED_ROUTES


def test_path_matching() -> None:
    pattern, names, _ = compile_path("/imports/{import_id}")
    found = pattern.fullmatch("/imports/imp_1")
    assert found is not None and names == ("import_id",)
    assert pattern.fullmatch("/imports/a/b") is None and pattern.fullmatch("/imports/") is None
    greedy, names, _ = compile_path("/files/{proxy+}")
    assert greedy.fullmatch("/files/a/b/c") is not None and names == ("proxy",)
    root, _, _ = compile_path("/")
    assert root.fullmatch("/") is not None and root.fullmatch("/x") is None


def test_exact_routes_win_over_parameterised() -> None:
    gateway = Gateway(TEMPLATE, apply_environment=False)
    route, params = gateway.match("GET", "/imports") or (None, None)
    assert route is not None and route.route_key == "GET /imports" and params == {}
    route, params = gateway.match("GET", "/imports/imp%5Fx") or (None, None)
    assert route is not None and route.route_key == "GET /imports/{import_id}"
    assert params == {"import_id": "imp_x"}  # path parameters arrive decoded
    assert gateway.match("POST", "/imports") is None


def test_event_is_payload_2_0() -> None:
    event = build_event(
        "GET",
        "/metrics/revenue",
        "start=2025-03-01&end=2025-03-02&tag=a&tag=b",
        [("User-Agent", "ua"), ("X-Thing", "1"), ("x-thing", "2"), ("Cookie", "a=1; b=2")],
        None,
        route_key="GET /metrics/revenue",
        iam=True,
    )
    assert event["version"] == "2.0" and event["routeKey"] == "GET /metrics/revenue"
    assert event["rawPath"] == "/metrics/revenue"
    assert event["rawQueryString"] == "start=2025-03-01&end=2025-03-02&tag=a&tag=b"
    assert event["queryStringParameters"] == {"start": "2025-03-01", "end": "2025-03-02", "tag": "a,b"}
    assert event["headers"]["x-thing"] == "1,2" and event["headers"]["user-agent"] == "ua"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]
    assert all(name == name.lower() for name in event["headers"])
    assert "body" not in event and "pathParameters" not in event and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert {"accountId", "apiId", "domainName", "http", "requestId", "routeKey", "stage", "time", "timeEpoch"} <= set(
        context
    )
    assert context["stage"] == "$default" and context["routeKey"] == "GET /metrics/revenue"
    assert context["http"] == {
        "method": "GET",
        "path": "/metrics/revenue",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "ua",
    }
    assert "iam" in context["authorizer"]


def test_binary_body_is_base64() -> None:
    text = build_event("POST", "/uploads", "", [("content-type", "application/json")], b'{"a": 1}')
    assert text["body"] == '{"a": 1}' and text["isBase64Encoded"] is False
    binary = build_event("POST", "/uploads", "", [("content-type", "application/octet-stream")], b"\x00\xff")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\xff"


def test_result_mapping() -> None:
    status, headers, body = to_http(
        {
            "statusCode": 201,
            "headers": {"X-A": "1"},
            "cookies": ["c=1"],
            "body": base64.b64encode(b"\x01").decode(),
            "isBase64Encoded": True,
        }
    )
    assert (status, body) == (201, b"\x01")
    assert ("X-A", "1") in headers and ("Set-Cookie", "c=1") in headers
    # Without a statusCode API Gateway answers 200 with the JSON of whatever was returned.
    assert to_http({"a": 1})[0] == 200 and json.loads(to_http({"a": 1})[2]) == {"a": 1}


def test_invoke_in_process(gateway: Gateway) -> None:
    status, _, body, served_by = gateway.invoke("GET", "/health", [], None)
    assert (status, served_by) == (200, "health_handler.handler")
    assert json.loads(body)["status"] == "ok"
    status, _, body, _ = gateway.invoke("GET", "/imports/imp_unknown", [], None)
    assert status == 404 and "import_id" in json.loads(body)["message"]
    status, _, body, _ = gateway.invoke("GET", "/nowhere", [], None)
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})


def test_handler_crash_is_500_like_api_gateway(aws: dict[str, Any]) -> None:
    def crash(function: Any, event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    gateway = Gateway(TEMPLATE, invoker=crash)
    status, _, body, _ = gateway.invoke("GET", "/health", [], None)
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})


def test_template_environment_fills_only_what_is_unset(api_env: None) -> None:
    with mock.patch.dict(os.environ, {"CURRENCY": "EUR"}):
        os.environ.pop("POWERTOOLS_LOGGER_SAMPLE_RATE", None)
        Gateway(TEMPLATE)
        assert os.environ["CURRENCY"] == "EUR"  # the caller's value wins
        assert os.environ["POWERTOOLS_LOGGER_SAMPLE_RATE"] == "0"  # from the template


@pytest.fixture
def served(aws: dict[str, Any]) -> Iterator[str]:
    server = make_server(TEMPLATE, port=0, apply_environment=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _request(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy for 127.0.0.1
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_over_http_on_a_free_port(served: str) -> None:
    assert served.startswith("http://127.0.0.1:") and not served.endswith(":0")
    status, headers, body = _request(
        f"{served}/metrics/revenue?start=2025-03-01&end=2025-03-02", headers={"X-Correlation-Id": "gw-1"}
    )
    assert status == 200 and json.loads(body)["total_revenue_sgd"] == "0.00"
    assert headers["X-Correlation-Id"] == "gw-1"
    status, _, body = _request(
        f"{served}/uploads", "POST", b'{"filename": "a.csv"}', {"Content-Type": "application/json"}
    )
    assert status == 201 and json.loads(body)["method"] == "PUT"
    status, _, body = _request(f"{served}/metrics/revenue?start=x&end=2025-03-02")
    assert status == 400 and "'start'" in json.loads(body)["message"]
    status, _, body = _request(f"{served}/swagger?format=json")
    assert status == 200 and "/metrics/revenue" in json.loads(body)["paths"]
    status, _, body = _request(f"{served}/nowhere")
    assert (status, json.loads(body)) == (404, {"message": "Not Found"})
    status, _, _ = _request(f"{served}/health")
    assert status == 200


def test_until_ready_every_route_answers_503_with_a_message(aws: dict[str, Any]) -> None:
    gateway = Gateway(TEMPLATE, apply_environment=False)
    server = GatewayServer(("127.0.0.1", 0), gateway, ready=False, not_ready_message="still loading the sample")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for path in ("/health", "/imports", "/metrics/revenue?start=2025-03-01&end=2025-03-02"):
            status, headers, body = _request(server.url + path)
            assert (status, json.loads(body)) == (503, {"message": "still loading the sample"}), path
            assert headers["Retry-After"] == "1"
        server.ready.set()
        status, _, body = _request(server.url + "/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_client_that_hangs_up_early_leaves_no_traceback(
    aws: dict[str, Any], capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    answered = threading.Event()

    def slow(function: Any, event: dict[str, Any]) -> Any:
        time.sleep(0.5)  # the client is gone by now
        answered.set()
        return {"statusCode": 200, "body": "x" * 200_000}

    server = make_server(TEMPLATE, port=0, apply_environment=False, invoker=slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.DEBUG, logger="devtools.gateway")
    try:
        host, port = server.server_address[:2]
        for _ in range(3):
            answered.clear()
            with socket.create_connection((str(host), int(port)), timeout=5) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            assert answered.wait(5)
            time.sleep(0.2)
        status, _, _ = _request(server.url + "/health")
        assert status == 200  # still serving
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("disconnected" in r.getMessage() for r in caplog.records)
