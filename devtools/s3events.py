"""S3 event notifications as real S3 sends them, for the local stack.

moto's own S3 notifications cannot run Lambda code without Docker, and its event records lack
`responseElements`, `userIdentity`, `versionId` and `sequencer` and encode `/` in keys (docs/library-notes.md).
So the local stack PUTs the object, builds the record real S3 would send from the PutObject and
HeadObject responses, applies the template's notification filter (event type, prefix/suffix
rules) and invokes the subscribed function the way Lambda runs asynchronous invocations.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from devtools.localaws import AsyncInvocation, LocalAws

log = logging.getLogger("devtools.s3events")

# Who "uploaded" locally: the shape of an IAM user principal, as real S3 reports it.
LOCAL_PRINCIPAL = "AWS:AIDALOCALDEMOUSER00"
OWNER_PRINCIPAL = "A3LOCALOWNER0EXAMPLE"

_sequencer_lock = threading.Lock()
_last_sequencer = 0


def encode_key(key: str) -> str:
    """The object key as S3 writes it into event records: form-encoded, spaces as `+`, `/` kept."""
    return urllib.parse.quote_plus(key, safe="/")


def next_sequencer() -> str:
    """A sequencer that grows with every event (hex, fixed width, like S3's 18-digit ones)."""
    global _last_sequencer  # noqa: PLW0603 - one process-wide monotonic counter
    with _sequencer_lock:
        value = max(time.time_ns(), _last_sequencer + 1)
        _last_sequencer = value
    return f"{value:018X}"


def event_time(moment: datetime | None = None) -> str:
    """`2025-03-01T10:15:30.123Z`: UTC with milliseconds, as S3 writes eventTime."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def configuration_id(function_logical_id: str, event_name: str) -> str:
    """A stable notification configuration id (S3 assigns a base64 one when none is given)."""
    return base64.b64encode(f"{function_logical_id}-{event_name}".encode()).decode().rstrip("=")


def build_put_event(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    region: str = "us-east-1",
    sequencer: str | None = None,
    when: datetime | None = None,
    request_id: str | None = None,
    host_id: str | None = None,
    source_ip: str = "127.0.0.1",
    principal_id: str = LOCAL_PRINCIPAL,
    config_id: str = "LocalNotification",
    event_name: str = "ObjectCreated:Put",
) -> dict[str, Any]:
    """The event S3 sends to Lambda for one created object (`key` decoded; it is encoded here)."""
    obj: dict[str, Any] = {
        "key": encode_key(key),
        "size": int(size),
        "eTag": etag.strip('"'),
    }
    if version_id and version_id != "null":
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer or next_sequencer()
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": event_time(when),
                "eventName": event_name,
                "userIdentity": {"principalId": principal_id},
                "requestParameters": {"sourceIPAddress": source_ip},
                "responseElements": {
                    "x-amz-request-id": request_id or secrets.token_hex(8).upper(),
                    "x-amz-id-2": host_id or _host_id(),
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": config_id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": OWNER_PRINCIPAL},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def event_from_responses(
    *,
    bucket: str,
    key: str,
    put: Mapping[str, Any],
    head: Mapping[str, Any],
    region: str,
    when: datetime | None = None,
    config_id: str = "LocalNotification",
) -> dict[str, Any]:
    """The event for a PutObject, from its response and the HeadObject of that version."""
    metadata = put.get("ResponseMetadata") or {}
    headers = metadata.get("HTTPHeaders") or {}
    return build_put_event(
        bucket=bucket,
        key=key,
        size=int(head["ContentLength"]),
        etag=str(put.get("ETag") or head["ETag"]),
        version_id=put.get("VersionId") or head.get("VersionId"),
        region=region,
        when=when,
        request_id=_s3_request_id(metadata.get("RequestId") or headers.get("x-amz-request-id")),
        host_id=metadata.get("HostId") or headers.get("x-amz-id-2"),
        config_id=config_id,
    )


def _s3_request_id(value: str | None) -> str:
    # Real S3 request ids are 16 upper-case hex digits; moto's are 52 alphanumerics.
    if value and len(value) == 16:
        return value
    return hashlib.sha256((value or secrets.token_hex(8)).encode()).hexdigest()[:16].upper()


def _host_id() -> str:
    return base64.b64encode(secrets.token_bytes(56)).decode()


@dataclass(slots=True)
class Notified:
    """One upload: the object version, the event built for it, and who it was delivered to."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    event: dict[str, Any]
    invocations: list[AsyncInvocation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ingested(self) -> bool:
        return any(i.ok for i in self.invocations)

    @property
    def result(self) -> Any:
        return self.invocations[0].result if self.invocations else None


def upload_and_notify(
    stack: LocalAws,
    body: bytes | str | os.PathLike[str] | BinaryIO,
    key: str,
    *,
    bucket_logical_id: str | None = None,
    content_type: str = "text/csv",
) -> Notified:
    """PUT `body` (bytes, a file path or a binary stream) at `key` in the template's bucket, and
    deliver the ObjectCreated:Put event to every function whose S3 event (type and filter rules)
    matches, as Lambda runs asynchronous invocations (retries, then the DLQ)."""
    bucket = stack.bucket(bucket_logical_id)
    s3 = stack.client("s3")
    started = time.monotonic()
    if isinstance(body, (bytes, bytearray)):
        put = s3.put_object(Bucket=bucket.name, Key=key, Body=bytes(body), ContentType=content_type)
    elif isinstance(body, (str, os.PathLike)):
        with Path(body).open("rb") as stream:
            put = s3.put_object(Bucket=bucket.name, Key=key, Body=stream, ContentType=content_type)
    else:
        put = s3.put_object(Bucket=bucket.name, Key=key, Body=body, ContentType=content_type)
    when = datetime.now(UTC)
    version_id = put.get("VersionId")
    head_kwargs = {"VersionId": version_id} if version_id else {}
    head = s3.head_object(Bucket=bucket.name, Key=key, **head_kwargs)
    return _deliver(stack, bucket, key, put, head, when, started)


def notify_stored(
    stack: LocalAws, key: str, version_id: str | None, *, bucket_logical_id: str | None = None
) -> Notified:
    """Deliver the ObjectCreated:Put event of an object someone else PUT (e.g. a browser, through a
    presigned URL: moto runs no notifications), as `upload_and_notify` does for its own."""
    bucket = stack.bucket(bucket_logical_id)
    started = time.monotonic()
    head_kwargs = {"VersionId": version_id} if version_id else {}
    head = stack.client("s3").head_object(Bucket=bucket.name, Key=key, **head_kwargs)
    put = {"ETag": head.get("ETag"), "VersionId": version_id, "ResponseMetadata": head.get("ResponseMetadata") or {}}
    when = head.get("LastModified") or datetime.now(UTC)
    return _deliver(stack, bucket, key, put, head, when, started)


def delete_and_notify(stack: LocalAws, key: str, *, bucket_logical_id: str | None = None) -> Notified:
    """DELETE `key` as `aws s3 rm` does (on a versioned bucket: a delete marker) and deliver the
    `ObjectRemoved:DeleteMarkerCreated` (or, unversioned, `ObjectRemoved:Delete`) event to every
    function subscribed to it, as S3 would; moto runs no notifications."""
    bucket = stack.bucket(bucket_logical_id)
    started = time.monotonic()
    answer = stack.client("s3").delete_object(Bucket=bucket.name, Key=key)
    marker = bool(answer.get("DeleteMarker"))
    version_id = answer.get("VersionId")
    name = "ObjectRemoved:DeleteMarkerCreated" if marker else "ObjectRemoved:Delete"
    event = build_put_event(
        bucket=bucket.name,
        key=key,
        size=0,
        etag="",
        version_id=version_id,
        region=stack.region,
        request_id=_s3_request_id((answer.get("ResponseMetadata") or {}).get("RequestId")),
        event_name=name,
    )
    notified = Notified(bucket.name, key, version_id, "", 0, event)
    for fn in stack.functions():
        for spec in fn.s3_events:
            if spec.bucket_logical_id == bucket.logical_id and spec.matches(f"s3:{name}", key):
                record = dict(event["Records"][0])
                record["s3"] = {**record["s3"], "configurationId": configuration_id(fn.logical_id, spec.name)}
                notified.invocations.append(stack.invoke_async(fn.logical_id, {"Records": [record]}))
    notified.seconds = time.monotonic() - started
    return notified


def _deliver(
    stack: LocalAws,
    bucket: Any,
    key: str,
    put: Mapping[str, Any],
    head: Mapping[str, Any],
    when: datetime,
    started: float,
) -> Notified:
    version_id = put.get("VersionId")
    subscribers = [
        (fn, spec)
        for fn in stack.functions()
        for spec in fn.s3_events
        if spec.bucket_logical_id == bucket.logical_id and spec.matches("s3:ObjectCreated:Put", key)
    ]
    event = event_from_responses(bucket=bucket.name, key=key, put=put, head=head, region=stack.region, when=when)
    notified = Notified(
        bucket.name, key, version_id, str(put.get("ETag", "")).strip('"'), int(head["ContentLength"]), event
    )
    if not subscribers:
        log.info("s3://%s/%s stored; no function is notified for it (template filter rules)", bucket.name, key)
    for fn, spec in subscribers:
        record = dict(event["Records"][0])
        record["s3"] = {**record["s3"], "configurationId": configuration_id(fn.logical_id, spec.name)}
        notified.invocations.append(stack.invoke_async(fn.logical_id, {"Records": [record]}))
    notified.seconds = time.monotonic() - started
    return notified
