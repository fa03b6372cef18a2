"""The ingest function on moto: the suite's `aws` resources plus the function's environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


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
