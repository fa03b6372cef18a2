"""The metrics function's HTTP API, one concern per module.

- `settings`: its environment variables, validated once at cold start.
- `models`: the request and response types; they are the OpenAPI document's schemas.
- `routers/`: one Powertools `Router` per resource (revenue, imports, uploads) and the document
  itself (docs: Swagger UI and the finishing of the generated OpenAPI).
- `errors`: every 400 and 404 body, mapped from the exception that explains it.
- `events`: what an incoming event needs before the resolver can read it.
- `app`: the resolver, assembled from the above. `metrics_handler` (the Lambda entry) runs it.

The figures are computed in the layer (`salesmetrics`); nothing here talks to AWS but through
`salesmetrics.storage`.
"""
