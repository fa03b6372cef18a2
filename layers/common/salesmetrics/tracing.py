"""What the functions' X-Ray tracer patches.

Powertools' `Tracer()` patches every library the X-Ray SDK knows and finds installed (requests,
sqlite3, httplib, ...), importing each one at every cold start. Every call this service makes
leaves through botocore, so that is all it patches: each DynamoDB, S3 and Lambda call is still a
subsegment.
"""

TRACED_MODULES = ("botocore",)
