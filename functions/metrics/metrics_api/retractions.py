"""Starting a retraction: the asynchronous invocation DELETE /imports/{import_id} makes.

The retraction runs in the function the template names in `RETRACT_FUNCTION_NAME` (the ingest
function, which also retracts on S3 object removals), invoked as an event: Lambda retries it and
sends it to that function's dead-letter queue when it keeps failing, as it does for uploads.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

from .settings import settings

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient


@cache
def _client() -> LambdaClient:
    return boto3.client("lambda")


def retract_event(import_id: str) -> dict[str, Any]:
    return {"retract": {"import_id": import_id}}


def start(import_id: str) -> None:
    """Invoke the retraction asynchronously; it answers at once (202 from Lambda)."""
    name = settings().retract_function_name  # required: a cold start without it fails, naming it
    _client().invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(retract_event(import_id)).encode())


def reset() -> None:
    _client.cache_clear()
