"""GET /imports (newest first, paginated), GET /imports/{import_id}, what an import changed
(GET /imports/{import_id}/changes) and its retraction (DELETE /imports/{import_id})."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
import re
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from salesmetrics.changes import changes_page
from salesmetrics.errors import InvalidCursor
from salesmetrics.imports import ImportStatus
from salesmetrics.metrics import money_text
from salesmetrics.retraction_start import ImportBusy, begin_retraction

from .. import retractions
from ..answers import json_answer
from ..errors import BadParameter, ImportStillRunning, UnknownImport, error_responses
from ..models import ChangesPage, ErrorLocation, ImportResponse, ImportsPage, SaleChangeResponse, documented
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


@router.get(
    "/imports/<import_id>/changes",
    summary="What an import changed: the sales it created or updated",
    responses={**documented(ChangesPage, "One page of the import's changes."), **error_responses(400, 404)},
)
@tracer.capture_method
def list_changes(
    import_id: Annotated[str, Path(description="The import id, as listed by GET /imports.")],
    limit: Annotated[int, Query(ge=1, le=1000, description="Changes per page (1..1000).")] = 100,
    next_token: Annotated[
        str | None, Query(max_length=2048, description="Opaque token from the previous page.")
    ] = None,
) -> ChangesPage:
    count("ChangesRequests")
    storage = get_storage()
    record = storage.get_import(import_id) if known_import_id(import_id) else None
    if record is None:
        raise UnknownImport(import_id)
    try:
        entries, token = changes_page(storage, record.bucket, import_id, limit, next_token or None)
    except InvalidCursor as exc:
        raise BadParameter("next_token", ErrorLocation.QUERY, "next_token is not a valid pagination token") from exc
    changes = [
        SaleChangeResponse.model_validate(
            {
                "sale_id": e.sale_id,
                "change": e.change.value,
                "sale_date": e.sale_date,
                "previous_sale_date": e.previous_sale_date,
                "total_sgd": money_text(e.total),
                "previous_total_sgd": None if e.previous_total is None else money_text(e.previous_total),
            }
        )
        for e in entries
    ]
    return ChangesPage(import_id=import_id, changes=changes, next_token=token)


@router.delete(
    "/imports/<import_id>",
    summary="Retract an import: every figure as if it had never been uploaded",
    responses={
        200: {
            "description": "Retracted already (RETRACTED): the record. Retracting twice is retracting once.",
            "content": {"application/json": {"model": ImportResponse}},
        },
        202: {
            "description": "The retraction runs (RETRACTING); GET /imports/{import_id} shows RETRACTED when done.",
            "content": {"application/json": {"model": ImportResponse}},
        },
        **error_responses(400, 404, 409),
    },
)
@tracer.capture_method
def retract_import(
    import_id: Annotated[str, Path(description="The import id, as listed by GET /imports.")],
) -> Response[str]:
    count("RetractRequests")
    if not known_import_id(import_id):
        raise UnknownImport(import_id)
    try:
        record = begin_retraction(get_storage(), import_id)
    except ImportBusy as exc:
        raise ImportStillRunning(import_id) from exc
    if record is None:
        raise UnknownImport(import_id)
    if record.status == ImportStatus.RETRACTED:
        return json_answer(ImportResponse.of(record))
    # Started on every DELETE of a RETRACTING import too: a retraction that died is resumed, and
    # two running at once write only what storage still needs (every write is conditional).
    retractions.start(import_id)
    response = json_answer(ImportResponse.of(record))
    response.status_code = 202
    return response
