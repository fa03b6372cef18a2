"""Every 400 and 404 the API answers, made in one place from the exception that explains it.

Routes raise (their own `BadParameter` and `UnknownImport`, the domain's `RangeError`, Powertools'
validation errors); `register` maps each to its status and an `ErrorResponse` body that names
the parameter at fault. Nothing here answers 5xx: what is not mapped is a real failure.
"""

from __future__ import annotations

import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from salesmetrics.metrics import RangeError

from .events import body_decoding_problem
from .models import ErrorDetail, ErrorLocation, ErrorResponse
from .telemetry import count

UNSUPPORTED_CONTENT_TYPE = "header 'content-type': the request body must be JSON (application/json)"
_DESCRIPTIONS = {
    400: "Bad input; `message` names the bad parameter.",
    404: "Not found.",
    409: "The import is still being ingested; retract it when it has finished.",
}
# Clearer words than pydantic's where its own would quote a regex at the user.
_FRIENDLY = {("filename", "string_pattern_mismatch"): "must end with .csv or .csv.gz"}


class BadParameter(Exception):
    """A parameter its route found wrong beyond what the declared type checks."""

    def __init__(self, parameter: str, location: ErrorLocation, message: str) -> None:
        super().__init__(message)
        self.parameter, self.location, self.message = parameter, location, message


class UnknownImport(Exception):
    def __init__(self, import_id: str) -> None:
        super().__init__(import_id)
        self.message = f"no import with import_id '{clip(import_id)}'"


class ImportStillRunning(Exception):
    def __init__(self, import_id: str) -> None:
        super().__init__(import_id)
        self.message = f"import '{clip(import_id)}' is still being ingested; retract it when it has finished"


def error_responses(*codes: int) -> dict[int, Any]:
    """A route's `responses` entries for the errors it can answer (the OpenAPI document)."""
    return {
        code: {"description": _DESCRIPTIONS[code], "content": {"application/json": {"model": ErrorResponse}}}
        for code in codes
    }


def bad_request(*details: ErrorDetail, message: str | None = None) -> Response[str]:
    """400 listing every problem; the message is the first one's unless given."""
    count("BadRequests")
    return _answer(400, ErrorResponse(message=message or details[0].message, errors=list(details)))


def not_found(message: str) -> Response[str]:
    return _answer(404, ErrorResponse(message=message))


def unsupported_content_type() -> Response[str]:
    return bad_request(
        ErrorDetail(
            parameter="content-type",
            location=ErrorLocation.HEADER,
            type="unsupported_content_type",
            message=UNSUPPORTED_CONTENT_TYPE,
        )
    )


def lambda_result(response: Response[str]) -> dict[str, Any]:
    """An answer given before the resolver runs, in the shape the resolver returns."""
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": response.body,
        "isBase64Encoded": False,
    }


def register(app: APIGatewayHttpResolver) -> None:
    """Map every exception that is the caller's fault to its answer."""

    def bad_parameter(exc: BadParameter) -> Response[str]:
        return bad_request(
            ErrorDetail(parameter=exc.parameter, location=exc.location, type="invalid", message=exc.message)
        )

    def bad_range(exc: RangeError) -> Response[str]:
        return bad_request(
            ErrorDetail(parameter=exc.parameter, location=ErrorLocation.QUERY, type="range", message=exc.message)
        )

    def invalid_request(exc: RequestValidationError) -> Response[str]:
        # Powertools answers 422 {"detail"}; the API promises 400 with a message naming the parameter.
        details = [_detail(e) for e in exc.errors()] or [
            ErrorDetail(parameter="body", location=ErrorLocation.BODY, type="invalid", message="is invalid")
        ]
        return bad_request(*details, message=_summary(details[0]))

    def undecodable_body(exc: UnicodeDecodeError | binascii.Error) -> Response[str]:
        # Powertools decodes the body (base64, then UTF-8) while validating it and lets the error
        # escape as a 5xx. Only a body that really fails that decoding is the caller's fault.
        reason = body_decoding_problem(app.current_event.raw_event)
        if reason is None:
            raise exc
        return bad_request(
            ErrorDetail(parameter="body", location=ErrorLocation.BODY, type="encoding", message=reason),
            message=f"request body {reason}",
        )

    def unknown_route(_exc: NotFoundError) -> Response[str]:
        count("UnknownRouteRequests")
        event = app.current_event
        return not_found(f"no route {event.http_method} {clip(event.path)}")

    # Registered by call, not as decorators: Powertools' decorators are untyped (mypy strict).
    app.exception_handler(BadParameter)(bad_parameter)
    app.exception_handler(UnknownImport)(lambda exc: not_found(exc.message))
    app.exception_handler(ImportStillRunning)(lambda exc: _answer(409, ErrorResponse(message=exc.message)))
    app.exception_handler(RangeError)(bad_range)
    app.exception_handler(RequestValidationError)(invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(lambda _exc: unsupported_content_type())
    app.exception_handler([UnicodeDecodeError, binascii.Error])(undecodable_body)
    app.not_found(unknown_route)


def clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _summary(first: ErrorDetail) -> str:
    if first.parameter == first.location == ErrorLocation.BODY:
        return f"request body {first.message}"
    if first.location is ErrorLocation.BODY:
        return f"body field '{first.parameter}' {first.message}"
    return f"{first.location} parameter '{first.parameter}' {first.message}"


def _detail(error: Any) -> ErrorDetail:
    loc = [str(part) for part in error.get("loc", ())]
    location = ErrorLocation(loc[0]) if loc else ErrorLocation.BODY
    # ("query", "start") -> start; ("body", "filename") -> filename; ("body",) -> body; ("body", 17) -> body
    names = [p for p in loc[1:] if not p.isdigit()]
    parameter = ".".join(names) if names else str(location)
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
    return ErrorDetail(parameter=parameter, location=location, type=kind, message=message)


def _answer(status: int, body: ErrorResponse) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps(body.model_dump(mode="json", exclude_none=True)),
    )
