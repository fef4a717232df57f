"""The one retry policy: jitter bounds, Retry-After as seconds or an HTTP date with a cap, the deadline."""

import random

import pytest

from aegis_core.base.http_deadline import Deadline
from aegis_core.base.retry import Backoff, parse_retry_after, past_deadline

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_jitter_fraction_bounds_the_pause_below_the_exponential_step() -> None:
    backoff = Backoff(base_s=1.0, max_s=8.0, jitter=0.25, rng=random.Random(3))
    for retry, step in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        pauses = [backoff.delay(retry) for _ in range(200)]
        assert all(0.75 * step <= p <= step for p in pauses), retry
        assert len(set(pauses)) > 100
    assert Backoff(base_s=0.5, max_s=8.0, jitter=0.0).delay(2) == 2.0


def test_retry_after_replaces_the_drawn_pause() -> None:
    assert Backoff(base_s=4.0, jitter=0.0).delay(3, retry_after=0.25) == 0.25


def test_jitter_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="jitter must be a fraction between 0 and 1"):
        Backoff(jitter=1.5)


@pytest.mark.parametrize(
    ("header", "cap", "seconds"),
    [
        ("2", 30.0, 2.0),
        ("86400", 30.0, 30.0),
        ("Thu, 01 Jan 2026 00:00:10 GMT", 30.0, 10.0),
        ("Thu, 01 Jan 2026 01:00:00 GMT", 30.0, 30.0),
        ("-5", 30.0, 0.0),
        ("soon", 30.0, None),
    ],
)
def test_retry_after_is_read_and_capped_by_the_caller(header: str, cap: float, seconds: float | None) -> None:
    assert parse_retry_after(header, now=lambda: NOW, cap=cap) == seconds


def test_a_pause_that_spends_the_deadline_is_not_taken() -> None:
    clock = [0.0]
    deadline = Deadline(10.0, clock=lambda: clock[0])
    assert not past_deadline(9.0, deadline)
    clock[0] = 2.0
    assert past_deadline(8.0, deadline)
    assert not past_deadline(1e9, None)
