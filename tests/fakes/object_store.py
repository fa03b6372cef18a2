"""`ObjectStore` in memory, with the S3 semantics the ingest relies on: versioned objects, a
deleted version answering "gone", ETags (the MD5 of the bytes) and `If-Match` on them
(`ObjectChanged`); presigned links shaped as S3's (virtual-hosted, the key percent-encoded, the
expiry and the signed headers in the query). tests/contract/test_object_store_contract.py runs
the same checks against this fake and `S3ObjectStore` on moto.

Test helpers beside the protocol: `put_object` (an upload, answering its version id),
`delete_version`, `etag`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import quote, urlencode

from salesmetrics.storage.base import ObjectChanged, ObjectGone


@dataclass
class MemoryObjectStore:
    objects: dict[tuple[str, str], dict[str, bytes]] = field(default_factory=dict)
    markers: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # delete markers' version ids
    rejects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _versions: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def put_object(self, bucket: str, key: str, data: bytes) -> str:
        version = f"v{next(self._versions):08d}"
        with self._lock:
            self.objects.setdefault((bucket, key), {})[version] = data
        return version

    def delete_version(self, bucket: str, key: str, version_id: str) -> None:
        with self._lock:
            self.objects.get((bucket, key), {}).pop(version_id, None)
            self.markers.get((bucket, key), set()).discard(version_id)

    def put_delete_marker(self, bucket: str, key: str) -> str:
        """What a plain delete on a versioned bucket does: the key's latest version is a marker."""
        version = f"v{next(self._versions):08d}"
        with self._lock:
            self.markers.setdefault((bucket, key), set()).add(version)
        return version

    def object_versions(self, bucket: str, key: str) -> list[tuple[str, bool]]:
        with self._lock:
            found = [(v, False) for v in self.objects.get((bucket, key), {})]
            found += [(v, True) for v in self.markers.get((bucket, key), set())]
        return sorted(found, reverse=True)

    def etag(self, bucket: str, key: str, version_id: str = "") -> str:
        """The object's ETag as S3 computes it for a single-part upload (the MD5 of its bytes), unquoted
        as S3 events carry it."""
        with self._lock:
            versions = self.objects.get((bucket, key), {})
            data = versions.get(version_id) if version_id else versions[max(versions)] if versions else None
        if data is None:
            raise ObjectGone(f"s3://{bucket}/{key} version {version_id or '(none)'}: NoSuchVersion")
        return hashlib.md5(data, usedforsecurity=False).hexdigest()

    def open_object(self, bucket: str, key: str, version_id: str, *, etag: str = "") -> BinaryIO:
        with self._lock:
            versions = self.objects.get((bucket, key), {})
            latest = versions[max(versions)] if versions else None
            if latest is not None and max(versions) < max(self.markers.get((bucket, key), set()), default=""):
                latest = None  # the key's latest version is a delete marker
            data = versions.get(version_id) if version_id else latest
        if data is None:
            raise ObjectGone(f"s3://{bucket}/{key} version {version_id or '(none)'}: NoSuchVersion")
        # S3's If-Match: the object read must have this ETag, quoted or not.
        if etag and etag.strip('"') != hashlib.md5(data, usedforsecurity=False).hexdigest():
            raise ObjectChanged(f"s3://{bucket}/{key} no longer has ETag {etag}: PreconditionFailed")
        return io.BytesIO(data)

    def put_rejects(self, bucket: str, key: str, body: BinaryIO) -> None:
        with self._lock:
            self.rejects[(bucket, key)] = body.read()

    def put_changes(self, bucket: str, key: str, body: bytes) -> None:
        self.put_object(bucket, key, body)

    def presign_upload(self, bucket: str, key: str, content_type: str, expires_in: int) -> str:
        return _presigned("PUT", bucket, key, expires_in, signed_headers="content-type;host", content_type=content_type)

    def presign_download(self, bucket: str, key: str, expires_in: int) -> str:
        return _presigned("GET", bucket, key, expires_in, signed_headers="host")


def _presigned(
    method: str, bucket: str, key: str, expires_in: int, *, signed_headers: str, content_type: str = ""
) -> str:
    # Not a SigV4 signature (nothing here checks one): a digest of what the link grants, so that
    # two links for different grants differ as real ones do.
    grant = "\n".join((method, bucket, key, str(expires_in), content_type)).encode()
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-SignedHeaders": signed_headers,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-Signature": hashlib.sha256(grant).hexdigest(),
    }
    return f"https://{bucket}.s3.amazonaws.com/{quote(key, safe='/~')}?{urlencode(query)}"
