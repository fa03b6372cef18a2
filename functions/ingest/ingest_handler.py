"""S3 ObjectCreated under the uploads prefix -> one import per sales export (`.csv` / `.csv.gz`,
any case) object version. Thin: event -> Ingestor.

Also the retraction of an import (docs/architecture.md, "Undo"): S3 ObjectRemoved under the
uploads prefix (a delete marker or a version deleted), or `{"retract": {"import_id": ...}}`, the
asynchronous invocation DELETE /imports/{import_id} makes. Event -> Retractor."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from salesmetrics.config import IngestSettings, get_settings
from salesmetrics.events import ObjectRef, Removal, UnsupportedEvent, objects_in, removals_in
from salesmetrics.filenames import NOT_AN_EXPORT, is_export_name
from salesmetrics.imports import ImportRecord, ImportStatus, import_id_for
from salesmetrics.ingest import Ingestor
from salesmetrics.pacing import WritePacing
from salesmetrics.retract import Retractor, removed_imports
from salesmetrics.storage.aws import AwsStorage
from salesmetrics.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()
# The domain logs through the standard library; give those loggers the same JSON and keys.
copy_config_to_registered_loggers(source_logger=logger, include={"salesmetrics"})
# Read at import: a missing or malformed variable fails the cold start, naming it.
get_settings(IngestSettings)

_STATUS_METRIC = {
    ImportStatus.SUCCEEDED: "ImportsSucceeded",
    ImportStatus.PARTIAL: "ImportsPartial",
    ImportStatus.FAILED: "ImportsFailed",
}


@cache
def get_storage() -> AwsStorage:
    """The storage this execution environment writes to (made on first use): the sales store,
    the import log and the object store an import uses (`IngestStorage`)."""
    return AwsStorage(get_settings(IngestSettings).table_name)


@cache
def _idempotency_config() -> IdempotencyConfig:
    # One import per object version: a redelivered event returns the finished import's record.
    return IdempotencyConfig(
        event_key_jmespath="[bucket, key, version_id, etag]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=get_settings(IngestSettings).idempotency_ttl_seconds,
    )


@cache
def _ingest_once() -> Any:
    # Built on first use: Powertools creates its boto3 client in the constructor, and a client
    # made at import time would escape a mock (tests) started later.
    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings(IngestSettings).table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#ingest",
    )
    return idempotent_function(
        data_keyword_argument="obj", persistence_store=persistence, config=_idempotency_config()
    )(_ingest)


def reset() -> None:
    """Forget what this execution environment built (settings, storage, idempotency store): the
    next invocation starts like a cold one. For tests and tools that run functions in one process
    after changing the environment (docs/architecture.md, "State per execution environment")."""
    get_settings.cache_clear()
    for cached in (get_storage, _idempotency_config, _ingest_once):
        cached.cache_clear()


def _ingest(obj: dict[str, Any]) -> dict[str, Any]:
    ref = ObjectRef(**{**obj, "event_time": _parse_time(obj["event_time"])})
    started = time.perf_counter()
    settings = get_settings(IngestSettings)
    context = _idempotency_config().lambda_context
    record = Ingestor(
        get_storage(),
        settings.rejects_prefix,
        max_attempts=settings.ingest_max_attempts,
        remaining_ms=context.get_remaining_time_in_millis if context else None,
        pacing=WritePacing(),  # one thread until DynamoDB's answers keep it waiting (pacing.py)
    ).run(ref)
    _emit_metrics(record, (time.perf_counter() - started) * 1000)
    logger.info("import finished", extra={"import": _loggable(record)})
    return record.to_dict()


def _parse_time(raw: str) -> datetime:
    return datetime.fromisoformat(raw)


def _emit_metrics(record: ImportRecord, duration_ms: float) -> None:
    if record.status in _STATUS_METRIC:
        metrics.add_metric(name=_STATUS_METRIC[record.status], unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="LinesIngested", unit=MetricUnit.Count, value=record.rows_ingested)
    metrics.add_metric(name="LinesRejected", unit=MetricUnit.Count, value=record.rows_rejected)
    metrics.add_metric(name="SalesCreated", unit=MetricUnit.Count, value=record.sales_created)
    metrics.add_metric(name="SalesUpdated", unit=MetricUnit.Count, value=record.sales_updated)
    metrics.add_metric(name="SalesUnchanged", unit=MetricUnit.Count, value=record.sales_unchanged)
    metrics.add_metric(name="IngestDurationMs", unit=MetricUnit.Milliseconds, value=round(duration_ms, 1))


def _loggable(record: ImportRecord) -> dict[str, Any]:
    return {k: v for k, v in record.to_dict().items() if k not in ("bucket", "key", "import_id")}


@tracer.capture_method
def process(ref: ObjectRef, context: LambdaContext) -> dict[str, Any]:
    import_id = import_id_for(ref.bucket, ref.key, ref.version_id, ref.etag)
    # One correlation id per import, on every line of it: S3's request id ties the logs to S3's
    # own records; the import id stands in when an event has none.
    logger.set_correlation_id(ref.request_id or import_id)
    logger.append_keys(import_id=import_id, bucket=ref.bucket, key=ref.key)
    tracer.put_annotation("import_id", import_id)
    _idempotency_config().register_lambda_context(context)
    payload = {
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_id,
        "etag": ref.etag,
        "size": ref.size,
        "event_time": ref.event_time.isoformat(),
        "sequencer": ref.sequencer,
        "request_id": ref.request_id,
    }
    result: dict[str, Any] = _ingest_once()(obj=payload)
    return result


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("retract")
    if isinstance(request, Mapping):
        return {"retracted": [retract(str(request.get("import_id", "")))]}
    removals = list(removals_in(event))
    if removals:
        return {"retracted": [r for removal in removals for r in retract_removed(removal)]}
    try:
        refs = list(objects_in(event))
    except UnsupportedEvent as exc:
        # Retrying cannot fix the shape of an event: log it and return, so it is not retried.
        logger.error("unsupported event", extra={"reason": str(exc), "event_keys": sorted(event)})
        return {"imports": [], "error": str(exc)}
    imports: list[dict[str, Any]] = []
    ignored: list[dict[str, str]] = []
    for ref in refs:
        reason = not_ingested_because(ref)
        if reason is not None:
            ignored.append({"key": ref.key, "reason": reason})
            continue
        imports.append(process(ref, context))
    return {"imports": imports, "ignored": ignored}


def not_ingested_because(ref: ObjectRef) -> str | None:
    """Why this object is not imported (logged once, as a warning), or None for a sales export.

    The S3 notification filters on the uploads prefix only (its suffix rules are case-sensitive),
    so the export-name rule is applied here; no import record is made for what it leaves out.
    """
    settings = get_settings(IngestSettings)
    if not ref.key.startswith(settings.uploads_prefix):
        reason = f"outside the uploads prefix {settings.uploads_prefix!r}"
    elif ref.key.startswith(settings.rejects_prefix):
        # A rejects prefix inside the uploads prefix would otherwise feed each rejects file back in.
        reason = f"a rejects file (under {settings.rejects_prefix!r})"
    elif not is_export_name(ref.key):
        reason = NOT_AN_EXPORT
    else:
        return None
    # One fixed message (easy to query for), the reason beside it; counted for the dashboard.
    metrics.add_metric(name="ObjectsNotIngested", unit=MetricUnit.Count, value=1)
    logger.warning(
        "object not ingested",
        extra={"reason": reason, "key": ref.key, "bucket": ref.bucket, "version_id": ref.version_id, "size": ref.size},
    )
    return reason


def retract(import_id: str) -> dict[str, Any] | None:
    """Retract one import (None: no such import). An import still being ingested raises
    `ImportBusy`: the invocation fails and Lambda retries it once the ingest has finished."""
    logger.append_keys(import_id=import_id)
    record = Retractor(get_storage()).run(import_id)
    if record is None:
        logger.warning("retraction of an unknown import", extra={"import_id": import_id})
        return None
    metrics.add_metric(name="ImportsRetracted", unit=MetricUnit.Count, value=1)
    logger.info("import retracted", extra={"import": _loggable(record)})
    return record.to_dict()


def retract_removed(removal: Removal) -> list[dict[str, Any]]:
    """Retract the imports of an object version removed under the uploads prefix."""
    if not removal.key.startswith(get_settings(IngestSettings).uploads_prefix):
        return []
    found = removed_imports(get_storage(), removal.bucket, removal.key, removal.version_id, marker=removal.marker)
    logger.info(
        "object removed",
        extra={"key": removal.key, "version_id": removal.version_id, "marker": removal.marker, "imports": found},
    )
    return [record for record in map(retract, found) if record is not None]
