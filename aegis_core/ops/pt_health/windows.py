"""Evaluation windows of a session: what the monitor must cover, and what it missed.

The old scheduler silently dropped runs; here the session (plus buffers around the open and the
close) is cut into fixed windows with stable keys, so a sensor can ask "which window is now?"
cheaply and self-monitoring can list the windows that ended without an evaluation.

The default span is the runbook's: it watches 13:00–21:59 UTC, which in daylight-saving time is
30 minutes before the open to two hours after the close; here the buffers stay relative to the
NYSE session, so holidays and early closes (13:00 → until 15:00) are followed, and winter keeps the
same market-relative span. The grid is anchored at the open: with 10-minute windows, 5 minutes
before the open and 10 after the close (narrow buffers, for the example), a full day is
09:25–09:30, 09:30–09:40, …, 15:50–16:00, 16:00–16:10 (41 windows) and an
early close ends with 12:50–13:00, 13:00–13:10 (23 windows). Edge windows are clipped to the span.
Keys are the window start in New York time, ``YYYY-MM-DDTHH:MM``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from aegis_core.base.skip import Skip
from aegis_core.calendar import NY, NyseCalendar, Session, not_a_session, nyse

KEY_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class WindowPolicy:
    length: dt.timedelta = dt.timedelta(minutes=10)
    before_open: dt.timedelta = dt.timedelta(minutes=30)
    after_close: dt.timedelta = dt.timedelta(minutes=120)

    def __post_init__(self) -> None:
        if self.length <= dt.timedelta(0):
            raise ValueError(f"window length must be positive, got {self.length}")
        if self.before_open < dt.timedelta(0) or self.after_close < dt.timedelta(0):
            raise ValueError(
                f"window buffers must not be negative, got before_open={self.before_open}, "
                f"after_close={self.after_close}"
            )


@dataclass(frozen=True, order=True)
class Window:
    start: dt.datetime  # aware, New York time
    end: dt.datetime

    @property
    def key(self) -> str:
        return self.start.astimezone(NY).strftime(KEY_FORMAT)

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def session_windows(session: Session, policy: WindowPolicy | None = None) -> list[Window]:
    """The session's windows, in order, covering [open - before_open, close + after_close)."""
    policy = policy or WindowPolicy()
    span_start, span_end = session.open - policy.before_open, session.close + policy.after_close
    # Step back from the open to the first grid point at or before the span start.
    steps_back = -(-(session.open - span_start) // policy.length)
    start = session.open - steps_back * policy.length
    out = []
    while start < span_end:
        end = start + policy.length
        lo, hi = max(start, span_start), min(end, span_end)
        if lo < hi:
            out.append(Window(lo, hi))
        start = end
    return out


def window_at(
    moment: dt.datetime, policy: WindowPolicy | None = None, calendar: NyseCalendar | None = None
) -> Window | None:
    """The window containing ``moment`` (aware), or None outside the monitored span of any session."""
    session = (calendar or nyse()).session(_local(moment).date())
    if session is None:
        return None
    return next((w for w in session_windows(session, policy) if w.contains(moment)), None)


def missed_windows(
    session: Session,
    evaluated: Collection[str],
    now: dt.datetime,
    policy: WindowPolicy | None = None,
    grace: dt.timedelta = dt.timedelta(0),
) -> list[Window]:
    """Windows of ``session`` that ended at least ``grace`` before ``now`` with no evaluated key.

    The window still in progress is never "missed": it may yet be evaluated.
    """
    _local(now)
    done = set(evaluated)
    return [w for w in session_windows(session, policy) if w.end + grace <= now and w.key not in done]


def parse_window_key(key: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(key, KEY_FORMAT).replace(tzinfo=NY)
    except ValueError:
        raise ValueError(
            f"invalid window key {key!r}: expected YYYY-MM-DDTHH:MM (e.g. 2026-06-01T09:30)"
        ) from None


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given; windows need aware times")
    return moment.astimezone(NY)


def window_request(now: dt.datetime, policy: WindowPolicy, last_requested: str | None) -> Window | Skip:
    """The window to request at ``now``, or the reason there is none."""
    window = window_at(now, policy)
    if window is not None:
        return Skip(f"window {window.key} already requested") if window.key == last_requested else window
    local = now.astimezone(NY)
    session = nyse().session(local.date())
    if session is None:
        return Skip(not_a_session(local.date()))
    windows = session_windows(session, policy)
    return Skip(
        f"{local:%H:%M} ET is outside the monitored span {windows[0].start:%H:%M}–{windows[-1].end:%H:%M} ET "
        f"of the {session.key} session"
    )
