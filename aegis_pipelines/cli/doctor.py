"""``aegis doctor``: check the active configuration end to end; exit 1 if anything fails.

The configuration checks (settings, variables, folders, universe, Polygon, Slack, dashboards) live in
``aegis_pipelines.doctor``; this adds the two that need Dagster: the code location loads with these
settings, and the instance in ``DAGSTER_HOME`` loads (in production: Postgres reachable, the Docker
run launcher configured).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from collections import Counter
from collections.abc import Mapping

from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import Settings
from aegis_pipelines.cli.local_run import ensure_dagster_home
from aegis_pipelines.doctor import (
    DEFAULT_TIMEOUT_S,
    PROBE_TIMEOUT,
    Check,
    failed,
    passed,
    run_checks,
    skipped,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the active configuration end to end (exit 1 on any failure)")
    p.add_argument(
        "--timeout",
        type=PROBE_TIMEOUT.arg("--timeout"),
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"timeout of each request to an external service ({PROBE_TIMEOUT.describe()}; "
        "default: %(default)s)",
    )
    p.add_argument(
        "--no-dagster", action="store_true", help="skip loading the code location and the Dagster instance"
    )
    p.set_defaults(func=run)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def unset_variables(exc: BaseException) -> list[str]:
    """The variables a Dagster config error says are unset (its message buries them in stack traces)."""
    return sorted(
        set(re.findall(r'environment variable "([A-Za-z_][A-Za-z0-9_]*)" which is not set', str(exc)))
    )


def check_definitions(settings: Settings) -> Check:
    name = "code location"
    try:
        with warnings.catch_warnings():  # beta/preview notices are for developers, not this report
            warnings.simplefilter("ignore")
            import dagster as dg

            from aegis_pipelines.definitions import build_definitions

            defs = build_definitions(settings)
        dg.Definitions.validate_loadable(defs)
        repo = defs.get_repository_def()
    except Exception as exc:  # any import or definition error is the finding
        return failed(name, _first_line(exc))
    return passed(
        name,
        f"loads: {len(repo.assets_defs_by_key)} assets, {len(repo.get_all_jobs())} jobs, "
        f"{len(repo.schedule_defs)} schedules, {len(repo.sensor_defs)} sensors",
    )


def check_instance(environ: Mapping[str, str]) -> Check:
    name = "dagster instance"
    home = environ.get("DAGSTER_HOME")
    if not home:
        return skipped(name, "DAGSTER_HOME not set")
    try:
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            storage = type(instance.run_storage).__name__
            launcher = type(instance.run_launcher).__name__
    except Exception as exc:  # a missing {env: …} variable, an unreachable database, a bad dagster.yaml
        missing = unset_variables(exc)
        if missing:
            return failed(
                name, f"{home}/dagster.yaml needs unset environment variables: {', '.join(missing)}"
            )
        return failed(name, f"DAGSTER_HOME={home}: {_first_line(exc)}")
    return passed(name, f"DAGSTER_HOME={home}: {storage}, {launcher}")


def run(args: argparse.Namespace) -> int:
    with contextlib.suppress(ValueError):  # the same default instance as `aegis eod`: the project folder
        ensure_dagster_home()
    checks, settings = run_checks(os.environ, timeout_s=args.timeout, clock=wall_clock)
    if args.no_dagster:
        checks.append(skipped("dagster", "--no-dagster"))
    else:
        if settings is not None:
            checks.append(check_definitions(settings))
        checks.append(check_instance(os.environ))
    for check in checks:
        print(check.line)
    counts = Counter(c.status for c in checks)
    warned = f", {counts['warn']} warning(s)" if counts["warn"] else ""
    failing, unchecked = counts["fail"], counts["skip"]
    print(f"\naegis doctor: {counts['pass']} ok, {failing} failing{warned}, {unchecked} not checked")
    sys.stdout.flush()
    return 1 if counts["fail"] else 0
