"""Shared fixtures: the fake Saxo token endpoint, an injectable clock, cache files and fast clients."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aegis_core.ops.saxo import RetryPolicy, SaxoTokenClient
from tests.fakes.saxo import FakeSaxoTokenServer

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 10, 13, 30, tzinfo=UTC)  # a Monday, 09:30 New York


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def saxo() -> Iterator[FakeSaxoTokenServer]:
    with FakeSaxoTokenServer() as server:
        yield server


# Quick retries so the failure paths stay fast; three attempts in total.
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.02)


@pytest.fixture
def make_client(saxo: FakeSaxoTokenServer, clock: FakeClock) -> Callable[..., SaxoTokenClient]:
    def make(**overrides: Any) -> SaxoTokenClient:
        options: dict[str, Any] = {"token_url": saxo.url, "timeout": 0.3, "retry": FAST_RETRY, "clock": clock}
        options.update(overrides)
        return SaxoTokenClient(saxo.app_key, saxo.app_secret, **options)

    return make


def write_cache(
    path: Path,
    *,
    refresh_token: str,
    issued_at: Any,
    access_token: str = "cached-access-token-0123456789",
    expires_in: int = 1200,
    refresh_token_expires_in: int = 3600,
    **extra: Any,
) -> bytes:
    """Write a cache file the way the other keepers do; returns its bytes for later comparison."""
    doc = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": refresh_token,
        "refresh_token_expires_in": refresh_token_expires_in,
        "issued_at": issued_at,
        **extra,
    }
    data = json.dumps(doc).encode()
    path.write_bytes(data)
    path.chmod(0o600)
    return data


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "tokens" / "saxobank_tokens_live.json"


@pytest.fixture
def due_cache(cache_path: Path, saxo: FakeSaxoTokenServer, clock: FakeClock) -> bytes:
    """A cache whose access token expired a minute ago at ``clock`` (refresh token still valid)."""
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    return write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=int(clock().timestamp()) - 1260
    )
