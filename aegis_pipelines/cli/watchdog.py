"""``aegis watchdog``: the daemon's watchdog, outside the daemon (its own compose service).

Every ``watchdog.interval_s`` it reads the daemon heartbeats and schedule ticks of the instance in
``DAGSTER_HOME`` and alerts Slack (the log without Slack) when the daemon or an expected schedule
tick is missing, once per problem. ``--once`` makes one pass and exits: 0 when nothing is wrong,
1 when an alert was due (sent now or before). Settings errors exit 2, naming the variable.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from aegis_core.alerts import AlertError
from aegis_core.base.bounds import moment_arg
from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import SettingsError, load_settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "watchdog",
        help="alert Slack when the Dagster daemon or an expected schedule tick is missing",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--once", action="store_true", help="one pass, then exit (1 if something is wrong)")
    p.add_argument(
        "--since",
        type=moment_arg("--since"),
        metavar="ISO",
        help="with --once: ticks expected after this time count (default: one tick grace ago)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Its own lines at INFO; the libraries' (the instance's migrations, …) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aegis").setLevel(logging.INFO)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"aegis watchdog: {exc}", file=sys.stderr)
        return 2
    import dagster as dg

    from aegis_pipelines.cli.local_run import instance_failure
    from aegis_pipelines.instance import watchdog

    policy, sender = watchdog.policy_from(settings), watchdog.sender_from(settings)
    if args.once:
        now = wall_clock()
        since = args.since or now - policy.tick_grace - policy.heartbeat_max_age
        try:
            with dg.DagsterInstance.get() as instance:
                due = watchdog.due_alerts(instance, policy, since, now)
                before = watchdog.alerted(instance)
                try:
                    watchdog.send_due(instance, sender, due)
                    failure = None
                except AlertError as exc:
                    failure = str(exc)
                after = watchdog.alerted(instance)
        except Exception as exc:  # a broken instance: one line naming it, not a traceback
            message = instance_failure(exc)
            if message is None:
                raise
            print(f"aegis watchdog: {message}", file=sys.stderr)
            return 2
        for alert in due:
            state = "already alerted" if alert.key in before else "sent" if alert.key in after else "NOT SENT"
            print(f"{state}: {alert.text}")
        if failure:
            print(f"aegis watchdog: {failure}", file=sys.stderr)
        print("ok: daemon alive, no expected tick missing" if not due else f"{len(due)} problem(s)")
        return 1 if due else 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.getLogger("aegis.watchdog").info(
        "watching every %.0fs: heartbeat limit %s, tick grace %s, alerts to %s",
        settings.watchdog.interval_s,
        policy.heartbeat_max_age,
        policy.tick_grace,
        sender,
    )
    watchdog.run(dg.DagsterInstance.get, sender, policy, settings.watchdog.interval_s, stop)
    return 0
