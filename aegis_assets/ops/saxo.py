"""The Saxo OAuth token as the asset ``ops/saxo_token`` (contract §8).

A materialization is one locked ``refresh_if_needed``; its metadata says when the token was issued and
when it and its refresh token expire, never the token. A failed refresh records an observation with
the same times, alerts once, and fails the run without retry (``dg.Failure(allow_retries=False)``).

Alerting contract — exactly one Slack message per problem:
- this asset alerts its own refresh failures, then tags its run ``aegis/alerts=self``
  (``aegis_assets.alert_tags``) while it runs, so the generic run-failure alert skips it. A run that
  fails without the tag (a crash, a disabled keeper, Slack unreachable) is left to the generic alert;
- the token sensor alerts what it sees without a run: an unreadable cache and an expired refresh token;
- the alert key names the problem and the token (its ``issued_at``). Observations record the keys this
  asset sent, and the sensor consults them, so one token's problem alerts only once.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import Field

from aegis_assets.alert_tags import SELF_ALERTING_TAG
from aegis_assets.clock import ClockParam
from aegis_assets.ops.saxo_observation import CHECK_SPECS, observe_step
from aegis_assets.resources import AlertsResource, SaxoResource
from aegis_core.alerts import Alert, AlertError
from aegis_core.ops.saxo import (
    REAUTH_MESSAGE,
    OutcomeKind,
    RefreshOutcome,
    TokenCacheError,
)
from aegis_core.ops.saxo.bootstrap import Bootstrap
from aegis_core.ops.saxo.observation import CLEAN_WINDOW

GROUP = "ops"
SAXO_TOKEN_KEY = dg.AssetKey([GROUP, "saxo_token"])

# Run tag: the token a refresh run was launched for (its issued_at, epoch seconds).
TOKEN_TAG = "aegis/saxo_token_issued_at"
# How many recent observations to search for a token's failures (a token lives an hour at most).
_HISTORY = 100


def token_id(issued_at: dt.datetime) -> str:
    """A token's identity for run keys, tags and alert keys: its issue time, never a token value."""
    return str(int(issued_at.timestamp()))


def reauth_alert_key(tid: str) -> str:
    return f"saxo_token:reauth:{tid}"


def refresh_failing_alert_key(tid: str) -> str:
    return f"saxo_token:refresh_failing:{tid}"


class SaxoTokenConfig(dg.Config):
    force: bool = Field(default=False, description="refresh even if the access token is still valid")


@dataclass(frozen=True)
class RecordedFailure:
    """A failed refresh as this asset recorded it (an observation of ``ops/saxo_token``)."""

    storage_id: int
    outcome: OutcomeKind
    checked_at: dt.datetime
    alert_key: str | None
    alert_sent: bool

    @property
    def terminal(self) -> bool:
        """Retrying the same token cannot help: wait for a person (a new token in the cache)."""
        return self.outcome in (OutcomeKind.FAILED_TERMINAL, OutcomeKind.EXPIRED)


def recorded_failures(instance: dg.DagsterInstance, tid: str) -> list[RecordedFailure]:
    """The recorded failed refreshes of token ``tid``, newest first."""
    found = []
    for record in instance.fetch_observations(SAXO_TOKEN_KEY, limit=_HISTORY).records:
        observation = record.asset_observation
        meta: dict[str, Any] = {k: v.value for k, v in observation.metadata.items()} if observation else {}
        if meta.get("issued_at_epoch") != tid or "outcome" not in meta:
            continue
        found.append(
            RecordedFailure(
                storage_id=record.storage_id,
                outcome=OutcomeKind(meta["outcome"]),
                checked_at=dt.datetime.fromtimestamp(float(meta["checked_at"]), dt.UTC),
                alert_key=meta.get("alert_key"),
                alert_sent=bool(meta.get("alert_sent")),
            )
        )
    return found


def alert_sent_for(instance: dg.DagsterInstance, tid: str, key: str) -> bool:
    return any(f.alert_sent and f.alert_key == key for f in recorded_failures(instance, tid))


def outcome_metadata(outcome: RefreshOutcome, margin: dt.timedelta) -> dict[str, Any]:
    """The UI's view of a refresh: times, outcome, HTTP attempts. No token, by construction."""
    meta: dict[str, Any] = {
        "outcome": outcome.kind.value,
        "message": outcome.message,
        "checked_at": dg.MetadataValue.timestamp(outcome.checked_at),
        "http_attempts": outcome.http_attempts,
        "cache_path": dg.MetadataValue.path(outcome.cache_path),
    }
    if outcome.freshness:
        meta["freshness_before"] = outcome.freshness.value
    if outcome.state:
        # The runbook's name: AccessValid / NeedsRefresh / Expired24hToken.
        meta["state"] = outcome.state.value
    if outcome.issued_at and outcome.expires_at and outcome.refresh_expires_at:
        meta |= {
            "issued_at": dg.MetadataValue.timestamp(outcome.issued_at),
            "expires_at": dg.MetadataValue.timestamp(outcome.expires_at),
            "refresh_expires_at": dg.MetadataValue.timestamp(outcome.refresh_expires_at),
            "next_refresh_due_at": dg.MetadataValue.timestamp(
                min(outcome.expires_at, outcome.refresh_expires_at) - margin
            ),
        }
    if outcome.http_status is not None:
        meta["http_status"] = outcome.http_status
    if outcome.error_code:
        meta["error_code"] = outcome.error_code
    return meta


def token_fields(
    cache_path: str,
    issued: dt.datetime | None,
    expires: dt.datetime | None,
    refresh_expires: dt.datetime | None,
) -> dict[str, str]:
    times = {"issued_at": issued, "expires_at": expires, "refresh_expires_at": refresh_expires}
    return {"cache": cache_path, **{k: v.isoformat() for k, v in times.items() if v}}


def failure_alert(outcome: RefreshOutcome, tid: str, link: str | None) -> Alert:
    """The one alert for a failed refresh of token ``tid``."""
    fields = token_fields(
        outcome.cache_path, outcome.issued_at, outcome.expires_at, outcome.refresh_expires_at
    )
    fields |= {"outcome": outcome.kind.value, "http_attempts": str(outcome.http_attempts)}
    if outcome.state:
        fields["state"] = outcome.state.value
    if outcome.http_status is not None:
        fields["http_status"] = str(outcome.http_status)
    if outcome.error_code:
        fields["error"] = outcome.error_code
    if outcome.kind is OutcomeKind.FAILED_TRANSIENT:
        until = outcome.refresh_expires_at.isoformat() if outcome.refresh_expires_at else "unknown"
        reason = (
            f"{outcome.message}. The keeper tries again at a later sensor tick; a person is needed only "
            f"if it keeps failing until the refresh token expires ({until})"
        )
        return Alert(
            refresh_failing_alert_key(tid), "Saxo token refresh failing", "warning", reason, fields, link
        )
    # Terminal: invalid_grant and friends say so in the message; a rejected request is configuration.
    title = REAUTH_MESSAGE if REAUTH_MESSAGE in outcome.message else "Saxo token keeper needs an operator"
    return Alert(reauth_alert_key(tid), title, "critical", outcome.message, fields, link)


def _bootstrap(context: dg.AssetExecutionContext, saxo: SaxoResource) -> None:
    try:
        seeded = saxo.bootstrap()
    except TokenCacheError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    if seeded is Bootstrap.COPIED:
        context.log.info(f"Bootstrapped {saxo.cache_path} from {saxo.bootstrap_from} (one-time copy)")


def _report_once(context: dg.AssetExecutionContext, alerts: AlertsResource, alert: Alert, tid: str) -> bool:
    """Send ``alert`` unless a run already did for this token; tag the run as self-alerted. True if sent."""

    def tag_run() -> None:
        # Added while running, not on the job: only a failure this asset reported is skipped.
        context.instance.add_run_tags(context.run.run_id, SELF_ALERTING_TAG)

    if alert_sent_for(context.instance, tid, alert.key):
        context.log.info(f"Alert {alert.key} was sent by an earlier run; not repeating it")
        tag_run()
        return False
    try:
        alerts.sender(context.log).send(alert)
    except AlertError as exc:
        context.log.error(f"{exc}; leaving this run to the generic run-failure alert")
        return False
    tag_run()
    return True


@dg.asset(key_prefix=GROUP, name="saxo_token", group_name=GROUP, kinds={"oauth"}, check_specs=CHECK_SPECS)
def saxo_token(
    context: dg.AssetExecutionContext,
    config: SaxoTokenConfig,
    saxo: SaxoResource,
    alerts: AlertsResource,
    clock: ClockParam,
) -> dg.MaterializeResult:
    """The Saxo OpenAPI OAuth token cache, refreshed before it expires. Metadata shows its issue and
    expiry times (never the token). A refresh the token endpoint refuses fails the run, alerts once,
    and is not retried: a person must re-authorise."""
    if not saxo.enabled:
        raise dg.Failure(
            "The Saxo token keeper is disabled (setting saxo.enabled is false)", allow_retries=False
        )
    _bootstrap(context, saxo)
    outcome = saxo.refresh(clock, force=config.force)
    metadata = outcome_metadata(outcome, saxo.margin)
    if outcome.ok:
        context.log.info(outcome.message)
        observed, checks = observe_step(context.instance, outcome, saxo.max_interval, CLEAN_WINDOW)
        return dg.MaterializeResult(metadata={**metadata, **observed}, check_results=checks)
    # Without token times (lock timeout, unreadable cache) the token is the one the run was launched for.
    tid = token_id(outcome.issued_at) if outcome.issued_at else context.run.tags.get(TOKEN_TAG, "unknown")
    alert = failure_alert(outcome, tid, alerts.run_link(context.run.run_id))
    sent = _report_once(context, alerts, alert, tid)
    record = {**metadata, "issued_at_epoch": tid, "alert_key": alert.key, "alert_sent": sent}
    context.log_event(dg.AssetObservation(asset_key=SAXO_TOKEN_KEY, metadata=record))
    raise dg.Failure(description=outcome.message, metadata=metadata, allow_retries=False)
