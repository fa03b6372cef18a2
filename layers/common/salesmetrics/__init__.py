"""Shared domain, parsing and storage code for the sales-metrics service (the Lambda layer)."""
