"""TransactWriteItems sent from the items' wire text, past botocore's per-call set-up.

botocore spends more CPU preparing a request than sending it: a 100-item transaction whose items
are already DynamoDB JSON cost 1.5-2.4 ms of CPU through the client call (the serialiser, the
endpoint rules, the parameter hooks, the User-Agent), 0.9-1.1 ms written here and sent by the
client's endpoint (docs/benchmarks.md); an ingest of a million lines makes ten thousand of them.

This module writes the request itself (the items' text joined, and an idempotency token) and
hands it to the client's own endpoint (`Endpoint.make_request`), as the client's call does once
it has serialised: the signing, the retry headers, the HTTP session (pool, proxies, TLS,
timeouts), the retry policy of the client's config (its mode, attempts and retry quota, the
same request and token on every attempt), the response parser with the error's modeled fields,
and the events on the way (`request-created`, `before-send`, `response-received`,
`needs-retry`) are all botocore's. The client call's own events are emitted as it emits them:
`before-call` (where botocore's Lambda recursion detection adds its trace header, and moto's
mock may answer), `after-call`, `after-call-error`. What is lost: the X-Ray tracer patches the
client call, so a transaction is not a subsegment of its own (docs/architecture.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from .items import item_text

__all__ = ["TransactionSender"]

OPERATION = "TransactWriteItems"


class TransactionSender:
    """Sends one TransactWriteItems request per `send`, as the client's own call would."""

    def __init__(self, client: Any) -> None:
        meta = client.meta
        self._client = client
        self._events = meta.events
        # Private attributes, read once: the endpoint and the signer the client itself uses.
        self._endpoint = client._endpoint
        self._signer = client._request_signer
        service = meta.service_model
        self._model = service.operation_model(OPERATION)
        suffix = f"{service.service_id.hyphenize()}.{OPERATION}"
        self._before, self._after, self._error = (
            f"{e}.{suffix}" for e in ("before-call", "after-call", "after-call-error")
        )
        self._url = meta.endpoint_url.rstrip("/") + "/"  # the client's regional endpoint, path "/"
        self._headers = {
            "X-Amz-Target": f"{service.metadata['targetPrefix']}.{OPERATION}",
            "Content-Type": f"application/x-amz-json-{service.metadata['jsonVersion']}",
            # What botocore would send, made once: it rebuilds it on every call otherwise.
            "User-Agent": client._user_agent_creator.to_string(),
        }
        # What the client call puts in every request's context (botocore.client._make_api_call).
        self._context = {
            "client_region": meta.region_name,
            "client_config": meta.config,
            "has_streaming_input": self._model.has_streaming_input,
            "auth_type": self._model.resolved_auth_type,
            "unsigned_payload": self._model.unsigned_payload,
            "auth_options": service.metadata.get("auth"),
        }

    @classmethod
    def for_client(cls, client: Any) -> TransactionSender | None:
        """A sender for this client, or None where the client is not one it can stand in for
        (another protocol, a botocore without the parts it reuses, or a config that requires
        account-ID endpoints: the sender sends to the client's regional endpoint)."""
        meta = getattr(client, "meta", None)
        if meta is None or meta.service_model.protocol != "json":
            return None
        if getattr(meta.config, "account_id_endpoint_mode", None) == "required":
            return None
        if not all(hasattr(client, name) for name in ("_endpoint", "_request_signer", "_user_agent_creator")):
            return None
        if not hasattr(client._endpoint, "make_request"):
            return None
        return cls(client)

    def body(self, items: Sequence[Any], token: str) -> bytes:
        listed = ",".join([item_text(item) for item in items])
        return ('{"TransactItems":[' + listed + '],"ClientRequestToken":"' + token + '"}').encode()

    def send(self, items: Sequence[Any]) -> dict[str, Any]:
        """The parsed answer; a refusal raises the client's own `ClientError` subclass."""
        return self.send_body(self.body(items, str(uuid.uuid4())))

    def send_body(self, body: bytes) -> dict[str, Any]:
        """`send` of a request body already written by `body` (the benchmark times the sending alone)."""
        context = dict(self._context)
        request: dict[str, Any] = {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "headers": dict(self._headers),
            "body": body,
            "url": self._url,
            "context": context,
        }
        _, answered = self._events.emit_until_response(
            self._before, model=self._model, params=request, request_signer=self._signer, context=context
        )
        if answered is None:
            try:
                answered = self._endpoint.make_request(self._model, request)
            except Exception as exc:
                self._events.emit(self._error, exception=exc, context=context)
                raise
        http, parsed = answered
        self._events.emit(self._after, http_response=http, parsed=parsed, model=self._model, context=context)
        if http.status_code >= 300:
            code = context.get("error_code_override") or parsed.get("Error", {}).get("Code")
            raise self._client.exceptions.from_code(code)(parsed, OPERATION)
        return dict(parsed)
