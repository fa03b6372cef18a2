"""GET /imports/{import_id}/rejects: a short-lived link to an import's rejects file."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from ..errors import UnknownImport, error_responses, not_found
from ..storage import get_storage
from ..telemetry import count, tracer
from .imports import known_import_id

router = Router()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

# The link carries this function's authority for as long as it lives: five minutes is enough to
# follow a redirect (or paste the link), and short enough not to matter once shared.
REJECTS_URL_TTL_SECONDS = 300


@router.get(
    "/imports/<import_id>/rejects",
    summary="Download an import's rejected rows (a redirect)",
    responses={
        302: {
            "description": "Found: `Location` is a presigned S3 GET URL of the rejects CSV (line "
            "number, Sale ID, reason and the row's cells, formula cells made "
            "inert), valid for 5 minutes.",
            "headers": {
                "Location": {"description": "The presigned URL.", "schema": {"type": "string", "format": "uri"}}
            },
        },
        **error_responses(400, 404),
    },
)
@tracer.capture_method
def get_rejects(
    import_id: Annotated[str, Path(description="The import id, as listed by GET /imports.")],
) -> Response[str]:
    count("RejectsRequests")
    storage = get_storage()
    record = storage.get_import(import_id) if known_import_id(import_id) else None
    if record is None:
        raise UnknownImport(import_id)
    if not record.rejects_key:
        return not_found(f"import '{import_id}' rejected no rows: it has no rejects file")
    url = storage.presign_download(record.bucket, record.rejects_key, REJECTS_URL_TTL_SECONDS)
    return Response(status_code=302, body="", headers={"Location": url, "Cache-Control": "no-store"})
