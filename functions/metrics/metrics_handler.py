"""The metrics API: revenue figures, daily series, import records, upload URLs, OpenAPI + Swagger UI.

Thin by design: each route parses its input (Powertools validates against the pydantic types
below, which also *are* the OpenAPI document), calls the domain (`salesmetrics.metrics`) or
storage, and shapes the answer. Routes are in SPEC "The API"; user-visible choices in docs/api.md.
"""

# No `from __future__ import annotations`: Powertools reads the route signatures at runtime to
# build validation and the OpenAPI document, and string annotations behind the tracer's wrapper
# cannot be resolved.
import base64
import binascii
import json
import re
import time
import uuid
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from salesmetrics.config import get_settings
from salesmetrics.correlation import CORRELATION_HEADER, caller_correlation_id
from salesmetrics.imports import ImportRecord, ImportStatus
from salesmetrics.metrics import RangeError, daily_series, money_text, revenue_summary, validate_range

# Imported here, not on first use: boto3's ~250 ms then falls in Lambda's INIT phase. No client is
# made until the first call (so moto's mock, started later in tests, still sees every one).
from salesmetrics.storage.dynamodb import DynamoStorage

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from salesmetrics.storage.base import Storage

API_VERSION = "1.0.0"
# What we accept as a caller's correlation id: short and plain, so it cannot forge log lines or
# inject response headers. Anything else is ignored and the API Gateway request id is used.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Import ids are ours (`imp_` + hex); anything far from that shape is unknown without asking
# DynamoDB (and a very long one would be a DynamoDB key-size error, i.e. a 5xx).
_IMPORT_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME_LENGTH = 200
MAX_STEM_LENGTH = 100
UPLOAD_CONTENT_TYPE = "text/csv"
MONEY_DESCRIPTION = (
    "Money in the reporting currency, rounded half-up to cents, as a string with exactly two "
    "decimals (e.g. \"34.88\", \"-12.00\"). A string, not a JSON number, because most JSON parsers "
    "read numbers as binary floats, which cannot hold most cent amounts exactly."
)



class _Resolver(APIGatewayHttpResolver):
    def get_openapi_schema(self, **kwargs: Any) -> "OpenAPI":
        return _openapi(super().get_openapi_schema(**kwargs))


logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = _Resolver(enable_validation=True)

_storage: "Storage | None" = None


def get_storage() -> "Storage":
    """The storage of this execution environment, made on first use (after moto's mock in tests)."""
    global _storage  # noqa: PLW0603 - one per Lambda execution environment, on purpose
    if _storage is None:
        settings = get_settings()
        _storage = DynamoStorage(settings.table_name, health_timeout=settings.health_timeout_seconds)
    return _storage


# -- types: these are the OpenAPI document ---------------------------------------------------------


def _strict_iso_date(value: Any) -> Any:
    # pydantic alone also takes unix timestamps ("0" is 1970-01-01) and datetimes for a date;
    # the API promises YYYY-MM-DD and nothing else.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_strict_iso_date)]
Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", description=MONEY_DESCRIPTION,
                             examples=["34.88"])]
StartParam = Annotated[IsoDate, Query(description="First day of the range, YYYY-MM-DD (inclusive).")]
EndParam = Annotated[IsoDate, Query(description="Last day of the range, YYYY-MM-DD (inclusive); "
                                               "the range holds at most 3660 days.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Model):
    parameter: str = Field(description="The query parameter, path parameter or body field at fault.")
    location: str = Field(description="Where it was: query, path, body or header.")
    type: str = Field(description="A machine-readable error type (pydantic's names).")
    message: str


class ErrorResponse(_Model):
    message: str = Field(description="What was wrong; names the bad parameter for a 400.")
    errors: list[ErrorDetail] | None = Field(default=None, description="Every problem found, for 400s.")


class RevenueResponse(_Model):
    start: date
    end: date
    currency: str = Field(examples=["SGD"])
    total_revenue_sgd: Money = Field(description="Sum of the totals of every sale in the range "
                                                 "(item totals after discount, including tax; refunds "
                                                 "included, so they reduce it). " + MONEY_DESCRIPTION)
    net_revenue_sgd: Money = Field(description="Total revenue minus tax. " + MONEY_DESCRIPTION)
    tax_sgd: Money = Field(description="Sum of the Tax column. " + MONEY_DESCRIPTION)
    discounts_sgd: Money = Field(description="Sum of the Discount amount column. " + MONEY_DESCRIPTION)
    order_count: int = Field(ge=0, description="Sales whose total is > 0.")
    average_order_value_sgd: Money = Field(
        description="Sum of order totals / order_count, 0.00 without orders. " + MONEY_DESCRIPTION)
    refund_count: int = Field(ge=0, description="Sales whose total is < 0. Zero-total sales are neither "
                                                "orders nor refunds.")
    refunds_sgd: Money = Field(description="Sum of the totals of refund sales: zero or NEGATIVE (a refund "
                                           "of 50.00 shows as \"-50.00\"). " + MONEY_DESCRIPTION)


class DayRevenueResponse(_Model):
    date: date
    revenue_sgd: Money
    order_count: int = Field(ge=0)
    average_order_value_sgd: Money


class DailyRevenueResponse(_Model):
    start: date
    end: date
    currency: str = Field(examples=["SGD"])
    days: list[DayRevenueResponse] = Field(description="Every day of the range in date order; zeros "
                                                       "for days without sales.")


class ImportResponse(_Model):
    import_id: str
    bucket: str
    key: str
    status: ImportStatus = Field(description="IN_PROGRESS, SUCCEEDED, PARTIAL (some rows rejected) or "
                                             "FAILED (the file as a whole is unusable).")
    rows_total: int = Field(ge=0)
    rows_ingested: int = Field(ge=0)
    rows_rejected: int = Field(ge=0)
    sales_created: int = Field(ge=0)
    sales_updated: int = Field(ge=0)
    sales_unchanged: int = Field(ge=0)
    started_at: str = Field(description="ISO 8601 UTC timestamp.")
    finished_at: str | None = Field(description="ISO 8601 UTC timestamp; null while in progress.")
    message: str
    rejects_key: str | None = Field(description="S3 key of the CSV of rejected rows (line number and "
                                                "reason), in the same bucket; null when none.")


class ImportsPage(_Model):
    imports: list[ImportResponse] = Field(description="Newest first.")
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the "
                                               "last page.")


class UploadRequest(_Model):
    filename: str = Field(min_length=1, max_length=MAX_FILENAME_LENGTH, pattern=r"\.[cC][sS][vV]$",
                          description="Name of the CSV file being uploaded; must end with .csv "
                                      "(any case). Only used to make the key readable.",
                          examples=["sales-2025-03.csv"])


class UploadResponse(_Model):
    upload_url: str = Field(description="Presigned S3 URL: PUT the file's bytes to it with header "
                                        "`Content-Type: text/csv`.")
    key: str = Field(description="The S3 key the file will have (under the uploads prefix).")
    expires_in: int = Field(ge=1, le=900, description="Seconds until upload_url expires.")
    content_type: str = Field(description="The Content-Type the PUT must send (it is signed).",
                              examples=[UPLOAD_CONTENT_TYPE])
    method: str = Field(description="The HTTP method to use with upload_url.", examples=["PUT"])


class HealthResponse(_Model):
    status: str = Field(description="ok, or unavailable when a check failed.")
    checks: dict[str, str] = Field(description="Each check: ok, or error: <short reason>.")


def _error_responses(*codes: int) -> dict[int, Any]:
    descriptions = {400: "Bad input; `message` names the bad parameter.", 404: "Not found."}
    return {code: {"description": descriptions[code],
                   "content": {"application/json": {"model": ErrorResponse}}} for code in codes}


def _ok(model: type[BaseModel], description: str, code: int = 200) -> dict[int, Any]:
    return {code: {"description": description, "content": {"application/json": {"model": model}}}}


# -- routes ----------------------------------------------------------------------------------------


@app.get("/metrics/revenue", summary="Revenue summary over a date range",
         responses={**_ok(RevenueResponse, "Revenue figures of the range."), **_error_responses(400)})
@tracer.capture_method
def get_revenue(start: StartParam, end: EndParam) -> RevenueResponse:
    _count("RevenueRequests")
    validate_range(start, end, get_settings().max_range_days)
    summary = revenue_summary(get_storage().day_totals(start, end), start, end)
    return RevenueResponse(
        start=start, end=end, currency=get_settings().currency,
        total_revenue_sgd=money_text(summary.total_revenue),
        net_revenue_sgd=money_text(summary.net_revenue),
        tax_sgd=money_text(summary.tax),
        discounts_sgd=money_text(summary.discounts),
        order_count=summary.order_count,
        average_order_value_sgd=money_text(summary.average_order_value),
        refund_count=summary.refund_count,
        refunds_sgd=money_text(summary.refunds),
    )


@app.get("/metrics/revenue/daily", summary="Revenue per day over a date range",
         responses={**_ok(DailyRevenueResponse, "One entry per day of the range."), **_error_responses(400)})
@tracer.capture_method
def get_revenue_daily(start: StartParam, end: EndParam) -> DailyRevenueResponse:
    _count("DailyRevenueRequests")
    validate_range(start, end, get_settings().max_range_days)
    series = daily_series(get_storage().day_totals(start, end), start, end)
    return DailyRevenueResponse(
        start=start, end=end, currency=get_settings().currency,
        days=[DayRevenueResponse(date=d.day, revenue_sgd=money_text(d.revenue), order_count=d.order_count,
                                 average_order_value_sgd=money_text(d.average_order_value))
              for d in series],
    )


@app.get("/imports", summary="Import records, newest first",
         responses={**_ok(ImportsPage, "One page of import records."), **_error_responses(400)})
@tracer.capture_method
def list_imports(
    limit: Annotated[int, Query(ge=1, le=100, description="Records per page (1..100).")] = 20,
    next_token: Annotated[str | None, Query(max_length=2048, description="Opaque token from the "
                                                                          "previous page.")] = None,
) -> ImportsPage:
    _count("ImportsListRequests")
    try:
        records, token = get_storage().list_imports(limit, next_token or None)
    except ValueError as exc:  # storage's verdict on a token it did not issue
        raise _BadParameter("next_token", "query", "next_token is not a valid pagination token") from exc
    except Exception as exc:
        # A token can decode yet name a key DynamoDB refuses (ValidationException): still bad input.
        if next_token and _is_validation_error(exc):
            raise _BadParameter("next_token", "query", "next_token is not a valid pagination token") from exc
        raise
    return ImportsPage(imports=[_import_response(r) for r in records], next_token=token)


@app.get("/imports/<import_id>", summary="One import record",
         responses={**_ok(ImportResponse, "The import record."), **_error_responses(400, 404)})
@tracer.capture_method
def get_import(import_id: Annotated[str, Path(description="The import id, as listed by GET /imports.")]
               ) -> ImportResponse:
    _count("ImportRequests")
    record = get_storage().get_import(import_id) if _IMPORT_ID.fullmatch(import_id) else None
    if record is None:
        raise _UnknownImport(import_id)
    return _import_response(record)


@app.post("/uploads", summary="A presigned URL to upload a sales export", status_code=201,
          responses={**_ok(UploadResponse, "Presigned upload URL created.", 201), **_error_responses(400)})
@tracer.capture_method
def create_upload(body: UploadRequest) -> UploadResponse:
    _count("UploadUrlRequests")
    settings = get_settings()
    key = upload_key(settings.uploads_prefix, body.filename, datetime.now(UTC), uuid.uuid4().hex)
    url = get_storage().presign_upload(settings.bucket_name, key, UPLOAD_CONTENT_TYPE,
                                       settings.upload_url_ttl_seconds)
    return UploadResponse(upload_url=url, key=key, expires_in=settings.upload_url_ttl_seconds,
                          content_type=UPLOAD_CONTENT_TYPE, method="PUT")


def upload_key(prefix: str, filename: str, now: datetime, unique: str) -> str:
    """`<prefix>YYYY/MM/DD/<unique>-<readable name>.csv`.

    The name keeps only [A-Za-z0-9._-] (no path tricks, nothing to escape in URLs or logs). The
    suffix is always lower-case `.csv`: the bucket notification filters on it, case-sensitively,
    so `SALES.CSV` would otherwise never be ingested.
    """
    base = re.split(r"[\\/]", filename)[-1]
    stem = base[:-4] if base.lower().endswith(".csv") else base
    stem = _UNSAFE_FILENAME_CHARS.sub("_", stem).strip("._-")[:MAX_STEM_LENGTH].strip("._-")
    return f"{prefix}{now:%Y/%m/%d}/{unique}-{stem or 'upload'}.csv"


# -- errors ----------------------------------------------------------------------------------------


class _BadParameter(Exception):
    def __init__(self, parameter: str, location: str, message: str) -> None:
        super().__init__(message)
        self.parameter, self.location, self.message = parameter, location, message


class _UnknownImport(Exception):
    def __init__(self, import_id: str) -> None:
        super().__init__(import_id)
        self.message = f"no import with import_id '{_clip(import_id)}'"


def _unknown_import(exc: _UnknownImport) -> Response[str]:
    return _json(404, {"message": exc.message})


def _bad_parameter(exc: _BadParameter) -> Response[str]:
    _count("BadRequests")
    detail = {"parameter": exc.parameter, "location": exc.location, "type": "invalid", "message": exc.message}
    return _json(400, {"message": exc.message, "errors": [detail]})


def _bad_range(exc: RangeError) -> Response[str]:
    _count("BadRequests")
    detail = {"parameter": exc.parameter, "location": "query", "type": "range", "message": exc.message}
    return _json(400, {"message": exc.message, "errors": [detail]})


def _invalid_request(exc: RequestValidationError) -> Response[str]:
    # Powertools answers 422 {"detail"}; the API promises 400 with a message naming the parameter.
    _count("BadRequests")
    details = [_error_detail(e) for e in exc.errors()] or [
        {"parameter": "body", "location": "body", "type": "invalid", "message": "is invalid"}]
    first = details[0]
    if first["parameter"] == first["location"] == "body":
        message = f"request body {first['message']}"
    elif first["location"] == "body":
        message = f"body field '{first['parameter']}' {first['message']}"
    else:
        message = f"{first['location']} parameter '{first['parameter']}' {first['message']}"
    return _json(400, {"message": message, "errors": details})


def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
    _count("BadRequests")
    message = "header 'content-type': the request body must be JSON (application/json)"
    detail = {"parameter": "content-type", "location": "header", "type": "unsupported_content_type",
              "message": message}
    return _json(400, {"message": message, "errors": [detail]})


def _undecodable_body(exc: UnicodeDecodeError | binascii.Error) -> Response[str]:
    # Powertools decodes the body (base64, then UTF-8) while validating it and lets the error
    # escape as a 5xx. Only a body that really fails that decoding is the caller's fault.
    reason = _body_decoding_problem(app.current_event.raw_event)
    if reason is None:
        raise exc
    _count("BadRequests")
    detail = {"parameter": "body", "location": "body", "type": "encoding", "message": reason}
    return _json(400, {"message": f"request body {reason}", "errors": [detail]})


def _body_decoding_problem(event: dict[str, Any]) -> str | None:
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


def _unknown_route(_exc: NotFoundError) -> Response[str]:
    _count("UnknownRouteRequests")
    event = app.current_event
    return _json(404, {"message": f"no route {event.http_method} {_clip(event.path)}"})


# Registered by call, not as decorators: Powertools' decorators are untyped (mypy strict).
app.exception_handler(_BadParameter)(_bad_parameter)
app.exception_handler(_UnknownImport)(_unknown_import)
app.exception_handler(RangeError)(_bad_range)
app.exception_handler(RequestValidationError)(_invalid_request)
app.exception_handler(RequestUnsupportedContentType)(_unsupported_content_type)
app.exception_handler([UnicodeDecodeError, binascii.Error])(_undecodable_body)
app.not_found(_unknown_route)


# Clearer words than pydantic's where its own would quote a regex at the user.
_FRIENDLY = {("filename", "string_pattern_mismatch"): "must end with .csv"}


def _count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def _error_detail(error: Any) -> dict[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc else "body"
    # ("query", "start") -> start; ("body", "filename") -> filename; ("body",) -> body; ("body", 17) -> body
    names = [p for p in loc[1:] if not p.isdigit()]
    parameter = ".".join(names) if names else location
    kind = str(error.get("type", "invalid"))
    if kind == "missing":
        message = "is required" if parameter != "body" else "is required (a JSON object)"
    elif kind == "json_invalid":
        message = "is not valid JSON"
    elif (parameter, kind) in _FRIENDLY:
        message = _FRIENDLY[parameter, kind]
    else:
        # pydantic's own words ("Input should be ...", "Value error, expected ..."): no input echoed.
        message = "is invalid: " + str(error.get("msg", "")).removeprefix("Value error, ")
    return {"parameter": parameter, "location": location, "type": kind, "message": message}


def _is_validation_error(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ValidationException"


def _import_response(record: ImportRecord) -> ImportResponse:
    data = record.to_dict()
    return ImportResponse.model_validate({name: data.get(name) for name in ImportResponse.model_fields})


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps(body, default=str))


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# -- the OpenAPI document --------------------------------------------------------------------------


def _openapi(spec: "OpenAPI") -> "OpenAPI":
    """Make the generated document say exactly what the API does.

    Powertools documents a 422 on every validated route; this API maps those to 400 (above). The
    /health route belongs to another function behind the same HTTP API; it is described here so
    one document covers the whole API. All other routes but /swagger need IAM (SigV4) when deployed.
    """
    from aws_lambda_powertools.event_handler.openapi.models import PathItem, Schema  # noqa: PLC0415
    from aws_lambda_powertools.event_handler.openapi.models import Response as Response_  # noqa: PLC0415

    error_schema = {"$ref": "#/components/schemas/ErrorResponse"}
    for item in (spec.paths or {}).values():
        for operation in (item.get, item.post, item.put, item.delete, item.patch):
            if operation is not None and operation.responses:
                operation.responses.pop(422, None)
                operation.security = [{"sigv4": []}]
                # API Gateway's own answer to a missing or bad signature; the function never sees it.
                operation.responses[403] = Response_.model_validate({
                    "description": "Missing or invalid AWS SigV4 signature (answered by API Gateway).",
                    "content": {"application/json": {"schema": error_schema}},
                })
    if spec.components is not None and spec.components.schemas is not None:
        for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
            spec.components.schemas.pop(name, None)
        spec.components.schemas["HealthResponse"] = Schema.model_validate(HealthResponse.model_json_schema())
    health = {"$ref": "#/components/schemas/HealthResponse"}
    spec.paths = dict(spec.paths or {})
    spec.paths["/health"] = PathItem.model_validate({"get": {
        "summary": "Storage reachability (no authorization)",
        "operationId": "health",
        "security": [],
        "responses": {
            200: {"description": "Table and bucket reachable.",
                  "content": {"application/json": {"schema": health}}},
            503: {"description": "A check failed; `checks` says which.",
                  "content": {"application/json": {"schema": health}}},
        },
    }})
    return spec


def _count_swagger(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    _count("OpenApiRequests")
    return next_middleware(app)


SIGV4_DESCRIPTION = (
    "AWS Signature Version 4 (IAM authorization, service `execute-api`). Every request is signed "
    "with the caller's AWS credentials: the `Authorization` header (`AWS4-HMAC-SHA256 Credential=..., "
    "SignedHeaders=..., Signature=...`) is computed from that very request (method, path, query, "
    "headers, body hash) and the `X-Amz-Date` header, plus `X-Amz-Security-Token` for temporary "
    "credentials, so no fixed value can be pasted in here and Swagger UI cannot sign requests. Use a "
    "signing client: `awscurl --service execute-api <url>`, botocore's `SigV4Auth`, an AWS SDK, or "
    "Postman's \"AWS Signature\" authorization. The caller's IAM policy must allow "
    "`execute-api:Invoke` on the route. A missing or bad signature is answered 403 by API Gateway."
)


def _swagger() -> None:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase  # noqa: PLC0415

    app.enable_swagger(
        path="/swagger", compress=True, title="Sales metrics API", version=API_VERSION,
        middlewares=[_count_swagger],
        description=(
            "Revenue figures from point-of-sale sales exports. Money is a string with two decimals "
            "(half-up to cents), never a JSON number. Dates are YYYY-MM-DD, ranges inclusive, at most "
            "3660 days. Bad input answers 400 with a `message` naming the bad parameter. Every route "
            "except /health and this document (/swagger) needs AWS IAM (SigV4) authorization when "
            "deployed: see the `sigv4` security scheme for how to sign requests."
        ),
        # SigV4 is an HTTP Authorization scheme (`AWS4-HMAC-SHA256`) whose value is computed per
        # request; an apiKey scheme would make Swagger UI offer a fixed header that cannot work.
        security_schemes={"sigv4": HTTPBase.model_validate({
            "type": "http", "scheme": "AWS4-HMAC-SHA256", "description": SIGV4_DESCRIPTION})},
    )


_swagger()


# -- the Lambda entry point ------------------------------------------------------------------------


@metrics.log_metrics(capture_cold_start_metric=get_settings().metrics_enabled)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: "LambdaContext") -> dict[str, Any]:
    started = time.perf_counter()
    event = _normalise(event)
    # The resolver's middlewares run after request validation, so a 400 would never see them;
    # correlation is therefore done here, around the whole resolution.
    correlation_id = _caller_correlation_id(event)
    if correlation_id:
        logger.set_correlation_id(correlation_id)
    correlation_id = correlation_id or str(logger.get_correlation_id() or "")
    rejected = _reject_unparseable_body(event)
    result = rejected if rejected is not None else app.resolve(event, context)
    if correlation_id:
        result.setdefault("headers", {})[CORRELATION_HEADER] = correlation_id
    http = event.get("requestContext", {}).get("http", {})
    logger.info("request", extra={"method": http.get("method"), "path": event.get("rawPath"),
                                  "status": result.get("statusCode"),
                                  "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    return result


def _normalise(event: dict[str, Any]) -> dict[str, Any]:
    # Powertools reads requestContext.stage unguarded (KeyError on hand-made or test events).
    context = event.get("requestContext") or {}
    if "stage" in context:
        return event
    return {**event, "requestContext": {**context, "stage": "$default"}}


def _caller_correlation_id(event: dict[str, Any]) -> str | None:
    return caller_correlation_id(event.get("headers"))


def _reject_unparseable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """400 for a multipart body: Powertools raises a bare ValueError (a 5xx) on a bad one."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if str(headers.get("content-type", "")).strip().lower().startswith("multipart/"):
        message = "header 'content-type': the request body must be JSON (application/json)"
        _count("BadRequests")
        return {"statusCode": 400, "headers": {"Content-Type": content_types.APPLICATION_JSON},
                "body": json.dumps({"message": message, "errors": [
                    {"parameter": "content-type", "location": "header", "type": "unsupported_content_type",
                     "message": message}]}),
                "isBase64Encoded": False}
    return None
