"""GET /imports (newest first, paginated) and GET /imports/{import_id}."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
import re
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from salesmetrics.errors import InvalidCursor

from ..errors import BadParameter, UnknownImport, error_responses
from ..models import ErrorLocation, ImportResponse, ImportsPage, documented
from ..storage import get_storage
from ..telemetry import count, tracer

router = Router()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

# Import ids are ours (`imp_` + hex); anything far from that shape is unknown without asking
# DynamoDB (and a very long one would be a DynamoDB key-size error, i.e. a 5xx).
_IMPORT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def known_import_id(import_id: str) -> bool:
    """Whether `import_id` can be one of ours, so that storage is asked at all."""
    return _IMPORT_ID.fullmatch(import_id) is not None


@router.get(
    "/imports",
    summary="Import records, newest first",
    responses={**documented(ImportsPage, "One page of import records."), **error_responses(400)},
)
@tracer.capture_method
def list_imports(
    limit: Annotated[int, Query(ge=1, le=100, description="Records per page (1..100).")] = 20,
    next_token: Annotated[
        str | None, Query(max_length=2048, description="Opaque token from the previous page.")
    ] = None,
) -> ImportsPage:
    count("ImportsListRequests")
    try:
        records, token = get_storage().list_imports(limit, next_token or None)
    except InvalidCursor as exc:  # storage's verdict on a token it did not issue
        raise BadParameter("next_token", ErrorLocation.QUERY, "next_token is not a valid pagination token") from exc
    return ImportsPage(imports=[ImportResponse.of(r) for r in records], next_token=token)


@router.get(
    "/imports/<import_id>",
    summary="One import record",
    responses={**documented(ImportResponse, "The import record."), **error_responses(400, 404)},
)
@tracer.capture_method
def get_import(
    import_id: Annotated[str, Path(description="The import id, as listed by GET /imports.")],
) -> ImportResponse:
    count("ImportRequests")
    record = get_storage().get_import(import_id) if known_import_id(import_id) else None
    if record is None:
        raise UnknownImport(import_id)
    return ImportResponse.of(record)
