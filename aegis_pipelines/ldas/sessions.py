"""What every daily schedule of the archive shares: the time zone, the trigger tag, the session test."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_core.skip import Skip, session_or_skip

TIMEZONE = "America/New_York"
TRIGGER_TAG = "aegis/trigger"


def skip_reason(skip: Skip) -> dg.SkipReason:
    """A domain helper's ``Skip`` as what a schedule or sensor returns."""
    return dg.SkipReason(skip.reason)


def session_key_or_skip(tick: dt.datetime) -> str | dg.SkipReason:
    """The session key of a daily schedule's tick, or the reason the day has no session."""
    session = session_or_skip(tick)
    return skip_reason(session) if isinstance(session, Skip) else session.key
