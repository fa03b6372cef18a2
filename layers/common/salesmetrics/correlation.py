"""The caller's correlation id: an `X-Correlation-Id` request header, honoured and echoed."""

from __future__ import annotations

import re
from collections.abc import Mapping

CORRELATION_HEADER = "X-Correlation-Id"
# Anything else (spaces, newlines, very long values) would be unsafe to log or echo; such a header
# is ignored and API Gateway's request id is used instead.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:/=+@-]{1,128}")


def caller_correlation_id(headers: Mapping[str, object] | None) -> str | None:
    """The caller's id from the request headers (any case), or None when absent or unsafe."""
    for name, value in (headers or {}).items():
        if name.lower() == CORRELATION_HEADER.lower() and isinstance(value, str):
            candidate = value.strip()
            return candidate if _SAFE_ID.fullmatch(candidate) else None
    return None
