"""Automation of the derived analytics: the sensor that evaluates their declarative conditions, and
the one that re-derives later sessions' IV rank when an ATM IV inside their window changed.

Dagster's implicit ``default_automation_condition_sensor`` starts STOPPED, so derived data would go
stale until someone found the toggle. ``ldas_derived_automation_sensor`` starts RUNNING: under the
daemon (``dagster dev`` or ``dagster-daemon run``), a re-materialized session's chains recompute that
session's gex_summary, atm_iv and iv_rank, with no click.

IV rank depends in Dagster on its own session's ATM IV only (a back-fill must not target later
sessions, see ``aegis_assets/ldas/derived.py``), so ``ldas_iv_rank_window_sensor`` carries the window:
it reads the ATM IV materializations since its cursor (only those of finished runs, so a back-fill's
own IV ranks are written before it looks), asks ``aegis_core.ldas.iv_window`` which later sessions have an
IV rank older than a change in their window, and requests one run per range of consecutive sessions.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from aegis_assets.ldas.derived import ATM_IV, DERIVED_KEYS, IV_RANK
from aegis_core.calendar import nyse, parse_session_date
from aegis_core.ldas.iv_window import consecutive_runs, stale_iv_ranks
from aegis_pipelines.ldas.sessions import TRIGGER_TAG

DERIVED_AUTOMATION_SENSOR = "ldas_derived_automation_sensor"
IV_RANK_WINDOW_SENSOR = "ldas_iv_rank_window_sensor"
IV_RANK_JOB = "ldas_iv_rank_job"
_BATCH = 500  # ATM IV materializations read per tick

derived_automation_sensor = dg.AutomationConditionSensorDefinition(
    DERIVED_AUTOMATION_SENSOR,
    target=dg.AssetSelection.assets(*DERIVED_KEYS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Recomputes derived analytics whose inputs changed (gex_summary, atm_iv, iv_rank).",
)

ldas_iv_rank_job = dg.define_asset_job(
    IV_RANK_JOB,
    selection=dg.AssetSelection.assets(IV_RANK),
    description="IV rank alone, for a session or a range, from the ATM IV in the lake (no fetching): "
    "what ldas_iv_rank_window_sensor launches when an ATM IV inside later sessions' windows changed.",
)

_RANGE_START, _RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _finished(instance: dg.DagsterInstance, run_id: str, seen: dict[str, bool]) -> bool:
    """Whether the run is over (a run that is gone counts as over); asked once per run and tick."""
    if run_id not in seen:
        run = instance.get_run_by_id(run_id)
        seen[run_id] = run is None or run.is_finished
    return seen[run_id]


def iv_rank_window_sensor(window_sessions: int) -> dg.SensorDefinition:
    @dg.sensor(
        name=IV_RANK_WINDOW_SENSOR,
        job=ldas_iv_rank_job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Re-derives the IV rank of later sessions whose {window_sessions}-session window "
        "holds an ATM IV that changed (a back-fill, a re-run); sessions without an IV rank are left alone.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        after = int(context.cursor or 0)
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=ATM_IV, after_storage_id=after), limit=_BATCH, ascending=True
        ).records
        changed: dict[dt.date, int] = {}
        cursor, seen = after, {}
        for record in records:
            if not _finished(context.instance, record.run_id, seen):
                break  # its run may still write IV ranks: look again next tick
            if record.partition_key:
                changed[parse_session_date(record.partition_key)] = record.storage_id
            cursor = record.storage_id
        if not changed:
            return dg.SensorResult(skip_reason="no ATM IV changed since the last tick", cursor=str(cursor))
        first = min(changed)
        sessions = [s.date for s in nyse().sessions(first, nyse().end)]
        ranked = {
            parse_session_date(k): v
            for k, v in context.instance.get_latest_storage_id_by_partition(
                IV_RANK, dg.DagsterEventType.ASSET_MATERIALIZATION
            ).items()
        }
        stale = stale_iv_ranks(changed, ranked, sessions, window_sessions)
        requests = [
            dg.RunRequest(
                run_key=f"iv_rank_window:{cursor}:{start}:{end}",
                tags={
                    _RANGE_START: start.isoformat(),
                    _RANGE_END: end.isoformat(),
                    TRIGGER_TAG: IV_RANK_WINDOW_SENSOR,
                },
            )
            for start, end in consecutive_runs(stale, sessions)
        ]
        if not requests:
            return dg.SensorResult(
                skip_reason=f"ATM IV of {len(changed)} sessions changed; no later IV rank is older",
                cursor=str(cursor),
            )
        return dg.SensorResult(run_requests=requests, cursor=str(cursor))

    return _sensor
