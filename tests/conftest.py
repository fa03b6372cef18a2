"""Suite-wide safety and moto fixes: nothing here may reach real AWS or the internet."""

from __future__ import annotations

import os

# The Lambda layer ships botocore without awscrt, so it signs requests in Python; this venv has
# awscrt (a dependency of the SAM CLI), which botocore would use instead. Read when botocore is
# first imported: before anything below imports it. `make` sets it too (LOCAL_ENV).
os.environ.setdefault("BOTO_DISABLE_CRT", "true")

from collections.abc import Iterator
from typing import Any

import pytest

from devtools import sourceroots
from tests.moto_resources import moto_aws

# Handler modules are imported directly, as Lambda does from each function's directory.
sourceroots.add_to_sys_path()
# Set before any boto3 client exists: fake credentials, and a dead proxy so that anything that
# escapes moto fails at once instead of leaving the machine (docs/library-notes.md).
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "POWERTOOLS_METRICS_NAMESPACE": "SalesMetricsTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto in-process with the template's table and a versioned bucket (tests/moto_resources.py):
    {"s3", "ddb", "table" (its name), "bucket", "storage" (an AwsStorage on it)}."""
    with moto_aws() as resources:
        yield resources


def pytest_configure() -> None:
    from devtools import motopatch

    motopatch.apply()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (property-based ones, then those marked slow), otherwise in file
    order: with `make test`'s two xdist workers they then start at once, and the many short tests
    fill in around them, instead of one long test starting late and running alone at the end."""

    def rank(item: pytest.Item) -> int:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            return 0
        return 1 if item.get_closest_marker("slow") is not None else 2

    items.sort(key=rank)  # stable: file order within each rank
