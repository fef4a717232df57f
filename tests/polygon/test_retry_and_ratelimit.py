"""Retry-After parsing, backoff bounds and the token bucket, on an injected clock."""

from __future__ import annotations

import asyncio
import itertools
import random

import httpx
import pytest

from aegis_core.base.retry import MAX_RETRY_AFTER_S, Backoff, parse_retry_after
from aegis_core.polygon.ratelimit import TokenBucket
from aegis_core.polygon.retry import retry_reason_for_exception, retry_reason_for_status

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-4", 0.0),
        ("Thu, 01 Jan 2026 00:00:07 GMT", 7.0),
        ("Wed, 31 Dec 2025 23:59:00 GMT", 0.0),  # already past
        ("86400", MAX_RETRY_AFTER_S),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=lambda: NOW) == seconds


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    backoff = Backoff(base_s=0.5, max_s=4.0, rng=random.Random(7))
    for retry, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (9, 4.0)]:
        delays = [backoff.delay(retry) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), retry
        assert len(set(delays)) > 100  # jittered, not a fixed step
    assert backoff.delay(0, retry_after=2.5) == 2.5


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "429"), (500, "5xx"), (503, "5xx"), (408, "timeout"), (404, None), (400, None)],
)
def test_retryable_statuses(status: int, reason: str | None) -> None:
    assert retry_reason_for_status(status) == reason


def test_retryable_exceptions() -> None:
    assert retry_reason_for_exception(httpx.ReadTimeout("x"), reading_body=False) == "timeout"
    assert retry_reason_for_exception(TimeoutError(), reading_body=True) == "timeout"
    assert retry_reason_for_exception(httpx.ConnectError("x"), reading_body=False) == "connect"
    assert retry_reason_for_exception(httpx.RemoteProtocolError("x"), reading_body=False) == "disconnect"
    assert retry_reason_for_exception(httpx.RemoteProtocolError("x"), reading_body=True) == "truncated"
    assert retry_reason_for_exception(httpx.UnsupportedProtocol("x"), reading_body=False) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sent: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_token_bucket_spaces_requests_evenly() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock, sleep=clock.sleep)

    async def run() -> list[float]:
        times = []
        for _ in range(21):
            await bucket.acquire()
            times.append(clock.now)
        return times

    times = asyncio.run(run())
    assert times[0] == 100.0
    assert times[-1] == pytest.approx(102.0)  # 21 requests at 10/s take 2 s: never more than the rate
    assert all(b - a == pytest.approx(0.1) for a, b in itertools.pairwise(times))


def test_token_bucket_burst_and_unlimited() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=3, clock=clock, sleep=clock.sleep)

    async def run(b: TokenBucket, n: int) -> list[float]:
        out = []
        for _ in range(n):
            await b.acquire()
            out.append(clock.now)
        return out

    assert asyncio.run(run(bucket, 5)) == pytest.approx([100.0, 100.0, 100.0, 100.25, 100.5])
    unlimited = TokenBucket(0, clock=clock, sleep=clock.sleep)
    assert asyncio.run(run(unlimited, 100)) == [100.5] * 100
