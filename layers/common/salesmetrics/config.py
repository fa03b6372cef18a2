"""The one place configuration is read: the environment, once, typed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    # Empty for the ingest function: it learns the bucket from each event, and naming the bucket
    # there would close the bucket -> notification -> function -> bucket dependency cycle.
    bucket_name: str
    uploads_prefix: str
    rejects_prefix: str
    currency: str
    upload_url_ttl_seconds: int
    max_range_days: int
    idempotency_ttl_seconds: int
    health_timeout_seconds: float
    dlq_url: str  # the re-drive function's queue
    # How often Lambda tries an ingest event (1 + the template's MaximumRetryAttempts): the attempt
    # that fails with this number records that the import gave up.
    ingest_max_attempts: int
    metrics_enabled: bool  # Powertools prints a ColdStart metric even when disabled, unless asked not to


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _prefix(name: str, default: str) -> str:
    raw = os.environ.get(name, default).strip().lstrip("/")
    return raw if raw.endswith("/") else raw + "/"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process (a Lambda execution environment)."""
    ttl = _int("UPLOAD_URL_TTL_SECONDS", 900)
    if not 1 <= ttl <= 900:
        raise ValueError("UPLOAD_URL_TTL_SECONDS must be between 1 and 900 (15 minutes)")
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "").strip(),
        bucket_name=os.environ.get("BUCKET_NAME", "").strip(),
        uploads_prefix=_prefix("UPLOADS_PREFIX", "uploads/"),
        rejects_prefix=_prefix("REJECTS_PREFIX", "rejects/"),
        currency=os.environ.get("CURRENCY", "SGD").strip() or "SGD",
        upload_url_ttl_seconds=ttl,
        max_range_days=_int("MAX_RANGE_DAYS", 3660),
        idempotency_ttl_seconds=_int("IDEMPOTENCY_TTL_SECONDS", 7 * 24 * 3600),
        health_timeout_seconds=float(os.environ.get("HEALTH_TIMEOUT_SECONDS", "2") or 2),
        dlq_url=os.environ.get("DLQ_URL", "").strip(),
        ingest_max_attempts=_int("INGEST_MAX_ATTEMPTS", 3),
        metrics_enabled=os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() not in ("1", "true"),
    )
