"""Capability: the uploads bucket's objects (the exports read, the rejects files written, the
presigned links the API hands out).

Used by the import (`ingest`: read an upload, write its rejects) and the API's uploads and rejects
routes (presigned links).
"""

from __future__ import annotations

from typing import BinaryIO, Protocol


class ObjectStore(Protocol):
    def open_object(self, bucket: str, key: str, version_id: str, *, etag: str = "") -> BinaryIO:
        """The object's bytes (its `version_id`, else the key's current object). `ObjectGone` if
        there is no such object; with an `etag` (S3's `If-Match`), `ObjectChanged` unless the
        object read has that ETag (quoted or not)."""
        ...

    def put_rejects(self, bucket: str, key: str, body: BinaryIO) -> None:
        """Store `body` (a CSV) under `key`."""
        ...

    def put_changes(self, bucket: str, key: str, body: bytes) -> None:
        """Store one part of an import's change list (JSON lines) under `key`."""
        ...

    def object_versions(self, bucket: str, key: str) -> list[tuple[str, bool]]:
        """The key's versions, newest first: (version id, whether it is a delete marker)."""
        ...

    def presign_upload(self, bucket: str, key: str, content_type: str, expires_in: int) -> str:
        """A URL that lets its holder PUT one object of `content_type` at `key` for `expires_in` seconds."""
        ...

    def presign_download(self, bucket: str, key: str, expires_in: int) -> str:
        """A URL that lets its holder GET the object at `key` for `expires_in` seconds."""
        ...
