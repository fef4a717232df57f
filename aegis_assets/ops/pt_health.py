"""The paper-trading health evaluation as an asset: ``ops/pt_health``, one materialization per window.

Each run reads the trading runtime's dashboard once (GET only: the monitor never changes the
runtime), evaluates it with the pure detector in ``aegis_core.ops.pt_health``, and records the outcome
as the asset's metadata: the UI is the history of evaluations. The previous evaluation is the
latest materialization of this asset, read back from the instance, so a restarted daemon (or a new
code server) knows what was already alerted, and its ``history`` metadata (the bounded observations
of the last evaluations) is what the runbook's temporal rules ("persists", "no self-recovery",
"sustained", "repeated") are applied to. One Slack message goes out per run, only when there are
events whose signature the previous evaluation did not have. Thresholds and counts come from the
settings model through the resource (``pt_health.thresholds``, ``AEGIS_PT_*``).

Run tags: ``aegis/pt_window`` names the evaluation window (set by the sensor; its run key too). The
evaluation time comes from the ``clock`` resource (the wall clock in production definitions).
"""

import dataclasses
import datetime as dt
from typing import Any

import dagster as dg

from aegis_assets.clock import ClockParam
from aegis_assets.clock import now as read_clock
from aegis_assets.resources import AlertsResource, DashboardResource
from aegis_assets.runs import markdown_table
from aegis_core.alerts import AlertError
from aegis_core.ops.pt_health import (
    FetchResult,
    HistoryError,
    Observation,
    PreviousOutputError,
    Thresholds,
    WindowPolicy,
    evaluate_fetched,
    health_alert,
    parse_history,
    previous_signatures,
    severity_counts,
    window_at,
)

GROUP = "ops"
WINDOW_TAG = "aegis/pt_window"
ADHOC_WINDOW = "adhoc"  # a run launched by hand outside any session window
PT_HEALTH_KEY = dg.AssetKey([GROUP, "pt_health"])

MESSAGE_CHARS = 300  # event messages are cut to this length in the evidence table


def previous_output(instance: dg.DagsterInstance, log: Any) -> dict[str, Any] | None:
    """The latest recorded evaluation (``{"events": [...], "history": [...]}``), or None on a first run.

    An unreadable record counts as a first run: a repeated alert is better than a swallowed one.
    """
    record = instance.get_latest_materialization_event(PT_HEALTH_KEY)
    materialization = record.asset_materialization if record is not None else None
    if materialization is None:
        return None
    events, history = (materialization.metadata.get(k) for k in ("events", "history"))
    previous = {
        "events": events.value if events is not None else None,
        "history": history.value if history is not None else [],
    }
    try:
        previous_signatures(previous)
        parse_history(previous["history"])
    except (PreviousOutputError, HistoryError) as exc:
        log.warning(f"ignoring the previous pt_health evaluation (treated as a first run): {exc}")
        return None
    return previous


def previous_history(previous: dict[str, Any] | None) -> list[Observation]:
    return parse_history(previous["history"]) if previous else []


def evaluation_metadata(
    window: str,
    now: dt.datetime,
    output: dict[str, Any],
    fetched: FetchResult,
    dashboard: DashboardResource,
    thresholds: Thresholds,
) -> dict[str, Any]:
    events, new = output["events"], output["new_events"]
    counts = severity_counts(events)
    times = output.get("evaluated_at") or {}
    history = output.get("history", [])
    return {
        "window": window,
        "evaluated_at": now.isoformat(),
        # The runbook's operators read UTC, ET and JST: the same moment in each.
        **{f"evaluated_at_{zone}": dg.MetadataValue.text(value) for zone, value in times.items()},
        "decision": output["decision"],
        "events_total": len(events),
        "events_critical": counts["critical"],
        "events_warn": counts["warn"],
        "new_events_count": len(new),
        "events": dg.MetadataValue.json(events),
        "new_events": dg.MetadataValue.json(new),
        "evidence": _events_table(events, {e["signature"] for e in new}),
        # display_url strips user info and query: no credential can reach the UI through a URL.
        "dashboard_url": dg.MetadataValue.url(fetched.url)
        if fetched.url
        else dg.MetadataValue.text("none answered"),
        "dashboard_urls": dg.MetadataValue.json(dashboard.shown_urls()),
        "thresholds": dg.MetadataValue.json(dataclasses.asdict(thresholds)),
        # What the temporal rules saw (oldest first, this evaluation last); the next run reads it back.
        "history": dg.MetadataValue.json(history),
        "conditions": dg.MetadataValue.text(
            ", ".join(history[-1]["conditions"]) if history and history[-1]["conditions"] else "none"
        ),
    }


@dg.asset(key_prefix=GROUP, group_name=GROUP)
def pt_health(
    context: dg.AssetExecutionContext, dashboard: DashboardResource, alerts: AlertsResource, clock: ClockParam
) -> dg.MaterializeResult:
    """One health evaluation of the paper-trading runtime: observe / notify / escalate, with its events.

    Slack is told once per new problem (a signature absent from the previous evaluation).
    """
    tags = context.run.tags
    now = read_clock(clock)
    window = tags.get(WINDOW_TAG) or _window_key(now, dashboard.policy())
    thresholds = dashboard.detector_thresholds()
    fetched = dashboard.fetch()
    previous = previous_output(context.instance, context.log)
    evaluation = evaluate_fetched(fetched, now, thresholds, history=previous_history(previous))
    output = evaluation.output(previous)
    new = output["new_events"]
    context.log.info(
        f"window {window}: {output['decision']}, {len(output['events'])} event(s), {len(new)} new"
        + (": " + ", ".join(e["signature"] for e in new) if new else "")
    )
    if new:
        alert = health_alert(window, output, alerts.run_link(context.run.run_id))
        try:
            alerts.sender(context.log).send(alert)
        except AlertError as exc:
            # Not recorded on purpose: the next window still sees these events as new and alerts again.
            raise dg.Failure(
                f"{exc}; window {window} is not recorded, so the next evaluation alerts again"
            ) from None
    return dg.MaterializeResult(
        metadata=evaluation_metadata(window, now, output, fetched, dashboard, thresholds)
    )


def _window_key(now: dt.datetime, policy: WindowPolicy) -> str:
    window = window_at(now, policy)
    return window.key if window is not None else ADHOC_WINDOW


def _events_table(events: list[dict[str, Any]], new: set[str]) -> dg.MetadataValue:
    if not events:
        return dg.MetadataValue.md("_no events: every golden signal is healthy_")
    rows = [
        {
            "new": "yes" if e["signature"] in new else "",
            "severity": e["severity"],
            "signature": f"`{e['signature']}`",
            "signal": e["signal"],
            "message": _cut(e["message"], MESSAGE_CHARS).replace("|", "\\|").replace("\n", " "),
        }
        for e in events
    ]
    return markdown_table(rows, limit=100)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
