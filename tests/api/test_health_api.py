"""GET /health: 200 when table and bucket answer, 503 naming what failed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import BUCKET, TABLE, reset_handlers


def test_healthy(client: Any) -> None:
    reply = client.get("/health")
    assert reply.status == 200
    assert reply.json() == {"status": "ok", "checks": {"table": "ok", "bucket": "ok"}}
    assert reply.header("content-type") == "application/json"


def test_table_missing_is_503(client: Any, aws: dict[str, Any]) -> None:
    aws["ddb"].delete_table(TableName=TABLE)
    reply = client.get("/health")
    assert reply.status == 503
    body = reply.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["bucket"] == "ok"
    assert body["checks"]["table"] == "error: ResourceNotFoundException"


def test_bucket_missing_is_503(client: Any, aws: dict[str, Any]) -> None:
    aws["s3"].delete_bucket(Bucket=BUCKET)
    reply = client.get("/health")
    assert reply.status == 503
    assert reply.json()["checks"] == {"table": "ok", "bucket": "error: NoSuchBucket"}


def test_unreachable_storage_is_503_quickly(offline_client: Any) -> None:
    """No AWS at all (dead proxy): both checks fail, short, without a stack trace in the body."""
    reply = offline_client.get("/health")
    assert reply.status == 503
    checks = reply.json()["checks"]
    assert set(checks) == {"table", "bucket"}
    for value in checks.values():
        assert value.startswith("error: ") and len(value) <= 130 and "Traceback" not in value


def test_bucket_not_configured_is_503(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUCKET_NAME", "")
    reset_handlers()
    reply = client.get("/health")
    assert reply.status == 503
    assert reply.json()["checks"]["bucket"].startswith("error: ")


def test_correlation_id_echoed(client: Any) -> None:
    reply = client.get("/health", headers={"x-correlation-id": "probe-42"})
    assert reply.header("X-Correlation-Id") == "probe-42"
    reply = client.get("/health")
    assert reply.header("X-Correlation-Id")  # the API Gateway request id


def test_the_two_checks_run_at_once(client: Any) -> None:
    """Each check waits for the other to have started: in turn, they would never meet, and
    /health would take as long as both."""
    import threading

    from tests.api.conftest import handlers

    _, health = handlers()
    both_started = threading.Barrier(2, timeout=5)

    class MeetingProbe:
        def check_table(self) -> None:
            both_started.wait()

        def check_bucket(self, bucket: str) -> None:
            both_started.wait()

    assert health.run_checks(MeetingProbe(), BUCKET) == {"table": "ok", "bucket": "ok"}
