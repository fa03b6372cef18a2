"""Which objects an invocation is about: S3 notifications, S3 EventBridge events, SQS-wrapped or
Lambda-destination copies of those (the DLQ re-drive path)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, S3EventBridgeNotificationEvent


@dataclass(frozen=True, slots=True)
class ObjectRef:
    bucket: str
    key: str
    version_id: str
    etag: str
    size: int
    event_time: datetime
    sequencer: str
    request_id: str

    def version_prefix(self, import_id: str) -> str:
        """The ordering key of everything this object says: upload time first, so a late or
        redelivered event of an older upload never overrides a newer one; S3's per-key sequencer
        breaks ties within a millisecond (compared right-padded, as S3 documents)."""
        stamp = self.event_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        return f"{stamp}|{self.sequencer.upper().ljust(32, '0')}|{import_id}|"


@dataclass(frozen=True, slots=True)
class Removal:
    """An object version removed: a delete marker created (`marker`, `version_id` is the
    marker's) or a version deleted for good (`version_id` is that version's)."""

    bucket: str
    key: str
    version_id: str
    marker: bool


class UnsupportedEvent(ValueError):
    """The invocation's event is not one this function handles."""


def _time(raw: str | None) -> datetime:
    if not raw:
        return datetime.now(UTC)
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def objects_in(event: Mapping[str, Any]) -> Iterator[ObjectRef]:
    """Yield the created objects an event names; test events and other record types are skipped."""
    if "requestPayload" in event and isinstance(event["requestPayload"], Mapping):
        # A Lambda on-failure destination record: the original event is inside.
        yield from objects_in(event["requestPayload"])
        return
    if event.get("source") == "aws.s3" and "detail" in event:
        if event.get("detail-type", "Object Created") != "Object Created":
            return  # a deletion or another S3 event: see removals_in
        eb = S3EventBridgeNotificationEvent(dict(event))
        detail = eb.detail
        obj = detail.object
        yield ObjectRef(
            bucket=detail.bucket.name,
            # EventBridge carries the key as stored (not URL-encoded, unlike S3 notifications).
            key=obj.key,
            version_id=obj.version_id or "",
            etag=obj.etag or "",
            size=int(obj.size or 0),
            event_time=_time(eb.time),
            sequencer=obj.sequencer or "",
            request_id=detail.request_id or eb.get_id,
        )
        return
    records = event.get("Records")
    if not isinstance(records, list):
        if event.get("Event") == "s3:TestEvent":
            return
        raise UnsupportedEvent("expected an S3 notification (Records) or an S3 EventBridge event")
    for raw in records:
        source = raw.get("eventSource")
        if source == "aws:sqs":
            body = json.loads(raw.get("body") or "{}")
            yield from objects_in(body)
            continue
        if source != "aws:s3" or not str(raw.get("eventName", "")).startswith("ObjectCreated"):
            continue
        record = next(iter(S3Event({"Records": [raw]}).records))
        s3 = record.s3
        yield ObjectRef(
            bucket=s3.bucket.name,
            # S3 notifications URL-encode keys (a space arrives as '+').
            key=unquote_plus(s3.get_object.key),
            version_id=s3.get_object.version_id or "",
            etag=s3.get_object.etag or "",
            size=int(s3.get_object.size or 0),
            event_time=_time(record.event_time),
            sequencer=s3.get_object.sequencer or "",
            request_id=str((raw.get("responseElements") or {}).get("x-amz-request-id", "")),
        )


def removals_in(event: Mapping[str, Any]) -> Iterator[Removal]:
    """Yield the object removals an event names (S3 notifications `ObjectRemoved:*`, plain or as
    re-driven); everything else is skipped."""
    if "requestPayload" in event and isinstance(event["requestPayload"], Mapping):
        yield from removals_in(event["requestPayload"])
        return
    records = event.get("Records")
    if not isinstance(records, list):
        return
    for raw in records:
        if raw.get("eventSource") == "aws:sqs":
            yield from removals_in(json.loads(raw.get("body") or "{}"))
            continue
        name = str(raw.get("eventName", ""))
        if raw.get("eventSource") != "aws:s3" or not name.startswith("ObjectRemoved"):
            continue
        s3 = raw.get("s3") or {}
        obj = s3.get("object") or {}
        yield Removal(
            bucket=str((s3.get("bucket") or {}).get("name", "")),
            key=unquote_plus(str(obj.get("key", ""))),
            version_id=str(obj.get("versionId") or ""),
            marker=name == "ObjectRemoved:DeleteMarkerCreated",
        )
