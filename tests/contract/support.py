"""What the contract suites share: the two implementations' names, the buckets, and the handles
the fixtures (conftest.py) give the tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

IMPLEMENTATIONS = ["memory", "aws"]
VERSIONED = "contract-objects"  # a versioned bucket
UNVERSIONED = "contract-unversioned"  # a bucket whose versioning was never enabled


@dataclass
class Objects:
    """An object store, and what a test does to the bucket behind it the way a user or S3 would."""

    store: Any
    # PUT into the versioned bucket; answers the new version's id.
    put_versioned: Callable[[str, bytes], str]
    delete_version: Callable[[str, str], None]
    # PUT into the unversioned bucket; answers the ETag as S3 events carry it (unquoted).
    put_unversioned: Callable[[str, bytes], str]
    # What put_rejects stored at (bucket, key).
    read_back: Callable[[str, str], bytes]


@dataclass
class Probes:
    reachable: Any  # on the table, with BUCKET existing
    no_table: Any  # on a table that does not exist
