"""The token keeper runbook's observation criteria and its "24 h clean" cutover gate, as pure rules."""

from __future__ import annotations

import datetime as dt

import pytest

from aegis_core.ops.saxo.observation import (
    CADENCE,
    CLEAN_WINDOW,
    ISSUED_AT_INCREASING,
    NO_INVALID_GRANT,
    KeeperStep,
    criteria,
    readiness,
)

T0 = dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
MAX = dt.timedelta(seconds=1200)  # cadence 900 s + slack 300 s


def step(
    minute: float, issued: float | None = None, mtime: float | None = None, refreshed: bool = True
) -> KeeperStep:
    at = T0 + minute * MIN
    return KeeperStep(
        checked_at=at,
        issued_at=T0 + (minute if issued is None else issued) * MIN,
        cache_mtime=T0 + (minute if mtime is None else mtime) * MIN,
        refreshed=refreshed,
    )


def verdicts(previous: KeeperStep | None, current: KeeperStep, refused: list[float] = ()) -> dict[str, bool]:
    grants = [T0 + m * MIN for m in refused]
    return {v.criterion: v.passed for v in criteria(previous, current, grants, MAX)}


ALL_PASS = {CADENCE: True, ISSUED_AT_INCREASING: True, NO_INVALID_GRANT: True}


@pytest.mark.parametrize(
    ("previous", "current", "refused", "failed"),
    [
        (None, step(0), [], set()),  # first observation
        (step(0), step(15), [], set()),  # on cadence: 900 s
        (step(0), step(20), [], set()),  # 1200 s: the slack's edge
        (step(0), step(20.5), [], {CADENCE}),  # the keeper did not write for 1230 s
        (step(0), step(5, issued=5, mtime=-10, refreshed=False), [], {CADENCE}),  # mtime went backwards
        (step(0), step(5, issued=0, mtime=0, refreshed=False), [], set()),  # still valid, file untouched
        (step(0), step(15, issued=0), [], {ISSUED_AT_INCREASING}),  # a refresh that did not advance issued_at
        (
            step(15),
            step(20, issued=-30, refreshed=False),
            [],
            {ISSUED_AT_INCREASING},
        ),  # an older token came back
        (step(0), step(15), [7], {NO_INVALID_GRANT}),  # refused in between
        (step(0), step(15), [-5, 16], set()),  # refused before the previous step, or after this one
        (None, step(15), [3], {NO_INVALID_GRANT}),  # first step after a refusal
    ],
)
def test_criteria(
    previous: KeeperStep | None, current: KeeperStep, refused: list[float], failed: set[str]
) -> None:
    assert verdicts(previous, current, refused) == {name: name not in failed for name in ALL_PASS}


def test_failures_say_what_was_seen() -> None:
    (cadence, issued, grant) = criteria(step(0), step(60, issued=-1), [T0 + 30 * MIN], MAX)
    assert "advanced by 3600s" in cadence.description and "at most 1200s" in cadence.description
    assert "went backwards" in issued.description or "not after" in issued.description
    assert "invalid_grant" in grant.description and (T0 + 30 * MIN).isoformat() in grant.description


def test_clean_for_24h_is_a_day_of_steps_that_all_pass_and_a_failure_restarts_it() -> None:
    previous: KeeperStep | None = None
    ready_at = None
    for i in range(0, 24 * 4 + 2):  # every 15 minutes for a little over a day
        current = step(15 * i)
        verdict = criteria(previous, current, [], MAX)
        r = readiness(previous, current.checked_at, verdict)
        if r.ready and ready_at is None:
            ready_at = current.checked_at
        previous = KeeperStep(current.checked_at, current.issued_at, current.cache_mtime, True, r.clean_since)
    assert ready_at == T0 + CLEAN_WINDOW
    assert "the cutover gate is met" in r.describe()

    # An invalid_grant at the next step: clean again only from there.
    late = step(15 * (24 * 4 + 2))
    bad = criteria(previous, late, [late.checked_at - MIN], MAX)
    r = readiness(previous, late.checked_at, bad)
    assert not r.ready and r.clean_since == late.checked_at and "24.0 h to go" in r.describe()
