"""Suite-wide safety and moto fixes: nothing here may reach real AWS or the internet."""

from __future__ import annotations

import os

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


def pytest_configure() -> None:
    from devtools import motopatch

    motopatch.apply()
