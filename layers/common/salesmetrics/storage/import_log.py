"""Capability: the import log, one record per object version ingested (what happened to an upload).

Written by the import (`ingest`), read by the API's imports routes and the re-drive.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from ..imports import ImportRecord, ImportStatus


class ImportLog(Protocol):
    def put_import(self, record: ImportRecord, *, if_status: Collection[ImportStatus] | None = None) -> bool:
        """Store the record, replacing any earlier one of the same import id. With `if_status`,
        only if there is no record yet or the stored one has one of those statuses (one atomic
        step: an ingest and a retraction of the same import cannot both start); False if not."""
        ...

    def get_import(self, import_id: str) -> ImportRecord | None:
        """The record (strongly consistent), or None."""
        ...

    def list_imports(self, limit: int, cursor: str | None) -> tuple[list[ImportRecord], str | None]:
        """At most `limit` records, newest first, after `cursor`; and the cursor of the next page
        (None on the last). A cursor this log did not hand out raises `InvalidCursor`."""
        ...
