"""The watchdog against a real Dagster instance on the local PostgreSQL (the production dagster.yaml).

Heartbeats, schedule states and ticks are written with the instance's own API, as the daemon writes
them; the watchdog reads them back, alerts a fake Slack over HTTP, and remembers what it sent in the
instance's key-value store (a second watchdog process does not repeat an alert).
"""

from __future__ import annotations

import datetime as dt
import threading

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
    TickData,
    TickStatus,
)
from dagster._daemon.types import DaemonHeartbeat

from aegis_core.alerts import AlertError, SlackSender
from aegis_core.calendar import NY
from aegis_core.ops.watchdog import EOD_SCHEDULE, INTRADAY_SCHEDULE, Policy
from aegis_pipelines.instance import watchdog
from tests.deploy.test_instance_postgres import (  # noqa: F401  (fixtures)
    PG_HOST,
    PG_USER,
    STORAGE_VARIABLES,
    pg_database,
    production_home,
)
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.postgres

POLICY = Policy(heartbeat_max_age=dt.timedelta(minutes=3), tick_grace=dt.timedelta(minutes=10))
NOW = dt.datetime(2026, 11, 20, 17, 30, tzinfo=NY)  # a Friday session, 15 minutes after the EOD tick
SINCE = dt.datetime(2026, 11, 20, 9, 0, tzinfo=NY)
REPO = RemoteRepositoryOrigin(GrpcServerCodeLocationOrigin("code_location", 4000, "aegis"), "__repository__")


@pytest.fixture
def instance(pg_database, production_home, monkeypatch):  # noqa: F811
    for name, value in zip(STORAGE_VARIABLES, (PG_HOST, PG_USER, "trust", pg_database), strict=True):
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as inst:
        inst.wipe()
        inst.wipe_all_schedules()
        inst.run_storage.set_cursor_values({watchdog.LEDGER_KEY: "[]"})
        yield inst


def beat(instance: dg.DagsterInstance, when: dt.datetime, *daemons: str) -> None:
    for name in daemons:
        instance.add_daemon_heartbeat(DaemonHeartbeat(when.timestamp(), name, "daemon-1"))


def schedule(
    instance: dg.DagsterInstance, name: str, status=InstigatorStatus.DECLARED_IN_CODE
) -> InstigatorState:
    state = InstigatorState(
        RemoteInstigatorOrigin(REPO, name),
        InstigatorType.SCHEDULE,
        status,
        ScheduleInstigatorData("* * * * *"),
    )
    instance.add_instigator_state(state)
    return state


def tick(instance: dg.DagsterInstance, state: InstigatorState, when: dt.datetime) -> None:
    instance.create_tick(
        TickData(
            instigator_origin_id=state.instigator_origin_id,
            instigator_name=state.instigator_name,
            instigator_type=InstigatorType.SCHEDULE,
            status=TickStatus.SKIPPED,
            timestamp=when.timestamp(),
            selector_id=state.selector_id,
        )
    )


def test_the_watchdog_reads_the_instance_and_alerts_slack_once(instance):
    beat(instance, NOW - dt.timedelta(minutes=5), "SCHEDULER", "SENSOR")
    eod = schedule(instance, EOD_SCHEDULE)
    tick(instance, eod, dt.datetime(2026, 11, 19, 17, 15, 2, tzinfo=NY))
    intraday = schedule(instance, INTRADAY_SCHEDULE)
    tick(instance, intraday, dt.datetime(2026, 11, 20, 15, 50, 1, tzinfo=NY))

    assert set(watchdog.heartbeats(instance)) == {"SCHEDULER", "SENSOR"}
    seen = watchdog.schedules(instance, [EOD_SCHEDULE, INTRADAY_SCHEDULE])
    assert seen[EOD_SCHEDULE].last_tick == dt.datetime(2026, 11, 19, 17, 15, 2, tzinfo=NY)
    assert not seen[EOD_SCHEDULE].stopped

    with FakeSlack() as slack:
        sender = SlackSender("xoxb-test", "#ops", slack.base_url)
        due, sent = watchdog.check_once(instance, sender, POLICY, SINCE, NOW)
        assert [a.title for a in sent] == [
            "Dagster daemon is down",
            "Schedule tick missing: ldas_eod_schedule",
        ]
        assert due == sent
        assert [m["channel"] for m in slack.messages] == ["#ops", "#ops"]
        assert "no heartbeat for 5m00s" in slack.messages[0]["text"]
        assert "2026-11-20 17:15 ET" in slack.messages[1]["text"]
        assert slack.auth_headers[0] == "Bearer xoxb-test"

        # Another watchdog process (a restart): the problems are still due, but already alerted.
        with dg.DagsterInstance.get() as other:
            due, sent = watchdog.check_once(other, sender, POLICY, SINCE, NOW + dt.timedelta(minutes=1))
        assert len(due) == 2 and sent == [] and len(slack.messages) == 2

        # The daemon is back and the tick happened: nothing is due.
        beat(instance, NOW + dt.timedelta(minutes=2), "SCHEDULER")
        tick(instance, eod, dt.datetime(2026, 11, 20, 17, 15, 5, tzinfo=NY))
        due, sent = watchdog.check_once(instance, sender, POLICY, SINCE, NOW + dt.timedelta(minutes=3))
        assert due == [] and sent == []

        # A new outage is a new alert.
        due, sent = watchdog.check_once(instance, sender, POLICY, SINCE, NOW + dt.timedelta(minutes=9))
        assert [a.title for a in sent] == ["Dagster daemon is down"] and len(slack.messages) == 3


def test_a_schedule_stopped_by_the_operator_is_not_expected_to_tick(instance):
    beat(instance, NOW, "SCHEDULER")
    schedule(instance, EOD_SCHEDULE, InstigatorStatus.STOPPED)
    assert watchdog.schedules(instance, [EOD_SCHEDULE])[EOD_SCHEDULE].stopped
    with FakeSlack() as slack:
        due, sent = watchdog.check_once(
            instance, SlackSender("t", "#ops", slack.base_url), POLICY, SINCE, NOW
        )
    # The intraday schedule was never seen ticking (the instance does not know it): that one is due.
    assert [a.fields["schedule"] for a in due] == [INTRADAY_SCHEDULE] == [a.fields["schedule"] for a in sent]


def test_a_slack_error_is_retried_on_the_next_pass(instance):
    beat(instance, NOW - dt.timedelta(minutes=5), "SCHEDULER")
    with FakeSlack() as slack:
        sender = SlackSender("t", "#ops", slack.base_url)
        slack.fail_with = "channel_not_found"
        with pytest.raises(AlertError, match="channel_not_found"):
            watchdog.check_once(instance, sender, POLICY, NOW, NOW)
        slack.fail_with = None
        _, sent = watchdog.check_once(instance, sender, POLICY, NOW, NOW)
        assert [a.title for a in sent] == ["Dagster daemon is down"]


def test_an_unreachable_instance_alerts_once_and_the_loop_keeps_going():
    attempts = []

    def broken() -> dg.DagsterInstance:
        attempts.append(1)
        raise ConnectionError("could not connect to server")

    with FakeSlack() as slack:
        passes = watchdog.run(
            broken, SlackSender("t", "#ops", slack.base_url), POLICY, 0.01, threading.Event(), passes=3
        )
    assert passes == 3 and len(attempts) == 3
    assert [m["text"].split(":")[0] for m in slack.messages] == [
        "[CRITICAL] Watchdog cannot read the Dagster instance"
    ]


def test_an_instance_outage_after_recovery_alerts_again(instance):
    beat(instance, NOW, "SCHEDULER")
    factory = iter([ConnectionError("could not connect"), None])

    def flaky() -> dg.DagsterInstance:
        answer = next(factory)
        if answer is not None:
            raise answer
        return dg.DagsterInstance.get()  # a second client of the same storage (the fixture's stays)

    def clock_then_outage():  # `since`, pass 2's time; in pass 3 the read fails again
        yield SINCE
        yield NOW
        raise ConnectionError("server closed the connection unexpectedly")

    times = clock_then_outage()
    with FakeSlack() as slack:
        sender = SlackSender("t", "#ops", slack.base_url)
        passes = watchdog.run(flaky, sender, POLICY, 0.01, threading.Event(), lambda: next(times), passes=3)
    assert passes == 3
    # Pass 1: the instance is unreachable (alert); pass 2: it answers, all is well (the ledger of
    # instance alerts is cleared); pass 3: unreachable again, a new alert.
    titles = [m["text"].split(":")[0] for m in slack.messages]
    unreachable = "[CRITICAL] Watchdog cannot read the Dagster instance"
    assert titles[0] == titles[-1] == unreachable and titles.count(unreachable) == 2
    assert "[CRITICAL] Schedule tick missing" in titles[1:-1]  # pass 2 did read the instance


def test_aegis_watchdog_once_reports_sends_and_says_when_slack_fails(instance, monkeypatch, capsys):
    from aegis_pipelines.cli import main

    now = dt.datetime.now(dt.UTC)
    beat(instance, now - dt.timedelta(minutes=10), "SCHEDULER")
    since = (now - dt.timedelta(minutes=1)).isoformat()
    monkeypatch.setenv("AEGIS_CONFIG", "configs/local.yaml")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-once")
    monkeypatch.setenv("AEGIS_SLACK_CHANNEL", "#ops")
    with FakeSlack() as slack:
        slack.fail_with = "channel_not_found"
        monkeypatch.setenv("AEGIS_SLACK_BASE_URL", slack.base_url)
        assert main(["watchdog", "--once", "--since", since]) == 1
        out, err = capsys.readouterr()
        assert "NOT SENT: [CRITICAL] Dagster daemon is down" in out
        assert "channel_not_found" in err and "xoxb-once" not in out + err
        slack.fail_with = None
        assert main(["watchdog", "--once", "--since", since]) == 1
        assert "sent: [CRITICAL] Dagster daemon is down" in capsys.readouterr().out
        assert main(["watchdog", "--once", "--since", since]) == 1
        assert "already alerted: [CRITICAL] Dagster daemon is down" in capsys.readouterr().out
        assert len(slack.messages) == 1
    beat(instance, dt.datetime.now(dt.UTC), "SCHEDULER")
    assert main(["watchdog", "--once", "--since", since]) == 0
    assert "ok: daemon alive, no expected tick missing" in capsys.readouterr().out


def test_aegis_watchdog_names_a_bad_setting(monkeypatch, capsys):
    from aegis_pipelines.cli import main

    monkeypatch.setenv("AEGIS_CONFIG", "configs/local.yaml")
    monkeypatch.setenv("AEGIS_WATCHDOG_INTERVAL_S", "-3")
    assert main(["watchdog", "--once"]) == 2
    assert (
        "watchdog.interval_s (from environment variable AEGIS_WATCHDOG_INTERVAL_S)" in capsys.readouterr().err
    )
