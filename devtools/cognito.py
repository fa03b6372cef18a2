"""The dashboard's sign-in on the local stack: the template's user pool on moto, and the HTTP API's
JWT authorizer as the local gateway runs it.

- `create_user_pools(stack)` creates every `AWS::Cognito::UserPool` and `UserPoolClient` of the
  template on the embedded AWS with the properties the template gives them (admin-only sign-up,
  password policy, MFA, auth flows), and makes `Ref` of them answer the ids moto chose, so the
  authorizer's issuer and audience resolve from the template exactly as CloudFormation would.
- `create_user` makes a confirmed user with a permanent password (what an administrator does
  with `admin-create-user` and `admin-set-user-password --permanent`).
- `JwtAuthorizer.verify` checks a request's token as API Gateway's JWT authorizer does: the key
  (`kid`) from the issuer's JWKS, an RS256 signature, `iss`, `aud` or `client_id` among the
  audiences, `exp` in the future, `nbf` and `iat` not in the future. The JWKS is fetched from the
  moto server, which serves the pool's keys at `/<pool id>/.well-known/jwks.json` and signs its
  tokens with them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from devtools.template import ResourceInfo, Template

log = logging.getLogger("devtools.cognito")

_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
JWKS_TTL_SECONDS = 300.0


class Unauthorized(Exception):
    """The request's token is missing or not acceptable; the message says why (API Gateway puts
    it in the `www-authenticate` header, never in the body)."""


# --------------------------------------------------------------------------- the user pool


@dataclass(frozen=True, slots=True)
class LocalUserPool:
    logical_id: str
    pool_id: str
    client_ids: dict[str, str]  # client logical id -> client id
    issuer: str


def create_user_pools(stack: Any) -> list[LocalUserPool]:
    """Every user pool of the template (and its clients) on the stack's moto server."""
    template: Template = stack.template
    client = stack.client("cognito-idp")
    pools: list[LocalUserPool] = []
    for logical_id, _resource in template.resources_of_type("AWS::Cognito::UserPool"):
        props = template.properties(logical_id)
        kwargs = {
            k: props[k]
            for k in (
                "Policies",
                "AdminCreateUserConfig",
                "UsernameAttributes",
                "AutoVerifiedAttributes",
                "AccountRecoverySetting",
                "MfaConfiguration",
                "DeletionProtection",
            )
            if k in props
        }
        pool = client.create_user_pool(PoolName=str(props.get("UserPoolName") or logical_id), **kwargs)["UserPool"]
        if props.get("EnabledMfas"):
            client.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                SoftwareTokenMfaConfiguration={"Enabled": "SOFTWARE_TOKEN_MFA" in props["EnabledMfas"]},
                MfaConfiguration=props.get("MfaConfiguration", "OFF"),
            )
        issuer = f"https://cognito-idp.{stack.region}.amazonaws.com/{pool['Id']}"
        template.overrides[logical_id] = ResourceInfo(
            pool["Id"], {"Arn": pool["Arn"], "ProviderName": issuer.removeprefix("https://"), "ProviderURL": issuer}
        )
        clients: dict[str, str] = {}
        for client_id, _ in template.resources_of_type("AWS::Cognito::UserPoolClient"):
            client_props = template.properties(client_id)
            if client_props.get("UserPoolId") != pool["Id"]:
                continue
            created = client.create_user_pool_client(
                UserPoolId=pool["Id"],
                ClientName=str(client_props.get("ClientName") or client_id),
                **{
                    k: client_props[k]
                    for k in (
                        "GenerateSecret",
                        "ExplicitAuthFlows",
                        "PreventUserExistenceErrors",
                        "EnableTokenRevocation",
                        "AccessTokenValidity",
                        "IdTokenValidity",
                        "RefreshTokenValidity",
                        "TokenValidityUnits",
                    )
                    if k in client_props
                },
            )["UserPoolClient"]
            template.overrides[client_id] = ResourceInfo(created["ClientId"], {"ClientId": created["ClientId"]})
            clients[client_id] = created["ClientId"]
        pools.append(LocalUserPool(logical_id, pool["Id"], clients, issuer))
    return pools


def create_user(stack: Any, pool: LocalUserPool, email: str, password: str) -> None:
    """A confirmed user with a verified email and a permanent password."""
    client = stack.client("cognito-idp")
    client.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=email,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
    )
    client.admin_set_user_password(UserPoolId=pool.pool_id, Username=email, Password=password, Permanent=True)


# --------------------------------------------------------------------------- the JWT authorizer


def _fetch_json(url: str) -> Any:
    with _NO_PROXY_OPENER.open(url, timeout=10) as response:
        return json.loads(response.read())


@dataclass(slots=True)
class JwtAuthorizer:
    """One JWT authorizer of the HTTP API (its `jwtConfiguration` and identity source)."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    identity_header: str = "authorization"
    jwks_url: str = ""
    fetch: Callable[[str], Any] = _fetch_json
    clock: Callable[[], float] = time.time
    _keys: KeySet | None = None
    _fetched_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> KeySet:
        with self._lock:
            if self._keys is None or time.monotonic() - self._fetched_at > JWKS_TTL_SECONDS:
                self._keys = KeySet.import_key_set(self.fetch(self.jwks_url or self.issuer + "/.well-known/jwks.json"))
                self._fetched_at = time.monotonic()
            return self._keys

    def token_of(self, headers: Mapping[str, str]) -> str:
        value = next((v for k, v in headers.items() if k.lower() == self.identity_header), "").strip()
        value = re.sub(r"^bearer(\s+|$)", "", value, flags=re.IGNORECASE)
        if not value:
            raise Unauthorized("no token in the Authorization header")
        return value

    def verify(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """The token's claims, or Unauthorized saying what was wrong with it."""
        value = self.token_of(headers)
        try:
            token = jwt.decode(value, self.keys(), algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise Unauthorized(f"the token's signature cannot be verified ({type(exc).__name__})") from None
        claims = dict(token.claims)
        if claims.get("iss") != self.issuer:
            raise Unauthorized("the token was not issued by this user pool")
        audiences = {claims.get("aud"), claims.get("client_id")}
        if isinstance(claims.get("aud"), list):
            audiences |= set(claims["aud"])
        if not audiences & set(self.audiences):
            raise Unauthorized("the token is not for this app client")
        now = self.clock()
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp <= now:
            raise Unauthorized("the token has expired")
        for name in ("nbf", "iat"):
            moment = claims.get(name)
            if moment is not None and (not isinstance(moment, (int, float)) or moment > now):
                raise Unauthorized(f"the token's {name} is in the future")
        return claims


def jwt_authorizers(template: Template, endpoint_url: str) -> dict[str, JwtAuthorizer]:
    """The HTTP API's JWT authorizers (from the transformed template's OpenAPI body), their
    issuer and audience resolved; keys come from `endpoint_url` (the moto server) for issuers of
    cognito-idp, which is where the local pools live."""
    found: dict[str, JwtAuthorizer] = {}
    for _api_id, resource in template.resources_of_type("AWS::ApiGatewayV2::Api"):
        body = (resource.get("Properties") or {}).get("Body") or {}
        schemes = (body.get("components") or {}).get("securitySchemes") or {}
        for name, scheme in schemes.items():
            authorizer = scheme.get("x-amazon-apigateway-authorizer") or {}
            if authorizer.get("type") != "jwt":
                continue
            config = template.resolve(authorizer.get("jwtConfiguration") or {})
            issuer = str(config.get("issuer", ""))
            source = str(authorizer.get("identitySource", "$request.header.Authorization"))
            header = source.removeprefix("$request.header.").lower()
            parts = urlsplit(issuer)
            jwks_url = issuer + "/.well-known/jwks.json"
            if parts.hostname and parts.hostname.startswith("cognito-idp."):
                jwks_url = endpoint_url.rstrip("/") + parts.path + "/.well-known/jwks.json"
            found[name] = JwtAuthorizer(
                name=name,
                issuer=issuer,
                audiences=tuple(str(a) for a in config.get("audience") or ()),
                identity_header=header,
                jwks_url=jwks_url,
            )
    return found


def claims_for_event(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway passes them in `requestContext.authorizer.jwt.claims`: strings."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            out[name] = "[" + " ".join(str(v) for v in value) + "]"
        else:
            out[name] = str(value)
    return out
