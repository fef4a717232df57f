"""No token or client secret in logs, exception messages, reprs, outcomes or metadata."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from aegis_core.ops.saxo import (
    SaxoTokenClient,
    TokenRefreshError,
    check_token,
    load_token_cache,
    refresh_if_needed,
)
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError, ServerError, Stall, Success

from .conftest import FakeClock, write_cache

MakeClient = Callable[..., SaxoTokenClient]


def test_every_path_keeps_secrets_out_of_sight(
    saxo: FakeSaxoTokenServer,
    make_client: MakeClient,
    clock: FakeClock,
    cache_path: Path,
    due_cache: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, httpx and httpcore included
    client = make_client()
    seen: list[str] = [repr(client), repr(load_token_cache(cache_path))]
    saxo.script(
        ServerError(500),
        Success(status=201),  # refreshed after a retry
        OAuthError("invalid_grant"),
        Stall(),
        Stall(),
        Stall(),
        Success(drop=("refresh_token",)),
    )
    for _ in range(4):
        outcome = refresh_if_needed(cache_path, client, clock=clock, force=True)
        seen += [repr(outcome), str(outcome.metadata()), outcome.message]
    report = check_token(cache_path, clock=clock)
    seen += [repr(report), str(report.metadata())]
    # Raised errors, directly from the client.
    for reply in (OAuthError("invalid_grant"), Success(drop=("access_token",))):
        saxo.script(reply)
        with pytest.raises(TokenRefreshError) as info:
            client.refresh(load_token_cache(cache_path).refresh_token)
        seen += [str(info.value), repr(info.value), repr(info.value.args)]
    with pytest.raises(TokenRefreshError) as info:
        client.refresh(SecretStr("unknown-refresh-token-xyz"))
    seen += [str(info.value), repr(info.value)]

    assert len(saxo.calls) >= 8  # the scenarios really ran
    secrets = [*saxo.secret_values(), "cached-access-token-0123456789", "unknown-refresh-token-xyz"]
    haystack = "\n".join([*seen, caplog.text, *(str(r.args) for r in caplog.records)])
    assert "Manual re-authorization required" in haystack and "HTTP 500" in haystack
    for secret in secrets:
        assert secret not in haystack, f"a secret leaked: {secret[:12]}…"


def test_invalid_cache_errors_do_not_echo_tokens(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    write_cache(path, refresh_token="refresh-value-0xfeed", issued_at="not-a-time", expires_in="soon")  # type: ignore[arg-type]
    outcome = refresh_if_needed(path, SaxoTokenClient("k", "s"))
    assert outcome.kind == "failed_terminal" and str(path) in outcome.message
    assert "refresh-value-0xfeed" not in outcome.message + repr(outcome)
