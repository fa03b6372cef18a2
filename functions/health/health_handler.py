"""GET /health: is storage reachable? 200 {"status": "ok", ...} or 503 {"status": "unavailable", ...}.

Kept lean on purpose (it is the route probes hit cold): no resolver, no pydantic, no Tracer.
Tracer alone imports aws_xray_sdk (~500 ms, docs/library-notes.md); the function still gets X-Ray's
Lambda segment from `Tracing: Active`, only without subsegments for the two AWS calls.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from salesmetrics.config import HealthSettings, get_settings
from salesmetrics.correlation import CORRELATION_HEADER, caller_correlation_id

# Imported here, not on first use: boto3's ~250 ms then falls in Lambda's INIT phase. No client is
# made until the first call (so moto's mock, started later in tests, still sees every one).
from salesmetrics.storage.aws import AwsHealthProbe

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from salesmetrics.storage.health_probe import HealthProbe

_REASON_LENGTH = 120

logger = Logger()
_storage: HealthProbe | None = None
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="health")  # the two checks at once
# Read at import: a missing or malformed variable fails the cold start, naming it.
get_settings(HealthSettings)


def get_storage() -> HealthProbe:
    """The health probe, the one storage capability this function uses (made on first use)."""
    global _storage  # noqa: PLW0603 - one per Lambda execution environment, on purpose
    if _storage is None:
        settings = get_settings(HealthSettings)
        _storage = AwsHealthProbe(settings.table_name, timeout=settings.health_timeout_seconds)
    return _storage


def reset() -> None:
    """Forget what this execution environment built (settings, storage): the next invocation
    starts like a cold one (docs/architecture.md, "State per execution environment")."""
    global _storage  # noqa: PLW0603 - see get_storage
    get_settings.cache_clear()
    _storage = None


def run_checks(probe: HealthProbe, bucket: str) -> dict[str, str]:
    """Each check: "ok" or "error: <short reason>" (the error's code, never a stack trace).

    The two run at the same time, each bounded by the probe's timeout (connect/read, one
    attempt): the answer takes as long as the slower one, not both in turn.
    """

    def bucket_check() -> None:
        if not bucket:
            raise RuntimeError("BUCKET_NAME is not configured")
        probe.check_bucket(bucket)

    running = {name: _POOL.submit(check) for name, check in (("table", probe.check_table), ("bucket", bucket_check))}
    checks: dict[str, str] = {}
    for name, future in running.items():
        try:
            future.result()
            checks[name] = "ok"
        except Exception as exc:  # any failure is "unavailable"; the reason is logged and shown short
            logger.warning("health check failed", extra={"check": name, "error": _reason(exc)})
            checks[name] = "error: " + _reason(exc)
    return checks


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    correlation_id = _caller_correlation_id(event)
    if correlation_id:
        logger.set_correlation_id(correlation_id)
    correlation_id = correlation_id or str(logger.get_correlation_id() or "")

    checks = run_checks(get_storage(), get_settings(HealthSettings).bucket_name)
    healthy = all(value == "ok" for value in checks.values())
    status = 200 if healthy else 503
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if correlation_id:
        headers[CORRELATION_HEADER] = correlation_id
    logger.info(
        "health",
        extra={"status": status, "checks": checks, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    return {
        "statusCode": status,
        "headers": headers,
        "body": json.dumps({"status": "ok" if healthy else "unavailable", "checks": checks}),
        "isBase64Encoded": False,
    }


def _reason(exc: Exception) -> str:
    # botocore's ClientError carries a code ("ResourceNotFoundException", "NoSuchBucket"); other
    # failures (timeouts, endpoint errors) are named by their type and first line.
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)[:_REASON_LENGTH]
    text = str(exc).splitlines()[0] if str(exc) else ""
    reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return reason[:_REASON_LENGTH]


def _caller_correlation_id(event: dict[str, Any]) -> str | None:
    return caller_correlation_id(event.get("headers"))
