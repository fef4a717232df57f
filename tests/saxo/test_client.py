"""The refresh client against the fake Saxo token endpoint on loopback."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from aegis_core.ops.saxo import (
    MalformedTokenResponse,
    ReauthorizationRequired,
    RefreshRejected,
    RetryPolicy,
    SaxoTokenClient,
    TransientRefreshError,
)
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError, RawBody, ServerError, Stall, Success

from .conftest import FakeClock

MakeClient = Callable[..., SaxoTokenClient]


@pytest.mark.parametrize("status", [200, 201])
def test_any_2xx_is_success(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, status: int
) -> None:
    refresh = saxo.mint_refresh_token()
    saxo.script(Success(status=status))
    result = make_client().refresh(SecretStr(refresh))
    issued = saxo.issued[-1]
    assert result.status == status and result.attempts == 1
    assert result.token.access_token.get_secret_value() == issued["access_token"]
    assert result.token.refresh_token.get_secret_value() == issued["refresh_token"]
    assert result.token.issued_at == clock().timestamp()
    assert result.token.expires_at == clock() + dt.timedelta(seconds=1200)
    assert result.token.refresh_expires_at == clock() + dt.timedelta(seconds=3600)
    (call,) = saxo.calls
    # What Saxo checks: Basic client auth and the refresh grant as a form.
    assert call.authorized and call.content_type.startswith("application/x-www-form-urlencoded")
    assert call.form == {"grant_type": "refresh_token", "refresh_token": refresh}
    assert call.path == "/token"


def test_negative_expires_in_is_accepted(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock
) -> None:
    saxo.script(Success(status=201, expires_in=-5))
    result = make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert result.token.expires_in == -5
    assert result.token.expires_at < clock()


def test_invalid_grant_is_terminal_and_not_retried(
    saxo: FakeSaxoTokenServer, make_client: MakeClient
) -> None:
    saxo.script(OAuthError("invalid_grant"))
    with pytest.raises(ReauthorizationRequired) as info:
        make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert len(saxo.calls) == 1
    err = info.value
    assert str(err).startswith("Manual re-authorization required (invalid_grant)")
    assert err.terminal and err.error_code == "invalid_grant" and err.status == 400 and err.attempts == 1
    assert saxo.url in str(err)


def test_wrong_client_secret_is_invalid_client(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    client = SaxoTokenClient(
        saxo.app_key, "not-the-secret", token_url=saxo.url, retry=RetryPolicy(max_attempts=3)
    )
    with pytest.raises(ReauthorizationRequired, match=r"Manual re-authorization required \(invalid_client\)"):
        client.refresh(SecretStr(saxo.mint_refresh_token()))
    assert [c.authorized for c in saxo.calls] == [False]


@pytest.mark.parametrize("code", ["unauthorized_client", "invalid_client", "invalid_request"])
def test_other_oauth_errors_on_400_and_401_are_terminal(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, code: str
) -> None:
    saxo.script(OAuthError(code, status=401))
    with pytest.raises(ReauthorizationRequired) as info:
        make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert info.value.error_code == code and len(saxo.calls) == 1


def test_unknown_refresh_token_is_invalid_grant(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    with pytest.raises(ReauthorizationRequired, match="invalid_grant"):
        make_client().refresh(SecretStr("revoked-refresh-token"))


def test_used_refresh_token_stops_working(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    # The fake rotates like Saxo, so keeping the old refresh token is caught by the tests.
    client, first = make_client(), saxo.mint_refresh_token()
    second = client.refresh(SecretStr(first)).token.refresh_token
    with pytest.raises(ReauthorizationRequired):
        client.refresh(SecretStr(first))
    assert client.refresh(second).status == 200


def test_5xx_then_success_is_retried(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    saxo.script(ServerError(500), ServerError(503), Success(status=201))
    result = make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert result.attempts == 3 and result.status == 201
    assert [c.status for c in saxo.calls] == [500, 503, 201]


def test_5xx_exhausts_bounded_retries(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    saxo.script(*[ServerError(502)] * 5)
    with pytest.raises(TransientRefreshError) as info:
        make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert len(saxo.calls) == 3
    assert not info.value.terminal and info.value.attempts == 3 and info.value.status == 502
    assert "failed after 3 attempt(s): HTTP 502" in str(info.value)


def test_timeout_is_retried_a_bounded_number_of_times(
    saxo: FakeSaxoTokenServer, make_client: MakeClient
) -> None:
    saxo.script(Stall(), Stall(), Stall(), Success())
    with pytest.raises(TransientRefreshError, match=r"failed after 3 attempt\(s\): timed out after 0.3 s"):
        make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert [c.status for c in saxo.calls] == [None, None, None]


def test_timeout_then_success(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    saxo.script(Stall(), Success())
    assert make_client().refresh(SecretStr(saxo.mint_refresh_token())).attempts == 2


def test_connection_refused_is_transient(clock: FakeClock) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = SaxoTokenClient(
        "k",
        "s",
        token_url=f"http://127.0.0.1:{port}/token",
        retry=RetryPolicy(max_attempts=2, backoff_initial=0.01),
        clock=clock,
    )
    with pytest.raises(TransientRefreshError, match=r"connection failed \(ConnectError\)"):
        client.refresh(SecretStr("r"))


def test_backoff_grows_and_honours_retry_after(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    pauses: list[float] = []
    saxo.script(ServerError(503), ServerError(429, retry_after="2"), Success())
    policy = RetryPolicy(max_attempts=4, backoff_initial=0.5, backoff_max=8, jitter=0.0, retry_after_max=30)
    make_client(retry=policy, sleep=pauses.append).refresh(SecretStr(saxo.mint_refresh_token()))
    assert pauses == [0.5, 2.0]


@pytest.mark.parametrize(
    "reply",
    [
        Success(status=200, drop=("access_token",)),
        Success(status=201, drop=("refresh_token", "expires_in")),
        RawBody(200, b"<html>maintenance</html>", "text/html"),
        RawBody(200, b'["not", "an", "object"]'),
    ],
)
def test_malformed_success_is_an_error_and_not_retried(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, reply: Success | RawBody
) -> None:
    saxo.script(reply)
    with pytest.raises(MalformedTokenResponse, match=r"answered HTTP 20[01]") as info:
        make_client().refresh(SecretStr(saxo.mint_refresh_token()))
    assert len(saxo.calls) == 1 and not info.value.terminal
    if isinstance(reply, Success):
        assert all(name in str(info.value) for name in reply.drop)


def test_4xx_without_oauth_body_is_a_rejection(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    client = make_client(token_url=saxo.url.replace("/token", "/wrong-path"))
    with pytest.raises(RefreshRejected, match=r"HTTP 404 .*check the token URL") as info:
        client.refresh(SecretStr(saxo.mint_refresh_token()))
    assert info.value.terminal and len(saxo.calls) == 1


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://live.logonvalidation.net/token", "must use https"),
        ("https://key:secret@live.logonvalidation.net/token", "must not carry credentials"),
    ],
)
def test_unsafe_token_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        SaxoTokenClient("k", "s", token_url=url)


def test_client_repr_hides_credentials(saxo: FakeSaxoTokenServer, make_client: MakeClient) -> None:
    text = repr(make_client()) + str(make_client())
    assert saxo.app_secret not in text and saxo.app_key not in text
    with pytest.raises(ValueError, match="app_secret is empty"):
        SaxoTokenClient("k", "", token_url=saxo.url)
