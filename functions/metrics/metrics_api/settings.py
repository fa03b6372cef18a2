"""The metrics function's configuration: its environment variables, validated at cold start.

A pydantic model, as the function imports pydantic anyway; loaded through the layer's
`get_settings` (read once per execution environment) with the layer's `ConfigError`, which names
every variable that is missing or malformed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from salesmetrics.config import MAX_UPLOAD_URL_TTL_SECONDS, ConfigError, get_settings, normalise_prefix, present
from salesmetrics.metrics import MAX_RANGE_DAYS

Prefix = Annotated[str, BeforeValidator(lambda value: normalise_prefix(value) if isinstance(value, str) else value)]


class MetricsSettings(BaseModel):
    """Each field is read from the environment variable of its alias; unset or blank means the default."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    table_name: str = Field(validation_alias="TABLE_NAME")
    bucket_name: str = Field(validation_alias="BUCKET_NAME", description="Where uploads go.")
    # The function DELETE /imports/{import_id} invokes (asynchronously) to run a retraction.
    retract_function_name: str = Field(validation_alias="RETRACT_FUNCTION_NAME")
    uploads_prefix: Prefix = Field("uploads/", validation_alias="UPLOADS_PREFIX")
    currency: str = Field("SGD", validation_alias="CURRENCY", pattern=r"^[A-Z]{3}$")
    upload_url_ttl_seconds: int = Field(
        MAX_UPLOAD_URL_TTL_SECONDS, ge=1, le=MAX_UPLOAD_URL_TTL_SECONDS, validation_alias="UPLOAD_URL_TTL_SECONDS"
    )
    max_range_days: int = Field(MAX_RANGE_DAYS, ge=1, validation_alias="MAX_RANGE_DAYS")
    # Powertools' own variable: it still prints a ColdStart metric when disabled unless told not to.
    metrics_disabled: bool = Field(False, validation_alias="POWERTOOLS_METRICS_DISABLED")

    @property
    def metrics_enabled(self) -> bool:
        return not self.metrics_disabled

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Self:
        try:
            return cls.model_validate(present(environ))
        except ValidationError as exc:
            raise ConfigError("metrics", [_problem(error) for error in exc.errors()]) from None


def _problem(error: Any) -> str:
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"{name} is not set"
    return f"{name}: {error['msg']}, not {str(error.get('input'))[:40]!r}"


def settings() -> MetricsSettings:
    """This execution environment's settings (read on first use: at import of the routers)."""
    return get_settings(MetricsSettings)
