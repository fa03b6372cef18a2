"""The ingest function on moto: the suite's `aws` resources plus the function's environment."""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import botocore.endpoint
import pytest


@pytest.fixture(autouse=True)
def instant_sdk_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries back off at once: these tests answer in place of DynamoDB, so a
    throttled or dropped request is resent by the client's own retry policy (the storage's
    transactions included), which would otherwise sleep seconds per injected fault."""
    monkeypatch.setattr(botocore.endpoint, "time", SimpleNamespace(sleep=lambda _seconds: None, time=time.time))


@pytest.fixture
def lambda_aws(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """`aws` with the ingest function's environment set and its handler module (`"handler"`),
    reset before and after so each test starts like a cold Lambda."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "sales-ingest-test")
    monkeypatch.setenv("UPLOADS_PREFIX", "uploads/")
    monkeypatch.setenv("REJECTS_PREFIX", "rejects/")
    monkeypatch.setenv("TABLE_NAME", aws["table"])
    # Imported with the environment set: like Lambda's INIT, the import reads the settings.
    import ingest_handler

    ingest_handler.reset()
    yield {**aws, "handler": ingest_handler}
    ingest_handler.reset()
