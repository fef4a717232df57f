"""The clock as the ``clock`` resource of the code location (see ``aegis_core.base.clock``).

Every domain's definitions pass the same ``wall_clock`` object, so their Definitions merge without a
conflict; tests build the definitions with their own clock.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_core.base.clock import Clock, read_clock, wall_clock

CLOCK_KEY = "clock"
ClockParam = dg.ResourceParam[Clock]

__all__ = ["CLOCK_KEY", "Clock", "ClockParam", "now", "wall_clock"]


def now(clock: Clock) -> dt.datetime:
    """The clock's time, or a run failure that says what is wrong with the clock."""
    try:
        return read_clock(clock)
    except ValueError as exc:
        raise dg.Failure(f"clock resource: {exc}") from None
