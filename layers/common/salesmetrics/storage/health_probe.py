"""Capability: is storage reachable? Used by the health function only."""

from __future__ import annotations

from typing import Protocol


class HealthProbe(Protocol):
    def check_table(self) -> None:
        """Return if the table answers; raise (the error naming why) if it does not."""
        ...

    def check_bucket(self, bucket: str) -> None:
        """Return if `bucket` answers a listing; raise (the error naming why) if it does not."""
        ...
