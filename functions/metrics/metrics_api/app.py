"""The resolver: the routers, the error mapping and the document, put together once, at import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from . import errors
from .routers import breakdowns, docs, imports, rejects, revenue, uploads

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI


class MetricsResolver(APIGatewayHttpResolver):
    def get_openapi_schema(self, **kwargs: Any) -> OpenAPI:
        return docs.complete(super().get_openapi_schema(**kwargs))


# The dashboard's routes are these same routes under /app (template.yaml: `ANY /app/{proxy+}`,
# behind the Cognito JWT authorizer; machine clients call them at their own paths with IAM).
DASHBOARD_PREFIX = "/app"

app = MetricsResolver(enable_validation=True, strip_prefixes=[DASHBOARD_PREFIX])
for _router in (revenue.router, breakdowns.router, imports.router, rejects.router, uploads.router):
    app.include_router(_router)
errors.register(app)
docs.enable(app)
