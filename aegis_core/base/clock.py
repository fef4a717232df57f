"""The one clock: every asset, check, sensor, schedule helper and command asks it for "now".

Production passes ``wall_clock``; a test or a replay passes its own callable (a fixed or moving
time) through the same door, so no run tag, resource config or environment variable can move the
time of a production run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]
"""Returns the current time as an aware datetime."""


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_clock(clock: Clock) -> dt.datetime:
    """``clock()``, refused when naive: every decision needs an aware time."""
    now = clock()
    if now.tzinfo is None:
        raise ValueError(f"the clock returned a naive time {now.isoformat()}; it must be aware")
    return now


def fixed_clock(at: dt.datetime) -> Clock:
    """A clock that always says ``at`` (tests, replays)."""
    read_clock(lambda: at)
    return lambda: at
