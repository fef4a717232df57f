"""The paper-trading health monitor's runtime: job, window sensor, watchdog sensor, definitions.

``pt_health_sensor`` asks one cheap question per tick — which evaluation window is now? — and
requests one run per window (run key = window key, so the daemon never runs a window twice).
Outside the sessions (plus their buffers), on holidays, or when the monitor is disabled it skips
with the reason. ``pt_health_watchdog_sensor`` watches the monitor itself: a window of today's or
the previous session that ended without a successful evaluation is alerted once (the old scheduler
silently dropped runs). Its cursor holds the alerted windows and when it began watching, so it
never floods Slack with windows from before it existed.

Both sensors and the asset read the clock through ``clock`` (default: the wall clock; the asset gets
it as the ``clock`` resource), so tests can walk a fixed clock through a session.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from aegis_assets.clock import CLOCK_KEY, Clock, wall_clock
from aegis_assets.ops.pt_health import WINDOW_TAG, pt_health
from aegis_assets.resources import AlertsResource, DashboardResource
from aegis_core.alerts import Alert
from aegis_core.base.alert_ledger import AlertLedger
from aegis_core.base.settings import Settings
from aegis_core.base.skip import Skip
from aegis_core.calendar import NY, Session, nyse
from aegis_core.ops.pt_health import Window, WindowPolicy, missed_windows, session_windows
from aegis_core.ops.pt_health.windows import window_request
from aegis_pipelines.alerting.sensors import send_once
from aegis_pipelines.resources import dashboard_resource

SENSOR_INTERVAL_S = 60
WATCHDOG_INTERVAL_S = 120
GAPS_SHOWN = 12  # per Slack message; a block holds a few thousand characters


pt_health_job = dg.define_asset_job(
    "pt_health_job",
    selection=dg.AssetSelection.assets(pt_health),
    description="One paper-trading health evaluation (read-only towards the trading runtime).",
)


# --- the window sensor ---------------------------------------------------------------------------


def build_pt_health_sensor(
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED, clock: Clock = wall_clock
) -> dg.SensorDefinition:
    @dg.sensor(
        name="pt_health_sensor",
        job=pt_health_job,
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=default_status,
        description="Requests one paper-trading health evaluation per session window.",
    )
    def pt_health_sensor(
        context: dg.SensorEvaluationContext, dashboard: DashboardResource
    ) -> dg.SensorResult | dg.SkipReason:
        if not dashboard.enabled:
            return dg.SkipReason("the paper-trading health monitor is disabled (pt_health.enabled)")
        planned = window_request(clock(), dashboard.policy(), context.cursor)
        if isinstance(planned, Skip):
            return dg.SkipReason(planned.reason)
        request = dg.RunRequest(run_key=planned.key, tags={WINDOW_TAG: planned.key})
        return dg.SensorResult(run_requests=[request], cursor=planned.key)

    return pt_health_sensor


# --- the watchdog ---------------------------------------------------------------------------------


@dataclass
class WatchdogState:
    """The watchdog's cursor: when it began watching, and the windows already alerted."""

    since: dt.datetime
    alerted: AlertLedger

    @classmethod
    def loads(cls, cursor: str | None, now: dt.datetime) -> WatchdogState:
        if not cursor:
            return cls(since=now, alerted=AlertLedger())
        data = json.loads(cursor)
        return cls(since=dt.datetime.fromisoformat(data["since"]), alerted=AlertLedger.from_doc(data))

    @classmethod
    def of(cls, context: dg.SensorEvaluationContext, now: dt.datetime) -> WatchdogState:
        """The sensor's state, or a fresh one from ``now`` (logged) when its cursor is unreadable."""
        try:
            return cls.loads(context.cursor, now)
        except (ValueError, KeyError, TypeError) as exc:
            context.log.warning(f"unreadable watchdog cursor ({exc}); watching afresh from now")
            return cls.loads(None, now)

    def dumps(self) -> str:
        return json.dumps({"since": self.since.isoformat(), **self.alerted.to_doc()})


@dataclass(frozen=True)
class Gap:
    """A window with no successful evaluation, and the runs that tried and did not succeed."""

    session: Session
    window: Window
    runs: tuple[dg.DagsterRun, ...]

    @property
    def ledger_key(self) -> str:
        return f"pt_health:missed:{self.window.key}"

    def describe(self) -> str:
        tried = ", ".join(f"run {r.run_id[:8]} {r.status.value}" for r in self.runs) or "no run"
        return f"{self.window.key} ({self.window.start:%H:%M}–{self.window.end:%H:%M} ET): {tried}"


def watched_sessions(now: dt.datetime) -> list[Session]:
    """Today's session (if any) and the one before it, so gaps late in a day are still caught."""
    today = now.astimezone(NY).date()
    calendar = nyse()
    sessions = [calendar.previous_session(today)]
    if (session := calendar.session(today)) is not None:
        sessions.append(session)
    return sessions


def find_gaps(
    instance: dg.DagsterInstance,
    now: dt.datetime,
    policy: WindowPolicy,
    grace: dt.timedelta,
    since: dt.datetime,
) -> list[Gap]:
    """Windows that ended after ``since`` and at least ``grace`` before ``now`` without a successful run."""
    due = [
        (session, window)
        for session in watched_sessions(now)
        for window in session_windows(session, policy)
        if window.end > since and window.end + grace <= now
    ]
    if not due:
        return []
    runs: dict[str, list[dg.DagsterRun]] = {}
    records = instance.get_run_records(filters=dg.RunsFilter(tags={WINDOW_TAG: [w.key for _, w in due]}))
    for record in records:
        runs.setdefault(record.dagster_run.tags[WINDOW_TAG], []).append(record.dagster_run)
    # The asset records its materialization whenever its run succeeds, so success = evaluated.
    evaluated = {
        key for key, tried in runs.items() if any(r.status == dg.DagsterRunStatus.SUCCESS for r in tried)
    }
    gaps = []
    for session in {s for s, _ in due}:
        for window in missed_windows(session, evaluated, now, policy, grace):
            if window.end > since:
                gaps.append(Gap(session, window, tuple(runs.get(window.key, []))))
    return sorted(gaps, key=lambda g: g.window)


def missed_alert(gaps: Sequence[Gap], grace: dt.timedelta, link: str | None) -> Alert:
    keys = [g.window.key for g in gaps]
    lines = [f"• {g.describe()}" for g in gaps[:GAPS_SHOWN]]
    if len(gaps) > GAPS_SHOWN:
        lines.append(f"… and {len(gaps) - GAPS_SHOWN} more (see the windows field)")
    minutes = grace.total_seconds() / 60
    return Alert(
        key=f"pt_health:missed:{keys[0]}" + (f"..{keys[-1]}" if len(keys) > 1 else ""),
        title="Paper-trading health: evaluation missed",
        severity="critical",
        reason=(
            f"{len(gaps)} window(s) ended without a health evaluation (checked {minutes:g} min after each "
            "window's end); the trading runtime went unwatched:\n" + "\n".join(lines)
        ),
        fields={"windows": ", ".join(keys), "sessions": ", ".join(sorted({g.session.key for g in gaps}))},
        link=link,
    )


def build_pt_health_watchdog_sensor(
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED, clock: Clock = wall_clock
) -> dg.SensorDefinition:
    @dg.sensor(
        name="pt_health_watchdog_sensor",
        minimum_interval_seconds=WATCHDOG_INTERVAL_S,
        default_status=default_status,
        description="Alerts once for each session window that ended without a health evaluation.",
    )
    def pt_health_watchdog_sensor(
        context: dg.SensorEvaluationContext, dashboard: DashboardResource, alerts: AlertsResource
    ) -> dg.SensorResult | dg.SkipReason:
        if not dashboard.enabled:
            return dg.SkipReason("the paper-trading health monitor is disabled (pt_health.enabled)")
        now = clock()
        state = WatchdogState.of(context, now)
        gaps = find_gaps(context.instance, now, dashboard.policy(), dashboard.watchdog_grace, state.since)
        fresh = [g for g in gaps if g.ledger_key not in state.alerted]
        if fresh:
            failed = next((r for g in fresh for r in g.runs), None)
            link = alerts.run_link(failed.run_id) if failed is not None else None
            alert = missed_alert(fresh, dashboard.watchdog_grace, link)
            delivery = send_once(
                context, alerts, state.alerted, [alert], lambda _: [g.ledger_key for g in fresh]
            )
            windows = ", ".join(g.window.key for g in fresh)
            message = "; ".join([f"missed window(s): {windows}", *delivery.notes()])
            if delivery.sent:
                message = f"alerted missed window(s): {windows}"
        elif gaps:
            message = f"{len(gaps)} missed window(s), all already alerted"
        else:
            message = f"no missed window since {state.since.astimezone(NY):%Y-%m-%d %H:%M} ET"
        return dg.SensorResult(skip_reason=message, cursor=state.dumps())

    return pt_health_watchdog_sensor


# --- definitions ----------------------------------------------------------------------------------


def pt_health_definitions(settings: Settings, clock: Clock = wall_clock) -> dg.Definitions:
    """The monitor's asset, job, sensors and "dashboard" resource (the "alerts" resource is global)."""
    status = dg.DefaultSensorStatus.RUNNING if settings.pt_health.enabled else dg.DefaultSensorStatus.STOPPED
    return dg.Definitions(
        assets=[pt_health],
        jobs=[pt_health_job],
        sensors=[
            build_pt_health_sensor(status, clock),
            build_pt_health_watchdog_sensor(status, clock),
        ],
        resources={"dashboard": dashboard_resource(settings), CLOCK_KEY: clock},
    )
