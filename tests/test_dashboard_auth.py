"""The dashboard's sign-in on the local stack, without a browser: the template's user pool on
moto, the JWT authorizer the local gateway runs (as API Gateway's would), the site's files, its
Cognito proxy and security headers, and IAM routes that still refuse a bearer token."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from moto.utilities.utils import load_resource

from devtools.cognito import JwtAuthorizer, Unauthorized, create_user, create_user_pools, jwt_authorizers
from devtools.gateway import Gateway
from devtools.localaws import LocalAws
from devtools.site import Site, security_headers

ROOT = Path(__file__).resolve().parents[1]
EMAIL = "owner@example.com"
PASSWORD = "Test-Owner-2025!"


@pytest.fixture(scope="module")
def stack() -> Any:
    with LocalAws(ROOT / "template.yaml") as running:
        yield running


@pytest.fixture(scope="module")
def pool(stack: Any) -> Any:
    created = create_user_pools(stack)
    assert len(created) == 1
    create_user(stack, created[0], EMAIL, PASSWORD)
    return created[0]


@pytest.fixture(scope="module")
def authorizer(stack: Any, pool: Any) -> JwtAuthorizer:
    found = jwt_authorizers(stack.template, stack.endpoint_url)
    assert set(found) == {"DashboardJwt"}
    return found["DashboardJwt"]


def sign_in(stack: Any, pool: Any) -> dict[str, Any]:
    client = stack.client("cognito-idp")
    answer = client.initiate_auth(
        AuthFlow="USER_PASSWORD_AUTH",
        ClientId=next(iter(pool.client_ids.values())),
        AuthParameters={"USERNAME": EMAIL, "PASSWORD": PASSWORD},
    )
    return dict(answer["AuthenticationResult"])


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def moto_key() -> RSAKey:
    """The key moto signs its Cognito tokens with (and publishes in every pool's JWKS)."""
    return RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))


def token_with(claims: dict[str, Any], key: RSAKey, kid: str = "dummy") -> str:
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, key)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --------------------------------------------------------------------------- the pool


def test_the_local_pool_is_created_with_the_templates_sign_up_and_password_rules(stack: Any, pool: Any) -> None:
    described = stack.client("cognito-idp").describe_user_pool(UserPoolId=pool.pool_id)["UserPool"]
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert described["UsernameAttributes"] == ["email"]
    client = stack.client("cognito-idp").describe_user_pool_client(
        UserPoolId=pool.pool_id, ClientId=next(iter(pool.client_ids.values()))
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}


def test_the_authorizer_takes_issuer_and_audience_from_the_local_pool(pool: Any, authorizer: JwtAuthorizer) -> None:
    assert authorizer.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.pool_id}"
    assert authorizer.audiences == tuple(pool.client_ids.values())
    assert authorizer.identity_header == "authorization"


# --------------------------------------------------------------------------- the JWT authorizer


def test_access_and_id_tokens_of_the_pool_are_accepted(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    tokens = sign_in(stack, pool)
    access = authorizer.verify(bearer(tokens["AccessToken"]))
    assert access["token_use"] == "access" and access["client_id"] in authorizer.audiences
    identity = authorizer.verify({"authorization": tokens["IdToken"]})  # without "Bearer " too
    assert identity["email"] == EMAIL


def test_a_request_without_a_token_is_unauthorized(authorizer: JwtAuthorizer) -> None:
    with pytest.raises(Unauthorized, match="no token"):
        authorizer.verify({})
    with pytest.raises(Unauthorized, match="no token"):
        authorizer.verify({"Authorization": "Bearer "})


def test_an_expired_token_signed_by_the_pool_is_unauthorized(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    claims = claims_of(sign_in(stack, pool)["AccessToken"])
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    with pytest.raises(Unauthorized, match="expired"):
        authorizer.verify(bearer(token_with(claims, moto_key())))


def test_a_token_signed_with_another_key_is_unauthorized(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    claims = claims_of(sign_in(stack, pool)["AccessToken"])
    forged = token_with(claims, RSAKey.generate_key(2048))
    with pytest.raises(Unauthorized, match="signature"):
        authorizer.verify(bearer(forged))


def test_a_token_whose_claims_were_edited_is_unauthorized(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    header, payload, signature = sign_in(stack, pool)["AccessToken"].split(".")
    claims = claims_of(f"{header}.{payload}.{signature}")
    claims["exp"] = int(time.time()) + 10 * 365 * 86400
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="signature"):
        authorizer.verify(bearer(f"{header}.{edited}.{signature}"))


def test_an_unsigned_token_is_unauthorized(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    claims = claims_of(sign_in(stack, pool)["AccessToken"])
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"dummy"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized):
        authorizer.verify(bearer(f"{none_header}.{payload}."))


def test_a_token_of_another_pool_or_client_is_unauthorized(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    claims = claims_of(sign_in(stack, pool)["AccessToken"])
    other_pool = {**claims, "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_someoneelse"}
    with pytest.raises(Unauthorized, match="not issued by this user pool"):
        authorizer.verify(bearer(token_with(other_pool, moto_key())))
    other_client = {**claims, "client_id": "another-app-client"}
    with pytest.raises(Unauthorized, match="not for this app client"):
        authorizer.verify(bearer(token_with(other_client, moto_key())))


def test_a_token_not_valid_yet_is_unauthorized(stack: Any, pool: Any, authorizer: JwtAuthorizer) -> None:
    claims = claims_of(sign_in(stack, pool)["AccessToken"])
    claims["nbf"] = int(time.time()) + 600
    with pytest.raises(Unauthorized, match="nbf"):
        authorizer.verify(bearer(token_with(claims, moto_key())))


# --------------------------------------------------------------------------- the gateway


@pytest.fixture(scope="module")
def gateway(stack: Any, authorizer: JwtAuthorizer) -> Gateway:
    return Gateway(ROOT / "template.yaml", authorizers={"DashboardJwt": authorizer}, require_authorization_header=True)


def test_app_routes_answer_401_without_a_valid_token_and_200_with_one(stack: Any, pool: Any, gateway: Gateway) -> None:
    path = "/app/imports?limit=5"
    status, headers, body, _ = gateway.invoke("GET", path, [], None)
    assert (status, json.loads(body)) == (401, {"message": "Unauthorized"})
    assert any(name.lower() == "www-authenticate" and "invalid_token" in value for name, value in headers)
    forged = token_with(claims_of(sign_in(stack, pool)["AccessToken"]), RSAKey.generate_key(2048))
    assert gateway.invoke("GET", path, [("Authorization", f"Bearer {forged}")], None)[0] == 401
    token = sign_in(stack, pool)["AccessToken"]
    status, _, body, _ = gateway.invoke("GET", path, [("Authorization", f"Bearer {token}")], None)
    assert status == 200, body
    assert "imports" in json.loads(body)


def test_the_function_sees_the_tokens_claims_as_api_gateway_passes_them(
    stack: Any, pool: Any, gateway: Gateway
) -> None:
    seen: list[dict[str, Any]] = []
    original = gateway._run

    def recording(function: Any, event: dict[str, Any]) -> Any:
        seen.append(event)
        return original(function, event)

    gateway._run = recording  # type: ignore[method-assign]
    try:
        token = sign_in(stack, pool)["AccessToken"]
        gateway.invoke("GET", "/app/imports", [("Authorization", f"Bearer {token}")], None)
    finally:
        gateway._run = original  # type: ignore[method-assign]
    claims = seen[0]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["client_id"] in pool.client_ids.values()
    assert isinstance(claims["exp"], str)
    assert seen[0]["routeKey"] == "ANY /app/{proxy+}"


def test_an_app_route_without_a_configured_authorizer_always_answers_401(stack: Any, pool: Any) -> None:
    bare = Gateway(ROOT / "template.yaml")
    token = sign_in(stack, pool)["AccessToken"]
    assert bare.invoke("GET", "/app/imports", [("Authorization", f"Bearer {token}")], None)[0] == 401


def test_iam_routes_refuse_a_bearer_token_and_unsigned_calls(stack: Any, pool: Any, gateway: Gateway) -> None:
    token = sign_in(stack, pool)["AccessToken"]
    for headers in ([], [("Authorization", f"Bearer {token}")], [("Authorization", token)]):
        status, _, body, _ = gateway.invoke("GET", "/imports", headers, None)
        assert (status, json.loads(body)) == (403, {"message": "Forbidden"}), headers


# --------------------------------------------------------------------------- the site


@pytest.fixture(scope="module")
def site(stack: Any, pool: Any) -> Site:
    config = {"cognito_endpoint": "/cognito/", "client_id": next(iter(pool.client_ids.values())), "api_base": "/app"}
    return Site(
        ROOT / "dashboard",
        config,
        cognito_upstream=stack.endpoint_url,
        headers=security_headers(stack.template, [stack.endpoint_url]),
    )


def test_the_site_serves_the_page_with_the_templates_security_headers(stack: Any, site: Site) -> None:
    answer = site.serve("GET", "/", [], None)
    assert answer is not None
    status, headers, body, _ = answer
    assert status == 200 and b'data-chart="series"' in body
    named = {k.lower(): v for k, v in headers}
    assert named["x-frame-options"] == "DENY"
    assert named["x-content-type-options"] == "nosniff"
    assert named["strict-transport-security"].startswith("max-age=63072000")
    csp = named["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert stack.endpoint_url in csp.split("connect-src", 1)[1].split(";")[0], "the local S3 must be reachable"


def test_the_site_serves_its_config_and_nothing_outside_its_folder(site: Site) -> None:
    answer = site.serve("GET", "/config.json", [], None)
    assert answer is not None and json.loads(answer[2])["api_base"] == "/app"
    for path in ("/../template.yaml", "/vendor/../../template.yaml", "/nope.html", "/%2e%2e/template.yaml"):
        assert site.serve("GET", path, [], None) is None, path
    assert site.serve("POST", "/index.html", [], None) is None


def test_the_cognito_proxy_signs_in_and_refuses_administrative_calls(site: Site, pool: Any) -> None:
    body = json.dumps(
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": next(iter(pool.client_ids.values())),
            "AuthParameters": {"USERNAME": EMAIL, "PASSWORD": PASSWORD},
        }
    ).encode()
    target = [("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")]
    answer = site.serve("POST", "/cognito/", target, body)
    assert answer is not None and answer[0] == 200
    assert "AccessToken" in json.loads(answer[2])["AuthenticationResult"]
    wrong = site.serve("POST", "/cognito/", target, body.replace(PASSWORD.encode(), b"wrong-password"))
    assert wrong is not None and wrong[0] == 400
    assert json.loads(wrong[2])["__type"] == "NotAuthorizedException"
    admin = [("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminCreateUser")]
    refused = site.serve("POST", "/cognito/", admin, b"{}")
    assert refused is not None and refused[0] == 403
    other_service = [("X-Amz-Target", "DynamoDB_20120810.Scan")]
    refused = site.serve("POST", "/cognito/", other_service, b"{}")
    assert refused is not None and refused[0] == 403
