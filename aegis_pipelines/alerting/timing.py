"""Alerts on time: a slot whose snapshot run never started, an end-of-day run over its budget.

Together with the alerts of ``aegis_pipelines.alerting.sensors`` this covers an intraday slot within five
minutes (contract §7, runbook monitoring):

- failed: ``run_failure_alert_sensor`` (every 30 s) alerts the failed ``ldas_intraday_job`` run,
  with the slot as partition and the failing symbols in the reason;
- under-covered: ``asset_check_alert_sensor`` (every 30 s) alerts the failed ``slot_coverage``
  check, naming the slot and the missing symbols;
- missed: ``intraday_slot_watchdog_sensor`` (here, every 60 s) alerts a slot with no started run
  ``SLOT_GRACE`` (3 min) after its start: the schedule did not fire, or the run waited in the queue.

``eod_run_duration_sensor`` alerts once per run when ``ldas_eod_job`` is still running 45 minutes
after it started; it never stops the run. Both read the clock through ``clock`` (tests walk a
simulated clock) and keep what they alerted in their cursor (``WatchdogState``); they send through
``alerting.send_once`` (the one ledger rule), so an alert goes out once and a failed send is retried.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

import dagster as dg

from aegis_assets.ldas.intraday import PT_SNAPSHOTS
from aegis_assets.resources import AlertsResource, MarketDataResource
from aegis_core.alerts import Alert
from aegis_core.base.clock import Clock, wall_clock
from aegis_core.calendar import NY
from aegis_core.ops.run_watch import (
    EOD_BUDGET,
    SLOT_GRACE,
    MissedSlot,
    SlotRun,
    due_slots,
    missed_slots,
    missed_summary,
    over_budget,
)
from aegis_pipelines.alerting.sensors import PARTITION_TAG, send_once
from aegis_pipelines.ops.pt_health import WatchdogState

SLOT_WATCHDOG_SENSOR = "intraday_slot_watchdog_sensor"
EOD_DURATION_SENSOR = "eod_run_duration_sensor"
INTRADAY_JOB = "ldas_intraday_job"
EOD_JOB = "ldas_eod_job"
WATCH_INTERVAL_S = 60
BUDGET_MIN = EOD_BUDGET.total_seconds() / 60


def captures_snapshots(run: dg.DagsterRun) -> bool:
    """A run of the intraday job, or one materializing ``ldas/pt_snapshots`` from the UI (not checks only)."""
    return run.job_name == INTRADAY_JOB or PT_SNAPSHOTS in (run.asset_selection or ())


def slot_runs(instance: dg.DagsterInstance, keys: list[str]) -> dict[str, list[SlotRun]]:
    """``slot key -> runs`` that capture those slots' snapshots."""
    out: dict[str, list[SlotRun]] = defaultdict(list)
    if keys:
        for r in instance.get_run_records(filters=dg.RunsFilter(tags={PARTITION_TAG: keys})):
            run = r.dagster_run
            if captures_snapshots(run):
                started = r.start_time is not None
                out[run.tags[PARTITION_TAG]].append(SlotRun(run.run_id, run.status.value, started))
    return out


def missed_alert(m: MissedSlot, universe: Sequence[str], alerts: AlertsResource) -> Alert:
    link = alerts.run_link(m.runs[0].run_id) if m.runs else None
    fields = {"slot": m.key, "job": INTRADAY_JOB, "symbols": str(len(universe))}
    reason = missed_summary(m, universe)
    return Alert(f"slot:missed:{m.key}", f"Intraday slot missed: {m.key}", "critical", reason, fields, link)


def build_slot_watchdog_sensor(clock: Clock = wall_clock) -> dg.SensorDefinition:
    @dg.sensor(
        name=SLOT_WATCHDOG_SENSOR,
        minimum_interval_seconds=WATCH_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts once per intraday slot with no started snapshot run 3 minutes after the slot "
        "began (the schedule did not fire, or the run never left the queue).",
    )
    def intraday_slot_watchdog_sensor(
        context: dg.SensorEvaluationContext, alerts: AlertsResource, market: MarketDataResource
    ) -> dg.SensorResult:
        now = clock()
        state = WatchdogState.of(context, now)
        due = due_slots(now, state.since, SLOT_GRACE)
        runs = slot_runs(context.instance, [f"{s.astimezone(NY):%Y-%m-%d-%H:%M}" for s in due])
        missed = missed_slots(due, runs)
        fresh = [m for m in missed if f"slot:missed:{m.key}" not in state.alerted]
        universe = market.universe() if fresh else []
        delivery = send_once(
            context, alerts, state.alerted, [missed_alert(m, universe, alerts) for m in fresh]
        )
        sent = [a.fields["slot"] for a in delivery.sent]
        message = (
            f"alerted missed slot(s): {', '.join(sent)}"
            if sent
            else f"{len(due)} slot(s) due, {len(missed)} missed" + ("" if fresh else " (already alerted)")
            if missed
            else f"{len(due)} slot(s) due since {state.since.astimezone(NY):%Y-%m-%d %H:%M} ET, none missed"
        )
        return dg.SensorResult(skip_reason="; ".join([message, *delivery.notes()]), cursor=state.dumps())

    return intraday_slot_watchdog_sensor


def overrun_alert(run: dg.DagsterRun, started: dt.datetime, now: dt.datetime, link: str) -> Alert:
    minutes = int((now - started).total_seconds() // 60)
    partition = run.tags.get(PARTITION_TAG, "none")
    reason = (
        f"{EOD_JOB} for {partition} started {started.astimezone(NY):%H:%M} ET and is still running after "
        f"{minutes} min (budget {BUDGET_MIN:g} min); it is not stopped"
    )
    fields = {"job": EOD_JOB, "partition": partition, "run": run.run_id[:8]}
    return Alert(
        f"eod:overrun:{run.run_id}",
        f"End-of-day run over budget: {partition}",
        "warning",
        reason,
        fields,
        link,
    )


def build_eod_duration_sensor(clock: Clock = wall_clock) -> dg.SensorDefinition:
    @dg.sensor(
        name=EOD_DURATION_SENSOR,
        minimum_interval_seconds=WATCH_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts once per end-of-day run still running 45 minutes after it started (the "
        "runbook's budget); the run is left alone.",
    )
    def eod_run_duration_sensor(
        context: dg.SensorEvaluationContext, alerts: AlertsResource
    ) -> dg.SensorResult:
        now = clock()
        state = WatchdogState.of(context, now)
        running = context.instance.get_run_records(
            filters=dg.RunsFilter(job_name=EOD_JOB, statuses=[dg.DagsterRunStatus.STARTED])
        )
        late = [
            (r.dagster_run, dt.datetime.fromtimestamp(r.start_time, dt.UTC))
            for r in running
            if r.start_time is not None
            and over_budget(dt.datetime.fromtimestamp(r.start_time, dt.UTC), now, EOD_BUDGET)
        ]
        fresh = [(run, t) for run, t in late if f"eod:overrun:{run.run_id}" not in state.alerted]
        to_send = [overrun_alert(run, started, now, alerts.run_link(run.run_id)) for run, started in fresh]
        delivery = send_once(context, alerts, state.alerted, to_send)
        sent = [a.fields["run"] for a in delivery.sent]
        message = (
            f"alerted over-budget run(s): {', '.join(sent)}"
            if sent
            else f"{len(running)} end-of-day run(s) running, {len(late)} over budget"
            + ("" if fresh else " (already alerted)")
            if late
            else f"{len(running)} end-of-day run(s) running, none over the {BUDGET_MIN:g}-min budget"
        )
        return dg.SensorResult(skip_reason="; ".join([message, *delivery.notes()]), cursor=state.dumps())

    return eod_run_duration_sensor


def timing_sensors(clock: Clock = wall_clock) -> list[dg.SensorDefinition]:
    return [build_slot_watchdog_sensor(clock), build_eod_duration_sensor(clock)]
