"""The dashboard's static files as the local gateway serves them (CloudFront's part, locally).

- `GET /` and `GET /<file>` answer the files of `dashboard/` with the security headers of the
  template's CloudFront response headers policy, the Content-Security-Policy's `connect-src`
  widened by the local endpoints the page talks to (the moto server, for presigned S3 URLs).
- `GET /config.json` answers what the page needs to sign in: the Cognito endpoint, the app
  client id and where the API is (`/app`); deployed, `make publish-dashboard` writes the same
  file next to the others with the regional Cognito endpoint (docs/operations.md).
- `POST /cognito/` passes Cognito's user-facing JSON API calls (InitiateAuth,
  RespondToAuthChallenge, ...) to the moto server: the page reaches Cognito on its own origin, as
  it reaches the real `cognito-idp.<region>.amazonaws.com` deployed. Administrative calls
  (AdminCreateUser, ...) are refused: on real Cognito they need IAM credentials, not a browser.
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from devtools.template import Template

COGNITO_PATH = "/cognito/"
CONFIG_PATH = "/config.json"
# What a signed-out browser may ask Cognito: sign-in and its challenges, sign-out, TOTP set-up.
COGNITO_ACTIONS = frozenset(
    {
        "InitiateAuth",
        "RespondToAuthChallenge",
        "RevokeToken",
        "GlobalSignOut",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
    }
)
_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

Answer = tuple[int, list[tuple[str, str]], bytes, str]


def security_headers(template: Template, extra_connect_src: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The headers the template's CloudFront response headers policy adds, as HTTP headers."""
    headers: list[tuple[str, str]] = []
    for logical_id, _ in template.resources_of_type("AWS::CloudFront::ResponseHeadersPolicy"):
        config = template.properties(logical_id).get("ResponseHeadersPolicyConfig") or {}
        security = config.get("SecurityHeadersConfig") or {}
        hsts = security.get("StrictTransportSecurity")
        if hsts:
            value = f"max-age={hsts['AccessControlMaxAgeSec']}"
            if hsts.get("IncludeSubdomains"):
                value += "; includeSubDomains"
            if hsts.get("Preload"):
                value += "; preload"
            headers.append(("Strict-Transport-Security", value))
        if security.get("ContentTypeOptions"):
            headers.append(("X-Content-Type-Options", "nosniff"))
        if security.get("FrameOptions"):
            headers.append(("X-Frame-Options", str(security["FrameOptions"]["FrameOption"])))
        if security.get("ReferrerPolicy"):
            headers.append(("Referrer-Policy", str(security["ReferrerPolicy"]["ReferrerPolicy"])))
        csp = (security.get("ContentSecurityPolicy") or {}).get("ContentSecurityPolicy")
        if csp:
            headers.append(("Content-Security-Policy", widen_connect_src(str(csp), extra_connect_src)))
        break  # one policy: the dashboard's
    return headers


def widen_connect_src(policy: str, sources: Iterable[str]) -> str:
    extra = [s for s in sources if s]
    directives = [d.strip() for d in " ".join(policy.split()).split(";") if d.strip()]
    widened = [" ".join([d, *extra]) if d.split()[0] == "connect-src" else d for d in directives]
    return "; ".join(widened)


class Site:
    def __init__(
        self,
        root: Path,
        config: Mapping[str, Any],
        *,
        cognito_upstream: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.root = root.resolve()
        self.config = dict(config)
        self.cognito_upstream = cognito_upstream.rstrip("/") + "/" if cognito_upstream else None
        self.headers = list(headers)

    def serve(self, method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes | None) -> Answer | None:
        """The answer for a path of the site, or None when it is not one (the gateway's 404)."""
        if path == COGNITO_PATH:
            if method != "POST":
                return _json(405, {"message": "POST Cognito's JSON API calls here"}, "site")
            return self._cognito(headers, body)
        if method not in ("GET", "HEAD"):
            return None
        if path == CONFIG_PATH:
            payload = json.dumps(self.config).encode()
            return 200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], payload, "site"
        file = self._file(path)
        if file is None:
            return None
        content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in ("application/javascript", "text/javascript"):
            content_type += "; charset=utf-8"
        out = [("Content-Type", content_type), ("Cache-Control", "no-cache"), *self.headers]
        return 200, out, file.read_bytes(), "site"

    def _file(self, path: str) -> Path | None:
        relative = path.lstrip("/") or "index.html"
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        if any(part.startswith(".") for part in candidate.relative_to(self.root).parts):
            return None
        return candidate

    def _cognito(self, headers: Iterable[tuple[str, str]], body: bytes | None) -> Answer:
        given = {k.lower(): v for k, v in headers}
        target = given.get("x-amz-target", "")
        action = target.removeprefix(_TARGET_PREFIX)
        if not target.startswith(_TARGET_PREFIX) or action not in COGNITO_ACTIONS:
            return _json(
                403,
                {"__type": "AccessDeniedException", "message": f"{target or 'no X-Amz-Target'} is not for a browser"},
                "site",
            )
        if self.cognito_upstream is None:
            return _json(503, {"message": "no local Cognito is running"}, "site")
        request = urllib.request.Request(
            self.cognito_upstream,
            data=body or b"{}",
            method="POST",
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
        )
        try:
            with _NO_PROXY_OPENER.open(request, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError as exc:
            return _json(502, {"message": f"the local Cognito did not answer: {exc}"}, "site")
        return status, [("Content-Type", "application/x-amz-json-1.1")], payload, f"cognito {action}"


def _json(status: int, payload: Any, served_by: str) -> Answer:
    return status, [("Content-Type", "application/json")], json.dumps(payload).encode(), served_by
