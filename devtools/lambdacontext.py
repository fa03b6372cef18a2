"""The one stand-in for the `context` object the Python Lambda runtime passes to a handler.

Everything that runs a handler outside Lambda uses it: the local AWS (`devtools.localaws`), the
gateway, the worker processes (`devtools/lambdaworker.py`), `make build`'s import check, the tests
and the benchmarks. It has the attributes handlers and Powertools read (the idempotency utility
needs `get_remaining_time_in_millis`, docs/library-notes.md) and a deadline from the function's
timeout.

Standard library only: the worker and the build check load this file by path into interpreters
that must see nothing but a function's code and layers.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LambdaContext:
    """What the Python Lambda runtime passes as `context` (the attributes handlers use).

    `invoked_function_arn` defaults to the function's ARN in the local account and region.
    """

    function_name: str
    memory_limit_in_mb: int = 128
    timeout_seconds: float = 3.0
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + float(self.timeout_seconds)
        if not self.invoked_function_arn:
            self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        if not self.log_stream_name:
            self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
