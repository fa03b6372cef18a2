"""The object store on S3: the uploads bucket's exports read, rejects files written, links presigned."""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .base import ObjectChanged, ObjectGone
from .object_store import ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = ["S3ObjectStore"]

# What GetObject answers for a version that was deleted (or a key whose latest version is a delete
# marker): no retry can bring it back.
_GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "404", "MethodNotAllowed", "405"})
# What GetObject with If-Match answers when the object has another ETag (overwritten meanwhile).
_CHANGED_CODES = frozenset({"PreconditionFailed", "412"})


class S3ObjectStore(ObjectStore):
    """`ObjectStore`. The client is made on first use (so moto's mock, started later, sees it);
    safe to share between threads once made."""

    def __init__(self) -> None:
        self._s3: S3Client | None = None
        self._s3_lock = threading.Lock()

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            config = Config(retries={"mode": "standard", "max_attempts": 4}, signature_version="s3v4")
            with self._s3_lock:
                if self._s3 is None:
                    self._s3 = boto3.client("s3", config=config)
        return self._s3

    def open_object(self, bucket: str, key: str, version_id: str, *, etag: str = "") -> BinaryIO:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        if etag:
            kwargs["IfMatch"] = f'"{etag.strip(chr(34))}"'  # S3 events carry it unquoted, GetObject answers quoted
        try:
            body = self.s3.get_object(**kwargs)["Body"]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _GONE_CODES:
                raise ObjectGone(f"s3://{bucket}/{key} version {version_id or '(none)'}: {code}") from exc
            if code in _CHANGED_CODES:
                raise ObjectChanged(f"s3://{bucket}/{key} no longer has ETag {etag}: {code}") from exc
            raise
        # A buffered reader over the HTTP body: lines come from C code, memory stays at one buffer.
        return cast(BinaryIO, io.BufferedReader(_BodyReader(body), buffer_size=1 << 20))

    def put_rejects(self, bucket: str, key: str, body: BinaryIO) -> None:
        self.s3.upload_fileobj(body, bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"})

    def put_changes(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/x-ndjson")

    def object_versions(self, bucket: str, key: str) -> list[tuple[str, bool]]:
        found: list[tuple[bool, str, bool, str]] = []
        paginator = self.s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=key):
            for kind, marker in (("Versions", False), ("DeleteMarkers", True)):
                for entry in page.get(kind, []):  # type: ignore[attr-defined]
                    if entry["Key"] == key:
                        latest = bool(entry.get("IsLatest"))
                        found.append((latest, entry["LastModified"].isoformat(), marker, entry["VersionId"]))
        # S3 lists a key's versions newest first, but boto3 hands the markers over in a list of
        # their own, and two entries can share a LastModified (whole seconds on some stores).
        # Newest first: the latest one, then by time; on a tie a marker is the newer, since a
        # delete marker hides a version that existed before it.
        found.sort(reverse=True)
        return [(version, marker) for _, _, marker, version in found]

    def presign_upload(self, bucket: str, key: str, content_type: str, expires_in: int) -> str:
        return self.s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=expires_in,
            HttpMethod="PUT",
        )

    def presign_download(self, bucket: str, key: str, expires_in: int) -> str:
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in, HttpMethod="GET"
        )


class _BodyReader(io.RawIOBase):
    """Adapts botocore's StreamingBody to RawIOBase so io.BufferedReader can sit on it."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()
