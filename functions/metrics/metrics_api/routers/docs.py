"""GET /swagger: Swagger UI and (`?format=json`) the OpenAPI document, and what makes that
document say exactly what the deployed API does.

Not a `Router`: Powertools serves the document from the resolver itself (`enable_swagger`), so
`enable` is given the resolver, and `complete` finishes each document it generates. The resolver
enables it on the first request for `PATH` (metrics_api.app): Powertools' OpenAPI models, which
only the document needs, are ~50 ms of a cold start that most execution environments never
spend on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import HealthResponse
from ..settings import settings
from ..telemetry import count

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
    from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI

PATH = "/swagger"
API_VERSION = "1.0.0"
TITLE = "Sales metrics API"
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


def description(max_range_days: int) -> str:
    return (
        "Revenue figures from point-of-sale sales exports. Money is a string with two decimals "
        "(half-up to cents), never a JSON number. Dates are YYYY-MM-DD, ranges inclusive, at most "
        f"{max_range_days} days. Bad input answers 400 with a `message` naming the bad parameter. Every "
        "route except /health and this document (/swagger) needs AWS IAM (SigV4) authorization when "
        "deployed: see the `sigv4` security scheme for how to sign requests."
    )


def enable(app: APIGatewayHttpResolver) -> None:
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBase  # noqa: PLC0415

    app.enable_swagger(
        path=PATH,
        compress=True,
        title=TITLE,
        version=API_VERSION,
        middlewares=[_count_swagger],
        description=description(settings().max_range_days),
        # SigV4 is an HTTP Authorization scheme (`AWS4-HMAC-SHA256`) whose value is computed per
        # request; an apiKey scheme would make Swagger UI offer a fixed header that cannot work.
        security_schemes={
            "sigv4": HTTPBase.model_validate(
                {"type": "http", "scheme": "AWS4-HMAC-SHA256", "description": SIGV4_DESCRIPTION}
            )
        },
    )


def complete(spec: OpenAPI) -> OpenAPI:
    """Make the generated document say exactly what the API does.

    Powertools documents a 422 on every validated route; this API maps those to 400
    (metrics_api.errors). The /health route belongs to another function behind the same HTTP API;
    it is described here so one document covers the whole API. All other routes but /swagger
    need IAM (SigV4) when deployed.
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
                operation.responses[403] = Response_.model_validate(
                    {
                        "description": "Missing or invalid AWS SigV4 signature (answered by API Gateway).",
                        "content": {"application/json": {"schema": error_schema}},
                    }
                )
    if spec.components is not None and spec.components.schemas is not None:
        for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
            spec.components.schemas.pop(name, None)
        health_schema = HealthResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, schema in health_schema.pop("$defs", {}).items():
            spec.components.schemas[name] = Schema.model_validate(schema)
        spec.components.schemas["HealthResponse"] = Schema.model_validate(health_schema)
    health = {"$ref": "#/components/schemas/HealthResponse"}
    spec.paths = dict(spec.paths or {})
    spec.paths["/health"] = PathItem.model_validate(
        {
            "get": {
                "summary": "Storage reachability (no authorization)",
                "operationId": "health",
                "security": [],
                "responses": {
                    200: {
                        "description": "Table and bucket reachable.",
                        "content": {"application/json": {"schema": health}},
                    },
                    503: {
                        "description": "A check failed; `checks` says which.",
                        "content": {"application/json": {"schema": health}},
                    },
                },
            }
        }
    )
    return spec


def _count_swagger(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    count("OpenApiRequests")
    return next_middleware(app)
