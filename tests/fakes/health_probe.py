"""`HealthProbe` in memory: the table answers unless it is marked missing; a bucket answers if it
is one of `buckets` (None: any). A missing one raises, as `AwsHealthProbe`'s AWS calls do
(tests/contract/test_health_probe_contract.py runs both)."""

from __future__ import annotations

from dataclasses import dataclass


class Unreachable(ConnectionError):
    """What the fake raises for a table or bucket that is not there."""


@dataclass
class MemoryHealthProbe:
    table_exists: bool = True
    buckets: frozenset[str] | None = None

    def check_table(self) -> None:
        if not self.table_exists:
            raise Unreachable("ResourceNotFoundException: the table does not exist")

    def check_bucket(self, bucket: str) -> None:
        if self.buckets is not None and bucket not in self.buckets:
            raise Unreachable(f"NoSuchBucket: {bucket}")
