"""Capability: the import log, one record per object version ingested (what happened to an upload).

Written by the import (`ingest`), read by the API's imports routes and the re-drive.
"""

from __future__ import annotations

from typing import Protocol

from ..imports import ImportRecord


class ImportLog(Protocol):
    def put_import(self, record: ImportRecord) -> None:
        """Store the record, replacing any earlier one of the same import id."""
        ...

    def get_import(self, import_id: str) -> ImportRecord | None:
        """The record (strongly consistent), or None."""
        ...

    def list_imports(self, limit: int, cursor: str | None) -> tuple[list[ImportRecord], str | None]:
        """At most `limit` records, newest first, after `cursor`; and the cursor of the next page
        (None on the last). A cursor this log did not hand out raises `InvalidCursor`."""
        ...
