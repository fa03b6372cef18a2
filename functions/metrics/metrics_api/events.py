"""What an API Gateway event needs before the resolver reads it, and what in it the resolver
cannot be trusted to refuse cleanly."""

from __future__ import annotations

import base64
import binascii
from typing import Any


def normalise(event: dict[str, Any]) -> dict[str, Any]:
    # Powertools reads requestContext.stage unguarded (KeyError on hand-made or test events).
    context = event.get("requestContext") or {}
    if "stage" in context:
        return event
    return {**event, "requestContext": {**context, "stage": "$default"}}


def is_multipart(event: dict[str, Any]) -> bool:
    """Powertools raises a bare ValueError (a 5xx) on a bad multipart body; no route takes one."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return str(headers.get("content-type", "")).strip().lower().startswith("multipart/")


def body_decoding_problem(event: dict[str, Any]) -> str | None:
    """Why the body cannot be read as UTF-8 JSON text, or None when it can (or there is none)."""
    body = event.get("body")
    if not body:
        return None
    raw = str(body).encode("utf-8", "surrogatepass")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error:
            return "is not valid base64 (isBase64Encoded is true)"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        if raw[:2] == b"\x1f\x8b":
            return "is gzip-compressed: send the JSON uncompressed, encoded as UTF-8"
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return "is UTF-16: send the JSON encoded as UTF-8"
        return "is not UTF-8 text: send the JSON encoded as UTF-8"
    return None
