"""The token keeper runbook's observation acceptance criteria, and its "24 h clean" cutover rule.

The runbook accepts a keeper after 24 hours of parallel running in which: the cache file's mtime
advanced on the keeper's cadence ("compare with the previous value: it should increase by about
interval_secs each observation"), ``issued_at`` increased monotonically, and no ``invalid_grant``
was logged. Here each keeper step is compared with the previous recorded one:

- ``cadence``: the cache mtime advanced by at most CADENCE + SLACK since the previous step (a keeper
  that stopped writing for longer fails, whatever happened in between); a step that left the file
  untouched (token still valid) compares the mtime with the previous one only for going backwards;
- ``issued_at_increasing``: a refresh produced an ``issued_at`` strictly greater than the previous
  step's, and no step ever found an older token in the cache than the previous one (a stale copy
  or a second keeper's late write);
- ``no_invalid_grant``: no refresh between the previous step and this one was refused with
  ``invalid_grant``.

``clean_since`` carries the moment since which every step passed all three: it is kept from the
previous step while they pass and restarts at this step when one fails. "Clean for 24 h" (the
cutover gate) is ``now - clean_since >= 24 h``. Pure: times come in, verdicts go out.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CADENCE = "cadence"
ISSUED_AT_INCREASING = "issued_at_increasing"
NO_INVALID_GRANT = "no_invalid_grant"
CRITERIA = (CADENCE, ISSUED_AT_INCREASING, NO_INVALID_GRANT)
CLEAN_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class KeeperStep:
    """One recorded keeper step: when it ran, the token it left, the cache file's mtime."""

    checked_at: dt.datetime
    issued_at: dt.datetime
    cache_mtime: dt.datetime | None
    refreshed: bool
    clean_since: dt.datetime | None = None


@dataclass(frozen=True)
class Verdict:
    criterion: str
    passed: bool
    description: str


@dataclass(frozen=True)
class Readiness:
    clean_since: dt.datetime
    clean_for: dt.timedelta
    window: dt.timedelta

    @property
    def ready(self) -> bool:
        return self.clean_for >= self.window

    def describe(self) -> str:
        hours = self.clean_for.total_seconds() / 3600
        if self.ready:
            return f"clean for {hours:.1f} h (since {self.clean_since.isoformat()}): the cutover gate is met"
        left = (self.window - self.clean_for).total_seconds() / 3600
        return f"clean for {hours:.1f} h (since {self.clean_since.isoformat()}); {left:.1f} h to go"


def cache_mtime(path: Path | str) -> dt.datetime | None:
    """The cache file's modification time (UTC), or None when it cannot be read."""
    try:
        return dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.UTC)
    except OSError:
        return None


def criteria(
    previous: KeeperStep | None,
    current: KeeperStep,
    invalid_grants: Iterable[dt.datetime],
    max_interval: dt.timedelta,
) -> list[Verdict]:
    """The three criteria for ``current`` against ``previous`` (None: the first recorded step)."""
    return [
        _cadence(previous, current, max_interval),
        _issued_at(previous, current),
        _invalid_grant(previous, current, sorted(invalid_grants)),
    ]


def readiness(
    previous: KeeperStep | None,
    now: dt.datetime,
    verdicts: Iterable[Verdict],
    window: dt.timedelta = CLEAN_WINDOW,
) -> Readiness:
    """Since when the keeper has been clean, as of ``now`` (this step)."""
    clean = all(v.passed for v in verdicts)
    since = previous.clean_since if clean and previous is not None and previous.clean_since else now
    if not clean:
        since = now
    return Readiness(since, now - since, window)


def _cadence(previous: KeeperStep | None, current: KeeperStep, max_interval: dt.timedelta) -> Verdict:
    if current.cache_mtime is None:
        return Verdict(CADENCE, False, "the cache file's mtime cannot be read")
    if previous is None or previous.cache_mtime is None:
        return Verdict(CADENCE, True, f"first observation: cache mtime {current.cache_mtime.isoformat()}")
    step = current.cache_mtime - previous.cache_mtime
    seconds = step.total_seconds()
    if seconds < 0:
        return Verdict(
            CADENCE,
            False,
            f"cache mtime went backwards by {-seconds:.0f}s ({previous.cache_mtime.isoformat()} → "
            f"{current.cache_mtime.isoformat()}): the file was replaced by an older copy",
        )
    if step > max_interval:
        return Verdict(
            CADENCE,
            False,
            f"cache mtime advanced by {seconds:.0f}s since the previous step (at most "
            f"{max_interval.total_seconds():.0f}s): the keeper did not write on its cadence",
        )
    return Verdict(
        CADENCE, True, f"cache mtime advanced by {seconds:.0f}s (at most {max_interval.total_seconds():.0f}s)"
    )


def _issued_at(previous: KeeperStep | None, current: KeeperStep) -> Verdict:
    if previous is None:
        return Verdict(
            ISSUED_AT_INCREASING, True, f"first observation: issued_at {current.issued_at.isoformat()}"
        )
    before, now = previous.issued_at.isoformat(), current.issued_at.isoformat()
    if current.refreshed and current.issued_at <= previous.issued_at:
        return Verdict(
            ISSUED_AT_INCREASING, False, f"a refresh left issued_at {now}, not after the previous {before}"
        )
    if current.issued_at < previous.issued_at:
        return Verdict(
            ISSUED_AT_INCREASING,
            False,
            f"issued_at went backwards: {before} → {now} (an older token in the cache)",
        )
    return Verdict(ISSUED_AT_INCREASING, True, f"issued_at {before} → {now}")


def _invalid_grant(previous: KeeperStep | None, current: KeeperStep, refused: list[dt.datetime]) -> Verdict:
    since = previous.checked_at if previous is not None else None
    hits = [t for t in refused if (since is None or t > since) and t <= current.checked_at]
    if hits:
        return Verdict(
            NO_INVALID_GRANT,
            False,
            f"{len(hits)} refresh(es) refused with invalid_grant since the previous step "
            f"(last at {hits[-1].isoformat()}): a person had to re-authorise",
        )
    return Verdict(NO_INVALID_GRANT, True, "no invalid_grant since the previous step")
