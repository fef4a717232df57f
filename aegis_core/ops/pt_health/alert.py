"""The Slack message of a health evaluation: decision, new events as evidence, run link."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aegis_core.alerts import Alert
from aegis_core.ops.pt_health.events import Decision

# Slack shows a few thousand characters per block: list this many new events, each cut to this length.
ALERT_EVENTS_SHOWN = 10
ALERT_MESSAGE_CHARS = 300


def health_alert(window: str, output: dict[str, Any], link: str | None) -> Alert:
    """One Slack message for the new events of an evaluation: decision, evidence, run link."""
    new = output["new_events"]
    lines = [
        f"• [{e['severity']}] `{e['signature']}`: {_cut(e['message'], ALERT_MESSAGE_CHARS)}"
        for e in new[:ALERT_EVENTS_SHOWN]
    ]
    if len(new) > ALERT_EVENTS_SHOWN:
        lines.append(f"… and {len(new) - ALERT_EVENTS_SHOWN} more (see the run)")
    decision = output["decision"]
    times = output.get("evaluated_at") or {}
    return Alert(
        key=f"pt_health:{window}",
        title=f"Paper-trading health: {decision.upper()}",
        severity="critical" if decision == Decision.ESCALATE else "warning",
        reason=f"{len(new)} new event(s) in window {window}:\n" + "\n".join(lines),
        fields={
            "decision": decision,
            "window": window,
            **({"time": _times_text(times)} if times else {}),
            "events": _severity_counts_text(output["events"]),
            "new": ", ".join(e["signature"] for e in new),
        },
        link=link,
    )


def severity_counts(events: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"critical": 0, "warn": 0}
    for event in events:
        counts[event["severity"]] = counts.get(event["severity"], 0) + 1
    return counts


def _severity_counts_text(events: list[dict[str, Any]]) -> str:
    counts = severity_counts(events)
    return f"{len(events)} total ({counts['critical']} critical, {counts['warn']} warn)"


def _times_text(times: dict[str, str]) -> str:
    """``2026-06-01 14:05 UTC · 10:05 ET · 23:05 JST`` (JST may be the next day: it shows its date)."""
    parts = []
    for zone, label in (("utc", "UTC"), ("et", "ET"), ("jst", "JST")):
        if zone in times:
            moment = dt.datetime.fromisoformat(times[zone])
            parts.append(f"{moment:%Y-%m-%d %H:%M} {label}")
    return " · ".join(parts)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
