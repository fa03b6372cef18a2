"""Errors the domain and its storage raise for a caller's bad input, whatever the backend.

Storage translates its backend's verdicts into these at its boundary, so nothing above it (the
API's routers) ever inspects a botocore exception to tell bad input from a failure.
"""

from __future__ import annotations


class InvalidCursor(ValueError):
    """A pagination cursor that storage did not issue, or one it could not continue from.

    A ValueError, as before this type existed, so callers that caught that still do.
    """
