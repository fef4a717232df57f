"""The Saxo token keeper at runtime (contract §8): the refresh job, the sensor that drives it, the resource.

Each tick the sensor reads the cache (no lock, no network) and decides:
- disabled keeper, valid access token → skip with the reason and the next refresh time;
- ``NeedsRefresh`` → one run of ``saxo_token_refresh_job``, run key ``saxo_token:<issued_at>``. After a
  terminal failure for that token it launches nothing more until the cache holds a new token (a person
  re-authorised); after a transient failure it tries again once ``retry_after`` has passed, with a new
  run key ``saxo_token:<issued_at>:retry:<failure>``;
- unreadable cache, ``Expired24hToken`` (the runbook's name for a lapsed refresh token) → one alert
  (an ``AlertLedger`` in the cursor, sent through ``alerting.send_once``), skip.
Refresh failures are alerted by the asset itself (see ``aegis_assets.ops.saxo`` for the contract).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import dagster as dg

from aegis_assets.clock import CLOCK_KEY, Clock, ClockParam, wall_clock
from aegis_assets.ops.saxo import (
    TOKEN_TAG,
    RecordedFailure,
    alert_sent_for,
    reauth_alert_key,
    recorded_failures,
    saxo_token,
    token_fields,
    token_id,
)
from aegis_assets.resources import AlertsResource, SaxoResource
from aegis_core.alerts import Alert
from aegis_core.base.alert_ledger import AlertLedger
from aegis_core.base.settings import SaxoSettings, Settings
from aegis_core.ops.saxo import REAUTH_MESSAGE, Freshness, FreshnessReport, TokenCacheError
from aegis_core.ops.saxo.bootstrap import Bootstrap
from aegis_pipelines.alerting.sensors import send_once
from aegis_pipelines.resources import saxo_resource

JOB_NAME = "saxo_token_refresh_job"
SENSOR_NAME = "saxo_token_sensor"
# After a transient failure (endpoint down, lock busy) the next attempt waits this long.
TRANSIENT_RETRY_AFTER = dt.timedelta(minutes=2)

saxo_token_refresh_job = dg.define_asset_job(
    JOB_NAME,
    selection=dg.AssetSelection.assets(saxo_token),
    description="Refresh the Saxo OAuth token if it is due (one locked refresh, saved atomically).",
    # A refused refresh must not be retried by the instance's run retries; the sensor decides.
    tags={"dagster/retry_on_asset_or_op_failure": "false"},
)


@dataclass
class _Cursor:
    """The sensor's memory: alerts sent, and when the last token seen was issued (it names an episode
    of an unreadable cache)."""

    ledger: AlertLedger
    last_issued_at: str | None = None

    @classmethod
    def loads(cls, text: str | None) -> _Cursor:
        doc = json.loads(text) if text else {}
        return cls(AlertLedger.from_doc(doc), doc.get("last_issued_at"))

    def dumps(self) -> str:
        return json.dumps({**self.ledger.to_doc(), "last_issued_at": self.last_issued_at})


def _alert_once(
    context: dg.SensorEvaluationContext,
    alerts: AlertsResource,
    cursor: _Cursor,
    alert: Alert,
    sent_by_run: bool = False,
) -> str:
    """Send ``alert`` unless already sent (``send_once``: the one ledger rule); a note for the skip reason."""
    if alert.key in cursor.ledger:
        return "already alerted"
    if sent_by_run:
        cursor.ledger.mark_sent(alert.key)
        return "already alerted by the refresh run"
    delivery = send_once(context, alerts, cursor.ledger, [alert])
    return "alerted" if delivery.sent else "; ".join(delivery.notes())


def _cache_alert(exc: TokenCacheError, key: str, cache_path: str) -> Alert:
    reason = f"{exc}. Nothing is refreshed until the file is back"
    return Alert(key, "Saxo token cache unreadable", "critical", reason, {"cache": cache_path})


def _expired_alert(report: FreshnessReport, cache_path: str) -> Alert:
    reason = (
        f"{report.state.value}: the refresh token in {cache_path} expired at "
        f"{report.refresh_expires_at.isoformat()}: a person must re-authorise the Saxo app in a browser"
    )
    fields = token_fields(cache_path, report.issued_at, report.expires_at, report.refresh_expires_at)
    fields["state"] = report.state.value
    return Alert(reauth_alert_key(token_id(report.issued_at)), REAUTH_MESSAGE, "critical", reason, fields)


def _decide(
    context: dg.SensorEvaluationContext,
    saxo: SaxoResource,
    alerts: AlertsResource,
    clock: Clock,
    cursor: _Cursor,
    retry_after: dt.timedelta,
) -> dg.RunRequest | str:
    """One tick: a run request, or the reason for skipping."""
    if not saxo.enabled:
        return "The Saxo token keeper is disabled (setting saxo.enabled is false)"
    try:
        if saxo.bootstrap() is Bootstrap.COPIED:
            context.log.info(f"Bootstrapped {saxo.cache_path} from {saxo.bootstrap_from} (one-time copy)")
        report = saxo.check(clock)
    except TokenCacheError as exc:
        key = f"saxo_token:cache_unreadable:after:{cursor.last_issued_at or 'start'}"
        return f"{exc} ({_alert_once(context, alerts, cursor, _cache_alert(exc, key, saxo.cache_path))})"
    tid = cursor.last_issued_at = token_id(report.issued_at)
    if report.state is Freshness.EXPIRED:
        alert = _expired_alert(report, saxo.cache_path)
        sent_by_run = alert_sent_for(context.instance, tid, alert.key)
        note = _alert_once(context, alerts, cursor, alert, sent_by_run)
        return f"{REAUTH_MESSAGE}: {alert.reason} ({note})"
    if report.state is Freshness.ACCESS_VALID:
        return (
            f"Access token valid until {report.expires_at.isoformat()}; "
            f"refresh due at {report.refresh_due_at.isoformat()}"
        )
    return _refresh_decision(report, recorded_failures(context.instance, tid), retry_after, saxo.cache_path)


def _refresh_decision(
    report: FreshnessReport, failures: list[RecordedFailure], retry_after: dt.timedelta, cache_path: str
) -> dg.RunRequest | str:
    """A token that needs a refresh: a run, unless its last refresh failed (for good, or too recently)."""
    tid = token_id(report.issued_at)
    if not failures:
        return dg.RunRequest(run_key=f"saxo_token:{tid}", tags={TOKEN_TAG: tid})
    last = failures[0]
    if last.terminal:
        return (
            f"The refresh of the token issued at {report.issued_at.isoformat()} failed "
            f"({last.outcome.value}) at {last.checked_at.isoformat()}: "
            f"waiting for a new token in {cache_path} "
            "(re-authorise, or fix the configuration and materialize ops/saxo_token)"
        )
    next_try = last.checked_at + retry_after
    if report.checked_at < next_try:
        return (
            f"The last refresh failed transiently at {last.checked_at.isoformat()}; "
            f"next attempt at {next_try.isoformat()}"
        )
    return dg.RunRequest(run_key=f"saxo_token:{tid}:retry:{last.storage_id}", tags={TOKEN_TAG: tid})


def build_saxo_token_sensor(
    settings: SaxoSettings, retry_after: dt.timedelta = TRANSIENT_RETRY_AFTER
) -> dg.SensorDefinition:
    """The token sensor: ticks every ``sensor_interval_s``; running by default only when enabled."""
    status = dg.DefaultSensorStatus.RUNNING if settings.enabled else dg.DefaultSensorStatus.STOPPED

    @dg.sensor(
        name=SENSOR_NAME,
        job=saxo_token_refresh_job,
        minimum_interval_seconds=settings.sensor_interval_s,
        default_status=status,
        description="Reads the Saxo token cache; launches a refresh when due; alerts once when a person "
        "must act (cache unreadable, refresh token expired).",
    )
    def saxo_token_sensor(
        context: dg.SensorEvaluationContext, saxo: SaxoResource, alerts: AlertsResource, clock: ClockParam
    ) -> dg.SensorResult:
        cursor = _Cursor.loads(context.cursor)
        decision = _decide(context, saxo, alerts, clock, cursor, retry_after)
        if isinstance(decision, dg.RunRequest):
            return dg.SensorResult(run_requests=[decision], cursor=cursor.dumps())
        return dg.SensorResult(skip_reason=decision, cursor=cursor.dumps())

    return saxo_token_sensor


def saxo_definitions(settings: Settings, clock: Clock = wall_clock) -> dg.Definitions:
    """The keeper's asset, job, sensor, "saxo" resource and the clock. "alerts" comes from the caller."""
    return dg.Definitions(
        assets=[saxo_token],
        jobs=[saxo_token_refresh_job],
        sensors=[build_saxo_token_sensor(settings.saxo)],
        resources={"saxo": saxo_resource(settings.saxo), CLOCK_KEY: clock},
    )
