"""Re-drive failed imports: re-run each S3 event held in the ingest DLQ, delete it when done.
Failed retractions (an object removal, or the invocation DELETE /imports/{id} made) are re-run
too: a retraction is idempotent, so re-running one that got further is harmless."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from ingest_handler import not_ingested_because, process, retract, retract_removed

from salesmetrics.config import RedriveSettings, get_settings
from salesmetrics.events import UnsupportedEvent, objects_in, removals_in
from salesmetrics.storage.queue import DeadLetterQueue
from salesmetrics.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()
_SAFETY_MS = 60_000  # stop taking messages when less than this is left of the invocation
# Read at import: a missing or malformed variable fails the cold start, naming it.
get_settings(RedriveSettings)


def reset() -> None:
    """Forget the settings read at cold start (docs/architecture.md, "State per execution
    environment")."""
    get_settings.cache_clear()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, Any]:
    queue = DeadLetterQueue(get_settings(RedriveSettings).dlq_url)
    limit = int((event or {}).get("max_messages", 100))
    done, failed = 0, 0
    for letter in queue.receive(limit):
        if context.get_remaining_time_in_millis() < _SAFETY_MS:
            break
        try:
            body = json.loads(letter.body)
            payload = body.get("requestPayload", body) if isinstance(body, dict) else None
            request = payload.get("retract") if isinstance(payload, dict) else None
            if isinstance(request, dict):
                retract(str(request.get("import_id", "")))
                refs = []
            else:
                for removal in removals_in(body):
                    retract_removed(removal)
                refs = list(objects_in(body))
            for ref in refs:
                # The same rule as the ingest function: what it would not import is not re-driven
                # either (logged, and the letter deleted: re-driving again cannot change that).
                if not_ingested_because(ref) is None:
                    process(ref, context)
        except (UnsupportedEvent, json.JSONDecodeError) as exc:
            logger.error(
                "dead letter is not an S3 event; left in the queue",
                extra={"message_id": letter.message_id, "reason": str(exc)},
            )
            failed += 1
            continue
        except Exception:
            logger.exception("re-drive failed; the message stays in the queue", extra={"message_id": letter.message_id})
            failed += 1
            continue
        queue.delete(letter)
        done += 1
    metrics.add_metric(name="ImportsRedriven", unit=MetricUnit.Count, value=done)
    return {"redriven": done, "failed": failed}
