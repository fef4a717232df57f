"""The watchdog's reading of the instance, and its loop (``aegis watchdog``; its own compose service).

It reads the daemon heartbeats and the schedule ticks the daemon writes to the instance's storage
(Postgres in production), lets ``aegis_core.ops.watchdog`` decide, and sends the alerts straight to Slack
(``SlackSender``; the log without Slack). The ``AlertLedger`` of the alerts already sent is kept in
the instance's key-value store, so a restarted watchdog does not repeat them. If the instance cannot
be read, that is an alert too (once per error kind until it answers again); the next pass tries again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

import dagster as dg
from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType

from aegis_core.alerts import Alert, AlertError, AlertSender, LogSender, SlackSender
from aegis_core.base.alert_ledger import AlertLedger, deliver
from aegis_core.base.settings import Settings
from aegis_core.ops.watchdog import EXPECTED_TICKS, Policy, ScheduleObservation, watchdog_alerts

log = logging.getLogger("aegis.watchdog")

LEDGER_KEY = "aegis/watchdog/alerted"


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def heartbeats(instance: dg.DagsterInstance) -> dict[str, dt.datetime]:
    """Daemon type -> time of its last heartbeat."""
    return {name: _utc(beat.timestamp) for name, beat in instance.get_daemon_heartbeats().items()}


def schedules(instance: dg.DagsterInstance, names: list[str]) -> dict[str, ScheduleObservation]:
    """Each watched schedule the instance knows: stopped by an operator?, and its latest tick."""
    out: dict[str, ScheduleObservation] = {}
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SCHEDULE):
        if state.instigator_name not in names:
            continue
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        last = _utc(ticks[0].timestamp) if ticks else None
        previous = out.get(state.instigator_name)
        if previous is not None and previous.last_tick and (last is None or previous.last_tick > last):
            last = previous.last_tick  # the same schedule under an older origin (location renamed)
        out[state.instigator_name] = ScheduleObservation(
            stopped=state.status == InstigatorStatus.STOPPED, last_tick=last
        )
    return out


def policy_from(settings: Settings) -> Policy:
    return Policy(
        heartbeat_max_age=dt.timedelta(seconds=settings.watchdog.heartbeat_max_age_s),
        tick_grace=dt.timedelta(seconds=settings.watchdog.tick_grace_s),
        webserver_url=settings.alerts.webserver_url.rstrip("/"),
    )


def sender_from(settings: Settings) -> AlertSender:
    alerts = settings.alerts
    if alerts.slack_token is not None and alerts.slack_channel:
        return SlackSender(alerts.slack_token, alerts.slack_channel, alerts.slack_base_url)
    return LogSender(log)


def due_alerts(
    instance: dg.DagsterInstance, policy: Policy, since: dt.datetime, now: dt.datetime
) -> list[Alert]:
    """What is wrong at ``now``, before deduplication."""
    watched = schedules(instance, list(EXPECTED_TICKS))
    return watchdog_alerts(now, since, heartbeats(instance), watched, policy)


def alerted(instance: dg.DagsterInstance) -> AlertLedger:
    """The alerts already sent (by the service or by ``--once``)."""
    return AlertLedger.loads(instance.run_storage.get_cursor_values({LEDGER_KEY}).get(LEDGER_KEY))


def send_due(instance: dg.DagsterInstance, sender: AlertSender, due: list[Alert]) -> list[Alert]:
    """Send the alerts not sent before, by the one alert-once rule (the ledger is in the instance);
    the ``AlertError`` of a failed send propagates after the ledger is saved (the next pass retries)."""
    ledger = alerted(instance)
    delivery = deliver(due, sender, ledger)
    instance.run_storage.set_cursor_values({LEDGER_KEY: ledger.dumps()})
    for alert, exc in delivery.given_up:
        log.error("alert given up after repeated failed sends (%s): %s", exc, alert.text)
    if delivery.failed:
        raise delivery.failed[0][1]
    return delivery.sent


def check_once(
    instance: dg.DagsterInstance, sender: AlertSender, policy: Policy, since: dt.datetime, now: dt.datetime
) -> tuple[list[Alert], list[Alert]]:
    """One pass: observe, decide, send what is new, remember it. Returns (alerts due, alerts sent)."""
    due = due_alerts(instance, policy, since, now)
    return due, send_due(instance, sender, due)


def instance_error_alert(exc: Exception, policy: Policy) -> Alert:
    return Alert(
        f"watchdog:instance:{type(exc).__name__}",
        "Watchdog cannot read the Dagster instance",
        "critical",
        f"{type(exc).__name__}: the daemon's heartbeats and schedule ticks are unknown",
        {},
        policy.webserver_url + "/health",
    )


def run(
    instance_factory: Callable[[], dg.DagsterInstance],
    sender: AlertSender,
    policy: Policy,
    interval_s: float,
    stop: threading.Event,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    passes: int | None = None,
) -> int:
    """Pass after pass every ``interval_s`` until ``stop`` is set (or ``passes`` are done)."""
    since, done, own = clock(), 0, AlertLedger()
    instance: dg.DagsterInstance | None = None
    while not stop.is_set() and (passes is None or done < passes):
        try:
            instance = instance or instance_factory()
            _, sent = check_once(instance, sender, policy, since, clock())
            for alert in sent:
                log.warning("alerted: %s", alert.text)
            own = AlertLedger()  # the instance answered: a later outage of it alerts again
        except AlertError as exc:
            log.error("%s (next pass tries again)", exc)
        except Exception as exc:  # the instance is unreachable: say so once, keep watching
            log.error("cannot read the instance: %s: %s", type(exc).__name__, exc)
            if instance is not None:
                instance.dispose()
            instance = None
            for _, alert_exc in deliver([instance_error_alert(exc, policy)], sender, own).failed:
                log.error("%s", alert_exc)
        done += 1
        stop.wait(interval_s)
    if instance is not None:
        instance.dispose()
    return done
