"""The watchdog's decisions: is the Dagster daemon alive, did each schedule tick when it should have?

The watchdog runs outside the daemon it watches (its own container). It reads what the daemon leaves
in the instance's storage: one heartbeat per daemon thread (scheduler, sensors, run queue, …) and the
ticks of each schedule. This module decides from those observations alone, at an injected ``now``:

- the daemon is **down** when no heartbeat is younger than ``heartbeat_max_age`` (or, once the
  watchdog has waited that long, when none was ever written). One alert per outage: its key is the
  time of the last heartbeat seen, which does not move while the daemon is down.
- a schedule **missed a tick** when its latest expected tick (EOD: 17:15 New York on each NYSE
  session; intraday: each slot start of a session, i.e. market hours) is older than ``tick_grace``
  and the schedule recorded no tick at or after it. Only ticks expected after the watchdog started
  count (it cannot know what was due before), and a schedule an operator stopped is not expected.
  One alert per missed tick (its key names the schedule and the expected time).

Deduplication is the project's ``AlertLedger``; reading the instance is ``aegis_pipelines.instance.watchdog``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aegis_core.alerts import Alert
from aegis_core.calendar import NY, nyse

EOD_TIME = dt.time(17, 15)
EOD_SCHEDULE = "ldas_eod_schedule"
INTRADAY_SCHEDULE = "ldas_intraday_schedule"
DAEMON_ALERT_PREFIX = "watchdog:daemon:"
TICK_ALERT_PREFIX = "watchdog:tick:"
_LOOKBACK_DAYS = 7


def last_eod_tick(before: dt.datetime) -> dt.datetime | None:
    """The latest 17:15 New York time of an NYSE session at or before ``before`` (aware)."""
    day = before.astimezone(NY).date()
    for _ in range(_LOOKBACK_DAYS):
        at = dt.datetime.combine(day, EOD_TIME, tzinfo=NY)
        if at <= before and nyse().is_session(day):
            return at
        day -= dt.timedelta(days=1)
    return None


def last_intraday_tick(before: dt.datetime) -> dt.datetime | None:
    """The latest intraday slot start (market hours of an NYSE session) at or before ``before``."""
    day = before.astimezone(NY).date()
    for _ in range(_LOOKBACK_DAYS):
        session = nyse().session(day)
        if session is not None:
            due = [slot for slot in session.slots if slot <= before]
            if due:
                return due[-1]
        day -= dt.timedelta(days=1)
    return None


# Schedule name -> its latest expected tick at or before a time.
EXPECTED_TICKS: dict[str, Callable[[dt.datetime], dt.datetime | None]] = {
    EOD_SCHEDULE: last_eod_tick,
    INTRADAY_SCHEDULE: last_intraday_tick,
}


@dataclass(frozen=True)
class ScheduleObservation:
    """What the instance says about one schedule: stopped by an operator, and its latest tick."""

    stopped: bool
    last_tick: dt.datetime | None


@dataclass(frozen=True)
class Policy:
    heartbeat_max_age: dt.timedelta
    tick_grace: dt.timedelta
    webserver_url: str = "http://127.0.0.1:3000"


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def daemon_alert(
    now: dt.datetime, since: dt.datetime, heartbeats: Mapping[str, dt.datetime], policy: Policy
) -> Alert | None:
    """The alert when no daemon heartbeat is fresh; ``heartbeats``: daemon type -> last heartbeat."""
    limit = policy.heartbeat_max_age
    if not heartbeats:
        if now - since < limit:
            return None  # just started: give the daemon the time a heartbeat may take
        return Alert(
            f"{DAEMON_ALERT_PREFIX}never",
            "Dagster daemon is down",
            "critical",
            f"the instance holds no daemon heartbeat at all (watched for {_age(now - since)})",
            {"limit": _age(limit)},
            policy.webserver_url + "/health",
        )
    latest = max(heartbeats.values())
    if now - latest <= limit:
        return None
    stale = sorted(heartbeats)
    return Alert(
        f"{DAEMON_ALERT_PREFIX}{int(latest.timestamp())}",
        "Dagster daemon is down",
        "critical",
        f"no heartbeat for {_age(now - latest)} (limit {_age(limit)}): schedules, sensors, the run "
        "queue and run monitoring are stopped",
        {"last heartbeat": f"{latest.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC", "daemons": ", ".join(stale)},
        policy.webserver_url + "/health",
    )


def tick_alerts(
    now: dt.datetime,
    since: dt.datetime,
    schedules: Mapping[str, ScheduleObservation],
    policy: Policy,
    expected: Mapping[str, Callable[[dt.datetime], dt.datetime | None]] = EXPECTED_TICKS,
) -> list[Alert]:
    """An alert per watched schedule whose latest expected tick is overdue and absent."""
    out = []
    for name, latest_due in expected.items():
        due = latest_due(now - policy.tick_grace)
        if due is None or due < since:
            continue
        seen = schedules.get(name)
        if seen is not None and seen.stopped:
            continue
        last = seen.last_tick if seen is not None else None
        if last is not None and last >= due:
            continue
        local = due.astimezone(NY)
        last_text = f"{last.astimezone(NY):%Y-%m-%d %H:%M} ET" if last else "never"
        out.append(
            Alert(
                f"{TICK_ALERT_PREFIX}{name}:{local.isoformat()}",
                f"Schedule tick missing: {name}",
                "critical",
                f"the tick due at {local:%Y-%m-%d %H:%M} ET did not happen within {_age(policy.tick_grace)}",
                {"schedule": name, "due": f"{local:%Y-%m-%d %H:%M} ET", "last tick": last_text},
                f"{policy.webserver_url}/automation",
            )
        )
    return out


def watchdog_alerts(
    now: dt.datetime,
    since: dt.datetime,
    heartbeats: Mapping[str, dt.datetime],
    schedules: Mapping[str, ScheduleObservation],
    policy: Policy,
) -> list[Alert]:
    """Everything the watchdog should say at ``now`` (before deduplication)."""
    down = daemon_alert(now, since, heartbeats, policy)
    return [*([down] if down else []), *tick_alerts(now, since, schedules, policy)]
