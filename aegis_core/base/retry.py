"""The one retry policy of the project's HTTP clients: backoff with jitter, ``Retry-After`` with a cap,
a total deadline.

Each client keeps only what is its own: which answers and exceptions are worth another attempt, and
how many attempts it makes. The waiting is decided here:

- the pause before retry ``n`` (0-based) is drawn from ``[d * (1 - jitter), d]`` with
  ``d = min(max_s, base_s * 2**n)``, so two clients never retry in lock-step;
- a server's ``Retry-After`` (delta-seconds or an HTTP date) replaces the drawn pause, capped so one
  bad header cannot park a caller for hours;
- a pause that would end at or past the caller's total deadline is not taken: the caller fails now.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aegis_core.base.http_deadline import Deadline

# A server asking for more than this is treated as asking for this (an intraday slot lasts 15 minutes).
MAX_RETRY_AFTER_S = 300.0


def parse_retry_after(
    value: str | None, *, now: Callable[[], float] = time.time, cap: float = MAX_RETRY_AFTER_S
) -> float | None:
    """``Retry-After`` as seconds to wait, in ``[0, cap]``: delta-seconds or an HTTP date; None if
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT by definition
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


@dataclass
class Backoff:
    """Exponential backoff with jitter: a pause in ``[d * (1 - jitter), d]``, d = min(max, base * 2**retry).

    The default ``jitter`` of 0.5 is "equal jitter" (``[d/2, d]``); 0 gives the bare exponential step.
    """

    base_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be a fraction between 0 and 1 (got {self.jitter})")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based); ``Retry-After`` wins when given."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_s, self.base_s * (2.0**retry))
        return ceiling - self.rng.uniform(0, ceiling * self.jitter)


def past_deadline(pause: float, deadline: Deadline | None) -> bool:
    """True when waiting ``pause`` seconds would spend the caller's whole remaining ``deadline``."""
    return deadline is not None and pause >= deadline.remaining()
