"""A requests-per-second ceiling shared by every request of one client.

A token bucket in its scheduling form (GCRA): each caller reserves the next free send time and
sleeps until then. No lock is needed: reserving happens between two awaits on one event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """At most ``burst + rate * T`` acquisitions in any window of ``T`` seconds.

    ``rate`` <= 0 (or ``inf``) disables the ceiling. ``burst`` defaults to 1: requests are spaced
    evenly, so the ceiling holds over any window, not just on average.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate = rate
        self._interval = 1.0 / rate if 0 < rate < float("inf") else 0.0
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._tat = clock()  # theoretical arrival time of the next acquisition

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited."""
        if not self._interval:
            return 0.0
        now = self._clock()
        tat = max(self._tat, now)
        self._tat = tat + self._interval
        wait = tat - self._tolerance - now
        if wait > 0:
            await self._sleep(wait)
            return wait
        return 0.0
