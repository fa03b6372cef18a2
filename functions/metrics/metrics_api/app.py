"""The resolver: the routers, the error mapping and the document, put together once, at import."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from . import errors
from .routers import breakdowns, docs, imports, rejects, revenue, uploads

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import OpenAPI
    from aws_lambda_powertools.utilities.typing import LambdaContext


class MetricsResolver(APIGatewayHttpResolver):
    _docs_lock = threading.Lock()  # the local gateway may resolve requests on several threads
    _docs_enabled = False

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The document's route is added on the first request that may be for it (routers/docs.py).
        if not self._docs_enabled and str(event.get("rawPath") or "").endswith(docs.PATH):
            with self._docs_lock:
                if not self._docs_enabled:
                    docs.enable(self)
                    self._docs_enabled = True
        return super().resolve(event, context)

    def get_openapi_schema(self, **kwargs: Any) -> OpenAPI:
        return docs.complete(super().get_openapi_schema(**kwargs))


# The dashboard's routes are these same routes under /app (template.yaml: `ANY /app/{proxy+}`,
# behind the Cognito JWT authorizer; machine clients call them at their own paths with IAM).
DASHBOARD_PREFIX = "/app"

app = MetricsResolver(enable_validation=True, strip_prefixes=[DASHBOARD_PREFIX])
for _router in (revenue.router, breakdowns.router, imports.router, rejects.router, uploads.router):
    app.include_router(_router)
errors.register(app)
