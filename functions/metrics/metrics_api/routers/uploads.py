"""POST /uploads: a presigned URL to PUT a sales export to the uploads prefix."""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime.
import re
import uuid
from datetime import UTC, datetime

from aws_lambda_powertools.event_handler.api_gateway import Router

from salesmetrics.filenames import export_suffix

from ..errors import error_responses
from ..models import UPLOAD_CONTENT_TYPE, UploadRequest, UploadResponse, documented
from ..settings import settings
from ..storage import get_storage
from ..telemetry import count, tracer

router = Router()  # type: ignore[no-untyped-call]  # its __init__ is unannotated

_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_STEM_LENGTH = 100


@router.post(
    "/uploads",
    summary="A presigned URL to upload a sales export",
    status_code=201,
    responses={**documented(UploadResponse, "Presigned upload URL created.", 201), **error_responses(400)},
)
@tracer.capture_method
def create_upload(body: UploadRequest) -> UploadResponse:
    count("UploadUrlRequests")
    config = settings()
    key = upload_key(config.uploads_prefix, body.filename, datetime.now(UTC), uuid.uuid4().hex)
    url = get_storage().presign_upload(config.bucket_name, key, UPLOAD_CONTENT_TYPE, config.upload_url_ttl_seconds)
    return UploadResponse(
        upload_url=url,
        key=key,
        expires_in=config.upload_url_ttl_seconds,
        content_type=UPLOAD_CONTENT_TYPE,
        method="PUT",
    )


def upload_key(prefix: str, filename: str, now: datetime, unique: str) -> str:
    """`<prefix>YYYY/MM/DD/<unique>-<readable name><.csv or .csv.gz>`.

    The name keeps only [A-Za-z0-9._-] (no path tricks, nothing to escape in URLs or logs). The
    suffix is written lower-case (`SALES.CSV` -> `.csv`) so keys look alike; ingest takes any case.
    """
    base = re.split(r"[\\/]", filename)[-1]
    suffix = export_suffix(base)
    stem = base[: -len(suffix)] if suffix else base
    stem = _UNSAFE_FILENAME_CHARS.sub("_", stem).strip("._-")[:MAX_STEM_LENGTH].strip("._-")
    return f"{prefix}{now:%Y/%m/%d}/{unique}-{stem or 'upload'}{suffix or '.csv'}"
