"""Each function's configuration: its environment variables, read once, validated, typed.

`get_settings(IngestSettings)` reads the environment on first use and keeps the result for the
life of the execution environment. Handlers call it at import, so a missing or malformed variable
fails Lambda's INIT phase (the cold start) with a `ConfigError` naming every bad variable, rather
than the first request that needs it.

Standard library only: neither the ingest nor the health function imports pydantic, and a
pydantic settings model would add ~140 ms to their cold start against ~10 ms for this module
(`python -X importtime` and timed imports, fastest of 7, on a busy 2-core machine; the health
handler's whole import is ~250 ms). The metrics function imports pydantic anyway and declares its
settings as a pydantic model (functions/metrics/metrics_api/settings.py); it is loaded through
the same `get_settings`, fails with the same `ConfigError`, and shares the helpers below.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar, cast

MAX_UPLOAD_URL_TTL_SECONDS = 900  # S3 presigned URLs for an upload: at most 15 minutes, on purpose


class ConfigError(ValueError):
    """Environment variables missing or malformed; the message names each one and what is wrong."""

    def __init__(self, function: str, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{function} function configuration: " + "; ".join(self.problems))


class FromEnviron(Protocol):
    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self: ...


S = TypeVar("S", bound=FromEnviron)


class _SettingsCache:
    """`get_settings(Kind)` reads Kind's settings on first use; `cache_clear()` forgets them all.

    Lambda reads them once per execution environment. Local tools that run several functions in
    one process (tests, the local stack) clear the cache whenever they change the environment.
    """

    def __init__(self) -> None:
        self._loaded: dict[type[Any], Any] = {}

    def __call__(self, kind: type[S]) -> S:
        loaded = self._loaded.get(kind)
        if loaded is None:
            loaded = self._loaded[kind] = kind.from_environ(os.environ)
        return cast(S, loaded)

    def cache_clear(self) -> None:
        self._loaded.clear()


get_settings = _SettingsCache()


def present(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables that are set to something: an empty (or blank) value means "not set"."""
    return {name: value.strip() for name, value in environ.items() if value.strip()}


def normalise_prefix(value: str) -> str:
    """An S3 key prefix as the code compares keys with it: no leading "/", one trailing "/"."""
    value = value.strip().lstrip("/")
    return value if value.endswith("/") else value + "/"


class EnvReader:
    """Reads one function's variables, collecting every problem; `check()` raises them together."""

    def __init__(self, environ: Mapping[str, str], function: str) -> None:
        self._environ = present(environ)
        self._function = function
        self._problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str:
        """The variable's value; without a default it is required."""
        value = self._environ.get(name, default)
        if value is None:
            self._problems.append(f"{name} is not set")
            return ""
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        raw = self._environ.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            self._problems.append(f"{name} must be a whole number, not {raw[:40]!r}")
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            self._problems.append(f"{name} must be {bounds}, not {value}")
            return default
        return value

    def seconds(self, name: str, default: float) -> float:
        raw = self._environ.get(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value > 0 or value == float("inf"):
            self._problems.append(f"{name} must be a positive number of seconds, not {raw[:40]!r}")
            return default
        return value

    def prefix(self, name: str, default: str) -> str:
        return normalise_prefix(self._environ.get(name, default))

    def check(self) -> None:
        if self._problems:
            raise ConfigError(self._function, self._problems)


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """The ingest function's (and the re-drive's, which runs the same import code)."""

    table_name: str
    uploads_prefix: str
    rejects_prefix: str
    idempotency_ttl_seconds: int
    # How often Lambda tries an ingest event (1 + the template's MaximumRetryAttempts): the attempt
    # that fails with this number records that the import gave up.
    ingest_max_attempts: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvReader(environ, "ingest")
        settings = cls(
            table_name=env.text("TABLE_NAME"),
            uploads_prefix=env.prefix("UPLOADS_PREFIX", "uploads/"),
            rejects_prefix=env.prefix("REJECTS_PREFIX", "rejects/"),
            idempotency_ttl_seconds=env.integer("IDEMPOTENCY_TTL_SECONDS", 7 * 24 * 3600, minimum=1),
            ingest_max_attempts=env.integer("INGEST_MAX_ATTEMPTS", 3, minimum=1),
        )
        env.check()
        return settings


@dataclass(frozen=True, slots=True)
class RedriveSettings:
    dlq_url: str  # the ingest dead-letter queue it drains

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvReader(environ, "re-drive")
        settings = cls(dlq_url=env.text("DLQ_URL"))
        env.check()
        return settings


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    table_name: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvReader(environ, "reconcile")
        settings = cls(table_name=env.text("TABLE_NAME"))
        env.check()
        return settings


@dataclass(frozen=True, slots=True)
class HealthSettings:
    table_name: str
    # Not required: an unconfigured bucket is what the bucket check then reports (503), which a
    # probe can show; a function that cannot start answers only API Gateway's bare 5xx.
    bucket_name: str
    health_timeout_seconds: float  # per check (connect and read), one attempt

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        env = EnvReader(environ, "health")
        settings = cls(
            table_name=env.text("TABLE_NAME"),
            bucket_name=env.text("BUCKET_NAME", ""),
            health_timeout_seconds=env.seconds("HEALTH_TIMEOUT_SECONDS", 2.0),
        )
        env.check()
        return settings
