"""Freshness over a simulated day: the classification table with an injected clock."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import SecretStr

from aegis_core.ops.saxo import DEFAULT_MARGIN, Freshness, TokenCache, assess, classify

from .conftest import T0

UTC = dt.UTC
MIN = 60
HOUR = 3600


def issued(at: dt.datetime = T0, expires_in: int = 1200, refresh_token_expires_in: int = 3600) -> TokenCache:
    return TokenCache(
        access_token=SecretStr("access-secret-value"),
        expires_in=expires_in,
        refresh_token=SecretStr("refresh-secret-value"),
        refresh_token_expires_in=refresh_token_expires_in,
        issued_at=at.timestamp(),
    )


AV, NR, EX = Freshness.ACCESS_VALID, Freshness.NEEDS_REFRESH, Freshness.EXPIRED

# (seconds after issue, expected state) for a 20-minute access / 60-minute refresh token, 5-minute margin.
TABLE = [
    (-5 * MIN, AV),  # clock slightly behind the issuer
    (0, AV),
    (10 * MIN, AV),
    (15 * MIN - 1, AV),
    (15 * MIN, NR),  # margin reached
    (20 * MIN - 1, NR),
    (20 * MIN, NR),  # access token expired
    (55 * MIN, NR),
    (60 * MIN - 1, NR),
    (60 * MIN, EX),  # refresh token gone
    (2 * HOUR, EX),
    (24 * HOUR, EX),
]


@pytest.mark.parametrize(("offset", "expected"), TABLE)
def test_classification_table(offset: int, expected: Freshness) -> None:
    now = T0 + dt.timedelta(seconds=offset)
    assert classify(issued(), now, DEFAULT_MARGIN) is expected


def test_table_over_a_simulated_day_minute_by_minute() -> None:
    # Without any refresh, a token issued at the start of the day is valid, then due, then expired,
    # and never goes back.
    token = issued()
    states = [classify(token, T0 + dt.timedelta(minutes=m)) for m in range(24 * 60)]
    assert states[:15] == [AV] * 15
    assert states[15:60] == [NR] * 45
    assert states[60:] == [EX] * (24 * 60 - 60)


@pytest.mark.parametrize(
    ("margin_s", "offset", "expected"),
    [(0, 1199, AV), (0, 1200, NR), (900, 299, AV), (900, 300, NR), (1200, 0, NR)],
)
def test_margin_is_configurable(margin_s: int, offset: int, expected: Freshness) -> None:
    now = T0 + dt.timedelta(seconds=offset)
    assert classify(issued(), now, dt.timedelta(seconds=margin_s)) is expected


def test_negative_expires_in_is_an_already_expired_access_token() -> None:
    report = assess(issued(expires_in=-60), T0, dt.timedelta(0))
    assert report.state is NR and report.reason == "access token expired"
    assert report.expires_at == T0 - dt.timedelta(minutes=1)
    assert report.access_remaining == dt.timedelta(minutes=-1)


def test_refresh_token_lapsing_first_triggers_a_refresh() -> None:
    # If the refresh token would lapse before the access token, refresh while it still works.
    token = issued(expires_in=3600, refresh_token_expires_in=1200)
    assert classify(token, T0 + dt.timedelta(minutes=14)) is AV
    report = assess(token, T0 + dt.timedelta(minutes=16))
    assert report.state is NR and "refresh token" in report.reason
    assert classify(token, T0 + dt.timedelta(minutes=20)) is EX


def test_report_times_and_metadata_carry_no_token() -> None:
    now = T0 + dt.timedelta(minutes=17)
    report = assess(issued(), now)
    assert report.refresh_due_at == T0 + dt.timedelta(minutes=15)
    meta = report.metadata()
    assert meta["freshness"] == "NeedsRefresh"
    assert meta["expires_at"] == "2025-03-10T13:50:00+00:00"
    assert meta["refresh_expires_at"] == "2025-03-10T14:30:00+00:00"
    assert meta["access_remaining_seconds"] == 180.0
    text = repr(report) + repr(meta)
    assert "secret-value" not in text


def test_other_timezones_compare_by_instant() -> None:
    ny = dt.timezone(dt.timedelta(hours=-4))
    assert classify(issued(), (T0 + dt.timedelta(minutes=16)).astimezone(ny)) is NR


def test_naive_now_and_negative_margin_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        classify(issued(), dt.datetime(2025, 3, 10, 13, 30))
    with pytest.raises(ValueError, match="margin"):
        classify(issued(), T0, dt.timedelta(seconds=-1))
