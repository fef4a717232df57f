"""The shared total deadline and size cap, against hostile servers on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from aegis_core.base.endpoint_url import EndpointURLError, check_endpoint_url
from aegis_core.base.http_deadline import (
    Deadline,
    DeadlineExceeded,
    ResponseTooLarge,
    aread_bounded,
    get_bounded,
)
from tests.fakes.hostile import HostileServer, timed

BUDGET = 1.5
SLACK = 1.5  # scheduling, thread start-up, one drip interval


@pytest.mark.parametrize("mode", ["drip", "blackhole"])
def test_a_slow_or_silent_server_is_cut_at_the_total_deadline(mode: str) -> None:
    with HostileServer(mode, interval=0.2) as server, httpx.Client() as client:
        # Per-read timeouts alone (10 s) would let the drip run for ~2.3 days.
        out, seconds = timed(
            get_bounded, client, server.url, deadline=Deadline(BUDGET), max_bytes=1 << 20, what="the probe"
        )
    assert isinstance(out, DeadlineExceeded)
    assert str(out) == "the probe did not answer within 1.5 s"
    assert seconds < BUDGET + SLACK


def test_a_body_past_the_cap_is_refused() -> None:
    with HostileServer("huge", size=4 << 20) as server, httpx.Client() as client:
        out, _ = timed(get_bounded, client, server.url, deadline=Deadline(10), max_bytes=1 << 20, what="x")
    assert isinstance(out, ResponseTooLarge)
    assert str(out) == "x sent more than 1048576 bytes (the size cap)"


def test_a_declared_length_past_the_cap_is_refused_before_reading() -> None:
    with HostileServer("declared", size=10**12) as server, httpx.Client() as client:
        out, seconds = timed(get_bounded, client, server.url, deadline=Deadline(10), max_bytes=1000, what="x")
    assert isinstance(out, ResponseTooLarge)
    assert "answered 1000000000000 bytes, over the 1000-byte cap" in str(out)
    assert seconds < 1


def test_async_read_is_bounded_too() -> None:

    async def drip() -> Exception:
        with HostileServer("drip", interval=0.1) as server:
            async with httpx.AsyncClient() as client, client.stream("GET", server.url) as response:
                try:
                    await aread_bounded(response, Deadline(1.0), 1 << 20, "async probe")
                except DeadlineExceeded as exc:
                    return exc
        raise AssertionError("no deadline")

    exc, seconds = timed(asyncio.run, drip())
    assert str(exc) == "async probe did not answer within 1 s"
    assert seconds < 1 + SLACK


@pytest.mark.parametrize("budget", [0, -1, float("nan"), float("inf")])
def test_a_deadline_needs_a_positive_finite_budget(budget: float) -> None:
    with pytest.raises(ValueError, match="positive finite"):
        Deadline(budget)


def test_deadline_on_an_injected_clock() -> None:
    now = [100.0]
    deadline = Deadline(5, clock=lambda: now[0])
    assert deadline.remaining() == 5 and deadline.socket_timeout(2) == 2
    now[0] = 104.0
    assert deadline.socket_timeout(2) == pytest.approx(1)
    now[0] = 106.0
    assert deadline.expired
    with pytest.raises(DeadlineExceeded, match=r"^dashboard did not answer within 5 s$"):
        deadline.check("dashboard")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.massive.com",
        "http://127.0.0.1:9/x",
        "http://localhost:8080",
        "http://[::1]:80/",
        "http://127.8.0.1",
    ],
)
def test_endpoint_urls_accepted(url: str) -> None:
    assert check_endpoint_url(url, "X") == url


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("notaurl", "X must be an absolute https://host/... URL (scheme none, host missing)"),
        ("", "X is empty"),
        ("ftp://host/x", "scheme 'ftp'"),
        ("http://api.polygon.io", "X must use https: plain http to api.polygon.io"),
        ("http://10.0.0.5:8080/status", "plain http to 10.0.0.5"),
        ("https://user:pw@host/", "X must not carry credentials"),
        ("https://[::1/", "X is not a valid URL"),
    ],
)
def test_endpoint_urls_refused_by_name(url: str, complaint: str) -> None:
    with pytest.raises(EndpointURLError) as caught:
        check_endpoint_url(url, "X")
    assert complaint in str(caught.value)
    assert "pw" not in str(caught.value)
