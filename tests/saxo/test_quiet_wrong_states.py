"""Issue 24: quiet wrong states of the token keeper — a cache issued in the future, a cache owned by
another user, a refresh token that arrives already expired, and plain HTTP behind an https:// URL."""

from __future__ import annotations

import datetime as dt
import http.server
import os
import threading
import time
from collections.abc import Iterator

import pytest

from aegis_core.ops.saxo import Freshness, SaxoTokenClient, check_token, load_token_cache, refresh_if_needed
from aegis_core.ops.saxo.keeper import OutcomeKind
from tests.fakes.saxo import Success

from .conftest import FAST_RETRY, write_cache

NOBODY = 65534


def test_a_cache_issued_thirty_days_ahead_is_not_access_valid(cache_path, saxo, clock):
    cache_path.parent.mkdir(parents=True)
    write_cache(cache_path, refresh_token="r-0123", issued_at=int(clock().timestamp()) + 30 * 86_400)
    report = check_token(cache_path, clock=clock)
    assert report.state is Freshness.NEEDS_REFRESH
    assert "is 30.0 days in the future (more than the 5 min clock skew allowed)" in report.reason


def test_a_small_skew_is_tolerated(cache_path, clock):
    cache_path.parent.mkdir(parents=True)
    write_cache(cache_path, refresh_token="r-0123", issued_at=int(clock().timestamp()) + 120)
    assert check_token(cache_path, clock=clock).state is Freshness.ACCESS_VALID


def test_a_future_cache_is_refreshed_to_a_true_issue_time(cache_path, saxo, clock, make_client):
    cache_path.parent.mkdir(parents=True)
    write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=int(clock().timestamp()) + 30 * 86_400
    )
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.REFRESHED
    assert load_token_cache(cache_path).issued_at == int(clock().timestamp())


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_cache_of_another_user_keeps_its_owner_and_gets_owner_only_mode(
    cache_path, saxo, clock, make_client
):
    """It used to be re-owned to root 0600, and the other user's keeper then got Permission denied."""
    cache_path.parent.mkdir(parents=True)
    write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=int(clock().timestamp()) - 1260
    )
    os.chown(cache_path, NOBODY, NOBODY)
    cache_path.chmod(0o644)
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.REFRESHED, outcome.message
    after = cache_path.stat()
    assert (after.st_uid, after.st_gid, after.st_mode & 0o777) == (NOBODY, NOBODY, 0o600)


def test_a_keeper_that_cannot_keep_the_owner_refuses_before_refreshing(
    cache_path, saxo, clock, make_client, monkeypatch
):
    """Not root and not the owner: refused (terminal, alerted) before Saxo rotates the refresh token."""
    cache_path.parent.mkdir(parents=True)
    write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=int(clock().timestamp()) - 1260
    )
    owner = cache_path.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1000)  # this process as another, unprivileged user
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.FAILED_TERMINAL and outcome.needs_operator
    assert f"belongs to uid {owner} but this keeper runs as uid {owner + 1000}" in outcome.message
    assert saxo.calls == []  # the refresh token was not spent


def test_a_refresh_token_that_arrives_expired_calls_for_a_person(cache_path, saxo, clock, make_client):
    """`refresh_token_expires_in: -5` used to be reported as "refreshed"."""
    cache_path.parent.mkdir(parents=True)
    write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=int(clock().timestamp()) - 1260
    )
    saxo.script(Success(refresh_token_expires_in=-5))
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.EXPIRED and outcome.needs_operator and not outcome.ok
    assert outcome.state is Freshness.EXPIRED
    assert "Manual re-authorization required" in outcome.message
    assert "refresh_token_expires_in=-5: the new refresh token" in outcome.message
    assert load_token_cache(cache_path).refresh_token_expires_in == -5  # saved: the old one is spent


@pytest.fixture
def plain_http() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


def test_plain_http_behind_https_is_one_fast_line(cache_path, plain_http, clock):
    cache_path.parent.mkdir(parents=True)
    write_cache(cache_path, refresh_token="r-0123", issued_at=int(clock().timestamp()) - 1260)
    url = f"https://127.0.0.1:{plain_http}/token"
    client = SaxoTokenClient("k", "s", token_url=url, retry=FAST_RETRY, clock=clock)
    started = time.monotonic()
    outcome = refresh_if_needed(cache_path, client, clock=clock)
    assert time.monotonic() - started < 5
    assert outcome.kind is OutcomeKind.FAILED_TERMINAL and outcome.http_attempts == 1
    assert outcome.message == (
        f"Saxo token endpoint {url}: TLS handshake with https://127.0.0.1:{plain_http} failed: "
        "the server speaks plain HTTP, not HTTPS (check the URL)"
    )


def test_polygon_behind_https_speaking_plain_http_fails_at_once(plain_http):
    import asyncio

    from aegis_core.polygon import PolygonClient
    from aegis_core.polygon.errors import PolygonError

    async def fetch() -> None:
        async with PolygonClient(
            f"https://127.0.0.1:{plain_http}", "pk_test_0123456789", max_retries=6
        ) as client:
            await client.vix(dt.date(2026, 11, 20))

    started = time.monotonic()
    with pytest.raises(
        PolygonError,
        match=r"TLS handshake with https://127\.0\.0\.1:\d+ failed: the server speaks plain HTTP",
    ):
        asyncio.run(fetch())
    assert time.monotonic() - started < 5  # it retried a ConnectError for 75 s


def test_the_dashboard_behind_https_speaking_plain_http(plain_http):
    from aegis_core.ops.pt_health import fetch_status

    result = fetch_status([f"https://127.0.0.1:{plain_http}/status_v3"], timeout=5)
    origin = f"https://127.0.0.1:{plain_http}"
    assert result.failures == (
        f"{origin}/status_v3: TLS handshake with {origin} failed: the server speaks plain HTTP, not HTTPS "
        "(check the URL)",
    )
