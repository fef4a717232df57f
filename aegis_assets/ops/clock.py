"""The clock the ops assets and sensors read, provided as the ``clock`` resource.

Production definitions provide ``wall_clock``; a test (or a replay) builds the definitions with its own
callable instead, so no run tag or resource config can move the time of a production run. Every
domain passes the same ``wall_clock`` object, so their definitions merge without a conflict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg

CLOCK_KEY = "clock"
Clock = Callable[[], dt.datetime]
"""Returns the current time as an aware datetime."""

ClockParam = dg.ResourceParam[Clock]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def read_clock(clock: Clock) -> dt.datetime:
    """``clock()``, refused when naive: every evaluation needs an aware time."""
    now = clock()
    if now.tzinfo is None:
        raise dg.Failure(f"the clock resource returned a naive time {now.isoformat()}; it must be aware")
    return now
