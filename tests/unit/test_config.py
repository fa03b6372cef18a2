"""Each function's settings: read from the environment once, every bad variable named."""

from __future__ import annotations

import pytest

from salesmetrics.config import (
    ConfigError,
    HealthSettings,
    IngestSettings,
    ReconcileSettings,
    RedriveSettings,
    get_settings,
)


def test_ingest_defaults_and_prefixes_as_keys_are_compared() -> None:
    settings = IngestSettings.from_environ({"TABLE_NAME": " sales ", "UPLOADS_PREFIX": "/in", "REJECTS_PREFIX": ""})
    assert settings == IngestSettings(
        table_name="sales",
        uploads_prefix="in/",
        rejects_prefix="rejects/",
        idempotency_ttl_seconds=7 * 24 * 3600,
        ingest_max_attempts=3,
    )


@pytest.mark.parametrize("environ", [{}, {"TABLE_NAME": ""}, {"TABLE_NAME": "   "}])
def test_a_missing_table_name_is_named(environ: dict[str, str]) -> None:
    for kind in (IngestSettings, ReconcileSettings, HealthSettings):
        with pytest.raises(ConfigError, match="TABLE_NAME is not set"):
            kind.from_environ(environ)


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        IngestSettings.from_environ({"INGEST_MAX_ATTEMPTS": "0", "IDEMPOTENCY_TTL_SECONDS": "a week"})
    assert raised.value.problems == [
        "TABLE_NAME is not set",
        "IDEMPOTENCY_TTL_SECONDS must be a whole number, not 'a week'",
        "INGEST_MAX_ATTEMPTS must be at least 1, not 0",
    ]
    assert str(raised.value).startswith("ingest function configuration: TABLE_NAME is not set; ")


def test_redrive_needs_its_queue() -> None:
    with pytest.raises(ConfigError, match="DLQ_URL is not set"):
        RedriveSettings.from_environ({"TABLE_NAME": "sales"})
    assert RedriveSettings.from_environ({"DLQ_URL": "https://sqs/q"}).dlq_url == "https://sqs/q"


def test_health_reports_an_unconfigured_bucket_rather_than_failing_to_start() -> None:
    settings = HealthSettings.from_environ({"TABLE_NAME": "sales"})
    assert (settings.bucket_name, settings.health_timeout_seconds) == ("", 2.0)
    quick = HealthSettings.from_environ({"TABLE_NAME": "t", "HEALTH_TIMEOUT_SECONDS": "0.5"})
    assert quick.health_timeout_seconds == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
def test_a_health_timeout_must_be_positive_seconds(value: str) -> None:
    with pytest.raises(ConfigError, match="HEALTH_TIMEOUT_SECONDS must be a positive number of seconds"):
        HealthSettings.from_environ({"TABLE_NAME": "t", "HEALTH_TIMEOUT_SECONDS": value})


def test_settings_are_read_once_until_the_cache_is_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "first")
    get_settings.cache_clear()
    try:
        assert get_settings(ReconcileSettings).table_name == "first"
        monkeypatch.setenv("TABLE_NAME", "second")
        assert get_settings(ReconcileSettings) is get_settings(ReconcileSettings)
        assert get_settings(ReconcileSettings).table_name == "first"
        get_settings.cache_clear()
        assert get_settings(ReconcileSettings).table_name == "second"
    finally:
        get_settings.cache_clear()
