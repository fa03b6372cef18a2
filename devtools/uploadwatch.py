"""Delivers the S3 events of files PUT through presigned upload URLs, on the local stack.

On AWS, a PUT to a presigned URL from `POST /uploads` makes S3 notify the ingest function. moto
runs no notifications, so the demo polls the uploads bucket for new object versions under the
keys `POST /uploads` hands out (`<uploads prefix>YYYY/MM/DD/...`) and delivers each version's
event once (devtools.s3events.notify_stored), as S3 would. Keys the demo puts itself (the sample,
the drop folder) are not of that shape and are delivered by the code that puts them.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from devtools.dropfolder import describe_import, find_import, uploads_prefix
from devtools.localaws import LocalAws
from devtools.s3events import notify_stored

log = logging.getLogger("devtools.uploads")

POLL_SECONDS = 0.5


class UploadWatcher:
    def __init__(self, stack: LocalAws, *, interval: float = POLL_SECONDS) -> None:
        self.stack = stack
        self.interval = interval
        prefix = uploads_prefix(stack)
        self.prefix = prefix
        self.pattern = re.compile(re.escape(prefix) + r"\d{4}/\d{2}/\d{2}/[^/]+\Z")
        self._seen: set[tuple[str, str]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered: list[Any] = []

    def _versions(self) -> list[tuple[str, str]]:
        s3 = self.stack.client("s3")
        found: list[tuple[str, str]] = []
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=self.stack.bucket().name, Prefix=self.prefix
        ):
            for version in page.get("Versions") or []:
                if self.pattern.match(version["Key"]):
                    found.append((version["Key"], str(version.get("VersionId") or "null")))
        return found

    def poll(self) -> list[Any]:
        """Deliver the event of every version not delivered yet; answers what was delivered."""
        out = []
        for key, version_id in self._versions():
            if (key, version_id) in self._seen:
                continue
            self._seen.add((key, version_id))
            notified = notify_stored(self.stack, key, None if version_id == "null" else version_id)
            record = find_import(self.stack, notified)
            log.info("%s", describe_import(key, notified, record))
            out.append(notified)
        self.delivered.extend(out)
        return out

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # the watcher must outlive one bad poll (e.g. during shutdown)
                log.exception("upload watcher: poll failed")

    def start(self) -> UploadWatcher:
        self._seen.update(self._versions())  # what is already there is not ours to deliver
        self._thread = threading.Thread(target=self.run, name="upload-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
