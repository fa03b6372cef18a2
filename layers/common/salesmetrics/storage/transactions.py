"""TransactWriteItems sent from the items' wire text, past botocore's per-call machinery.

botocore spends more CPU around a request than on it: for a 100-item transaction whose items
are already DynamoDB JSON, its call (the serialiser, the endpoint rules, the hooks, the retry
bookkeeping) cost 1.5-2.4 ms against 0.7-1.1 ms for signing and sending the same body
(docs/benchmarks.md), and an ingest of a million lines makes ten thousand of them.

What stays botocore's: the client's request signer (credentials and their refresh, SigV4), its
HTTP session (the connection pool, proxies, TLS and timeouts of its config), its retry policy
(the standard mode's conditions and back-off, the checksum DynamoDB adds to each answer), its
response parser and exception classes, and its events: `before-call`, `before-send` (where
moto's mock and test doubles answer) and `after-call` are emitted as its own call emits them,
so anything watching the client (recursion detection, request counters) sees these requests.
What is this module's: the body (the items' text joined, and an idempotency token, the same on
every retry of one call) and the loop that resends it. What is lost: the X-Ray tracer patches
botocore's call, so a transaction is not a subsegment of its own (docs/architecture.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from botocore import parsers
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError
from botocore.retries.standard import (
    ExponentialBackoff,
    RetryContext,
    RetryEventAdapter,
    StandardRetryConditions,
    ThrottlingErrorDetector,
)

from .items import item_text

__all__ = ["TransactionSender"]

OPERATION = "TransactWriteItems"
_EVENT_SUFFIX = "dynamodb." + OPERATION
# botocore's standard mode when the client's config names no number: one request, two retries.
DEFAULT_MAX_ATTEMPTS = 3


class TransactionSender:
    """Sends one TransactWriteItems request per `send`, as the client's own call would."""

    def __init__(
        self, client: Any, *, sleep: Callable[[float], None], max_attempts: int = DEFAULT_MAX_ATTEMPTS
    ) -> None:
        meta = client.meta
        self._client = client
        self._url = meta.endpoint_url.rstrip("/") + "/"
        self._events = meta.events
        # Private attributes, read once: the signer and the HTTP session the client itself uses.
        self._signer = client._request_signer
        self._http = client._endpoint.http_session
        self._model = meta.service_model.operation_model(OPERATION)
        self._parser = parsers.create_parser(meta.service_model.resolved_protocol)
        self._headers = {
            "X-Amz-Target": f"{meta.service_model.metadata['targetPrefix']}.{OPERATION}",
            "Content-Type": f"application/x-amz-json-{meta.service_model.metadata['jsonVersion']}",
            # What botocore would send, made once: it rebuilds it on every call otherwise.
            "User-Agent": client._user_agent_creator.to_string(),
        }
        self._retry = StandardRetryConditions(max_attempts=max_attempts)
        self._delay = ExponentialBackoff(
            service_name="dynamodb", throttling_detector=ThrottlingErrorDetector(RetryEventAdapter())
        )
        self._sleep = sleep

    @classmethod
    def for_client(cls, client: Any, *, sleep: Callable[[float], None]) -> TransactionSender | None:
        """A sender for this client, or None where the client is not one it can stand in for
        (another protocol, a retry mode other than standard, or a botocore without the parts it
        reuses). It makes as many attempts as the client's own call would."""
        meta = getattr(client, "meta", None)
        if meta is None or meta.service_model.protocol != "json":
            return None
        if not all(hasattr(client, name) for name in ("_request_signer", "_endpoint", "_user_agent_creator")):
            return None
        retries = getattr(meta.config, "retries", None) or {}
        if retries.get("mode") != "standard":
            return None  # legacy and adaptive retry differently (adaptive also paces the client)
        return cls(client, sleep=sleep, max_attempts=int(retries.get("total_max_attempts", DEFAULT_MAX_ATTEMPTS)))

    def body(self, items: Sequence[Any], token: str) -> bytes:
        listed = ",".join([item_text(item) for item in items])
        return ('{"TransactItems":[' + listed + '],"ClientRequestToken":"' + token + '"}').encode()

    def send(self, items: Sequence[Any]) -> dict[str, Any]:
        """The parsed answer; a refusal raises the client's own `ClientError` subclass."""
        context: dict[str, Any] = {"client_config": self._client.meta.config}
        params: dict[str, Any] = {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "headers": dict(self._headers),
            "body": self.body(items, str(uuid.uuid4())),
            "url": self._url,
            "context": context,
        }
        _, answered = self._events.emit_until_response(
            "before-call." + _EVENT_SUFFIX,
            model=self._model,
            params=params,
            request_signer=self._signer,
            context=context,
        )
        http, parsed = answered if answered is not None else self._send(params)
        self._events.emit(
            "after-call." + _EVENT_SUFFIX, http_response=http, parsed=parsed, model=self._model, context=context
        )
        if http.status_code >= 300:
            code = parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, OPERATION)
        return dict(parsed)

    def _send(self, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        attempt = 1
        while True:  # bounded: the retry conditions refuse past `max_attempts`
            http: AWSResponse | None = None
            parsed: dict[str, Any] | None = None
            try:
                http = self._request(params)
                parsed = self._parse(http)
            except (BotocoreConnectionError, HTTPClientError) as exc:  # no answer: the same request again
                if not self._retry_after(RetryContext(attempt, self._model, caught_exception=exc), params):
                    raise
            else:
                context = RetryContext(attempt, self._model, parsed, http, request_context=params["context"])
                if not self._retry_after(context, params):
                    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempt - 1
                    return http, parsed
            attempt += 1

    def _retry_after(self, context: RetryContext, params: dict[str, Any]) -> bool:
        """Whether botocore's standard policy retries this answer; if so, after its back-off."""
        context.request_context = params["context"]
        if not self._retry.is_retryable(context):
            return False
        self._sleep(self._delay.delay_amount(context))
        return True

    def _request(self, params: dict[str, Any]) -> AWSResponse:
        request = AWSRequest(method="POST", url=self._url, data=params["body"], headers=params["headers"])
        request.context = params["context"]
        self._signer.sign(OPERATION, request)
        prepared = request.prepare()
        _, answer = self._events.emit_until_response("before-send." + _EVENT_SUFFIX, request=prepared)
        return cast(AWSResponse, answer if answer is not None else self._http.send(prepared))

    def _parse(self, http: AWSResponse) -> dict[str, Any]:
        response = convert_to_response_dict(http, self._model)
        parsed: dict[str, Any] = self._parser.parse(response, self._model.output_shape)
        if http.status_code >= 300:
            # The error's own fields (a cancellation's reasons), as botocore's endpoint adds them.
            code = parsed.get("Error", {}).get("Code")
            shape = self._model.service_model.shape_for_error_code(code) if code else None
            if shape is not None:
                parsed.update(self._parser.parse(response, shape))
        return parsed
