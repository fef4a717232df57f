"""Alerts from what the Dagster instance records: failed asset checks, failed runs, missed deadlines.

Two sensors read the run-status events (RUN_SUCCESS, RUN_FAILURE) recorded after their cursor:

- ``asset_check_alert_sensor``: the failed ASSET_CHECK_EVALUATIONs of every finished run, SUCCESS or
  FAILURE. A failed non-blocking check leaves its run SUCCESS (dagster-notes §3), so a run-failure
  sensor never sees it. A missed freshness deadline is the failed ``freshness`` check of the
  ``ldas_freshness_job`` run at the deadline.
- ``run_failure_alert_sensor``: failed runs, except those the instance will retry
  (``dagster/will_retry=true``), those of jobs that alert for themselves (``aegis/alerts=self``), and
  those that failed only because a blocking check failed (the check alert names the problem).

They are plain sensors, not ``run_status_sensor``s: a run-status sensor's cursor belongs to Dagster
(returning one raises), and these keep an ``AlertLedger`` in theirs so a problem alerts once. A check
failing for the same asset, check and partition run after run alerts once, and again only after it
has passed in between. Every alerting sensor sends through ``send_once`` (the ledger's one rule): a
failed send is not recorded as sent and leaves the run unprocessed, so the next tick tries again,
with the alerts already sent in the ledger; after ``MAX_FAILED_SENDS`` failed sends of one alert it
is given up (logged in full) so it cannot block later runs. Without Slack configured,
``AlertsResource`` logs the alerts.
"""

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from aegis_assets.alert_tags import alerts_for_itself
from aegis_assets.resources import AlertsResource
from aegis_core.alerts import Alert
from aegis_core.base.alert_ledger import AlertLedger, Delivery, deliver
from aegis_core.ldas.freshness import FRESHNESS
from aegis_pipelines.alerting.root_cause import step_failure_cause

ET = dg.DagsterEventType

CHECK_ALERT_SENSOR = "asset_check_alert_sensor"
RUN_FAILURE_ALERT_SENSOR = "run_failure_alert_sensor"
SENSOR_INTERVAL_S = 30
RUNS_PER_TICK = 25

WILL_RETRY_TAG = "dagster/will_retry"
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"  # what a failed blocking check raises in its step

_SEVERITY = {dg.AssetCheckSeverity.ERROR: "critical", dg.AssetCheckSeverity.WARN: "warning"}
_REASON_CHARS = 300


# --- what to say ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one finished run calls for: alerts, checks that passed (problems resolved), a note."""

    alerts: list[Alert] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    note: str | None = None


def run_partition(tags: Mapping[str, str]) -> str:
    """The run's partition: ``dagster/partition``, or ``start...end`` of a range (back-fill) run."""
    if tags.get(PARTITION_TAG):
        return tags[PARTITION_TAG]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if start and end:
        return start if start == end else f"{start}...{end}"
    return "none"


def one_line(text: str | None, limit: int = _REASON_CHARS) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_alert_key(asset: str, check: str, partition: str) -> str:
    return f"check:{asset}:{check}:{partition}"


def run_alert_key(run_id: str) -> str:
    return f"run:{run_id}"


def check_alerts(instance: dg.DagsterInstance, run: dg.DagsterRun, link: str) -> Outcome:
    """An alert per failed check evaluation of ``run``; the keys of those that passed."""
    out = Outcome()
    will_retry = run.tags.get(WILL_RETRY_TAG) == "true"
    for entry in instance.all_logs(run.run_id, of_type=ET.ASSET_CHECK_EVALUATION):
        ev = entry.get_dagster_event().asset_check_evaluation_data
        asset, partition = ev.asset_key.to_user_string(), ev.partition or run_partition(run.tags)
        key = check_alert_key(asset, ev.check_name, partition)
        if ev.passed:
            out.resolved.append(key)
            continue
        if will_retry and ev.blocking and ev.severity == dg.AssetCheckSeverity.ERROR:
            continue  # its step failed, so the retry evaluates it again
        title = (
            f"Freshness deadline missed: {asset}"
            if ev.check_name == FRESHNESS
            else f"Asset check failed: {asset} {ev.check_name}"
        )
        fields = {
            "asset": asset,
            "check": ev.check_name,
            "partition": partition,
            "job": run.job_name,
            "run": run.run_id[:8],
        }
        reason = one_line(ev.description or "the check did not pass")
        out.alerts.append(Alert(key, title, _SEVERITY.get(ev.severity, "critical"), reason, fields, link))
    return out


def run_failure_alert(instance: dg.DagsterInstance, run: dg.DagsterRun, link: str) -> Outcome:
    """The alert for a failed run, or a note saying why none is due."""
    name = f"run {run.run_id[:8]} of {run.job_name}"
    if run.tags.get(WILL_RETRY_TAG) == "true":
        return Outcome(note=f"{name} will be retried")
    if alerts_for_itself(run.tags):
        return Outcome(note=f"{name} alerts for itself")
    entries = instance.all_logs(
        run.run_id,
        of_type={
            ET.STEP_FAILURE,
            ET.RUN_FAILURE,
            ET.ASSET_MATERIALIZATION_PLANNED,
            ET.ASSET_CHECK_EVALUATION_PLANNED,
        },
    )
    events = [e.get_dagster_event() for e in entries]
    failures = [e for e in events if e.event_type == ET.STEP_FAILURE]
    if failures and all(_error_class(e) == CHECK_FAILED_ERROR for e in failures):
        return Outcome(note=f"{name} failed on blocking checks only ({CHECK_ALERT_SENSOR} alerts them)")
    assets, checks = _step_targets(events)
    if failures:
        first = failures[0]
        where = (
            ", ".join(assets.get(first.step_key or "", []) + checks.get(first.step_key or "", []))
            or first.step_key
        )
        reason = f"{where}: {_step_error(first)}"
        if len(failures) > 1:
            others = ", ".join(e.step_key or "?" for e in failures[1:])
            reason += f" (+{len(failures) - 1} more failed step(s): {others})"
    else:  # the run failed outside any step (launch, resources, a crashed worker)
        run_failure = next((e for e in events if e.event_type == ET.RUN_FAILURE), None)
        # Run monitoring reports a dead worker without failure data (report_run_failed(run, message)).
        failure_data = run_failure.job_failure_data if run_failure else None
        error = failure_data.error if failure_data else None
        reason = (
            (error.message if error else None)
            or (run_failure.message if run_failure else None)
            or "run failed"
        )
    failed_steps = [e.step_key or "" for e in failures]
    fields = {
        "job": run.job_name,
        "asset": ", ".join(a for s in failed_steps for a in assets.get(s, [])) or "-",
        "check": ", ".join(c for s in failed_steps for c in checks.get(s, [])) or "-",
        "partition": run_partition(run.tags),
        "run": run.run_id[:8],
    }
    alert = Alert(
        run_alert_key(run.run_id), f"Run failed: {run.job_name}", "critical", one_line(reason), fields, link
    )
    return Outcome(alerts=[alert])


def _error_class(event: dg.DagsterEvent) -> str | None:
    error = event.step_failure_data.error
    return error.cls_name if error else None


def _step_error(event: dg.DagsterEvent) -> str:
    # A dg.Failure's own words, else the root cause under Dagster's "Error occurred while executing".
    return step_failure_cause(event)


def _step_targets(events: Sequence[dg.DagsterEvent]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``step key -> assets`` and ``step key -> checks`` from the run's planned events."""
    assets: dict[str, list[str]] = defaultdict(list)
    checks: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if not e.step_key:
            continue
        if e.event_type == ET.ASSET_MATERIALIZATION_PLANNED and e.asset_key is not None:
            assets[e.step_key].append(e.asset_key.to_user_string())
        elif e.event_type == ET.ASSET_CHECK_EVALUATION_PLANNED:
            planned = e.asset_check_planned_data
            checks[e.step_key].append(f"{planned.asset_key.to_user_string()} {planned.check_name}")
    return assets, checks


# --- the sensors' bookkeeping -----------------------------------------------------------------------


def send_once(
    context: dg.SensorEvaluationContext,
    alerts: AlertsResource,
    ledger: AlertLedger,
    to_send: Sequence[Alert],
    keys_of: Callable[[Alert], Sequence[str]] | None = None,
) -> Delivery:
    """Every alerting sensor's way to send: ``aegis_core.base.alert_ledger.deliver`` (a failed send is not
    recorded as sent and is retried next tick, a bounded number of times), with what did not go out
    in the tick's log; an alert given up on is logged in full, so its words are not lost."""
    delivery = deliver(to_send, alerts.sender(context.log), ledger, keys_of=keys_of)
    for _, exc in delivery.failed:
        context.log.error(f"{exc}; retrying on the next tick")
    for alert, exc in delivery.given_up:
        tries = ledger.max_failed_sends
        context.log.error(f"{exc}; giving up on alert {alert.key} after {tries} failed sends: {alert.text}")
    return delivery


@dataclass
class AlertCursor:
    """Per run-status event type, the last event handled; and the ledger of alerts sent."""

    after: dict[str, int] | None
    ledger: AlertLedger

    @classmethod
    def loads(cls, text: str | None) -> "AlertCursor":
        doc = json.loads(text) if text else {}
        return cls(doc.get("after"), AlertLedger.from_doc(doc))

    def dumps(self) -> str:
        return json.dumps({"after": self.after, **self.ledger.to_doc()})


def _latest_event_id(instance: dg.DagsterInstance, event_type: dg.DagsterEventType) -> int:
    records = instance.fetch_run_status_changes(event_type, limit=1).records
    return records[0].storage_id if records else -1


def _finished_runs(
    instance: dg.DagsterInstance, after: Mapping[str, int], event_types: Sequence[dg.DagsterEventType]
) -> list[tuple[int, dg.DagsterEventType, str]]:
    """``(storage id, event type, run id)`` of the next run-status events, oldest first."""
    found = []
    for event_type in event_types:
        records = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after[event_type.value]),
            limit=RUNS_PER_TICK,
            ascending=True,
        ).records
        found += [(r.storage_id, event_type, r.event_log_entry.run_id) for r in records]
    return sorted(found, key=lambda f: f[0])[:RUNS_PER_TICK]


def evaluate_alerts(
    context: dg.SensorEvaluationContext,
    alerts: AlertsResource,
    event_types: Sequence[dg.DagsterEventType],
    outcome_for: Callable[[dg.DagsterInstance, dg.DagsterRun, str], Outcome],
) -> dg.SensorResult:
    """One tick: the outcome of each run finished since the cursor, its new alerts sent once."""
    cursor, instance = AlertCursor.loads(context.cursor), context.instance
    if cursor.after is None or any(t.value not in cursor.after for t in event_types):
        # Like Dagster's run-status sensors: start from now, do not replay the instance's history.
        cursor.after = {t.value: _latest_event_id(instance, t) for t in event_types}
        return dg.SensorResult(
            skip_reason="Initialised: alerting on runs that finish from now on", cursor=cursor.dumps()
        )
    sent: list[Alert] = []
    notes: list[str] = []
    for storage_id, event_type, run_id in _finished_runs(instance, cursor.after, event_types):
        run = instance.get_run_by_id(run_id)
        if run is not None:
            outcome = outcome_for(instance, run, alerts.run_link(run_id))
            cursor.ledger.forget(outcome.resolved)
            delivery = send_once(context, alerts, cursor.ledger, outcome.alerts)
            sent += delivery.sent
            notes += delivery.notes()
            if not delivery.complete:  # the run is looked at again next tick; what was sent is recorded
                break
            if outcome.note:
                notes.append(outcome.note)
        cursor.after[event_type.value] = storage_id
    summary = f"{len(sent)} alert(s) sent" + (f": {'; '.join(a.title for a in sent)}" if sent else "")
    return dg.SensorResult(skip_reason="; ".join([summary, *notes]), cursor=cursor.dumps())


# --- the sensors ------------------------------------------------------------------------------------


@dg.sensor(
    name=CHECK_ALERT_SENSOR,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (Slack, or the log) once per failed asset check — asset, check, partition — of "
    "every finished run, including missed freshness deadlines.",
)
def asset_check_alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SensorResult:
    return evaluate_alerts(context, alerts, (ET.RUN_SUCCESS, ET.RUN_FAILURE), check_alerts)


@dg.sensor(
    name=RUN_FAILURE_ALERT_SENSOR,
    minimum_interval_seconds=SENSOR_INTERVAL_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts (Slack, or the log) once per failed run that will not be retried; runs tagged "
    "aegis/alerts=self and runs that failed only on blocking checks are left to their own alerts.",
)
def run_failure_alert_sensor(context: dg.SensorEvaluationContext, alerts: AlertsResource) -> dg.SensorResult:
    return evaluate_alerts(context, alerts, (ET.RUN_FAILURE,), run_failure_alert)


ALERT_SENSORS = [asset_check_alert_sensor, run_failure_alert_sensor]
