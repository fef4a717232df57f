"""``aegis pt-health detect``: the paper-trading health detector as a command (no Dagster).

Reads a dashboard status document on stdin (or GETs it from ``--url``, tried in order, with the
bearer token from ``AEGIS_DASHBOARD_TOKEN``) and prints
``{"events": [...], "new_events": [...], "decision": "observe|notify|escalate", "evaluated_at":
{"utc", "et", "jst"}, "history": [...]}``.

Memory across evaluations: each output carries the bounded history of observations the runbook's
temporal rules need ("persists", "no self-recovery", "sustained", "repeated"...). Pass the last
output back with ``--previous FILE`` (its signatures dedup ``new_events``, its history continues),
or several earlier outputs with ``--history FILE…`` (merged by time; the newest also dedups when no
``--previous`` is given). A wrapper that keeps writing the output to the same file and passing it
as ``--previous`` gets the same decisions as the Dagster job.

Exit status: 0 whenever a result is printed, whatever the decision — the decision is in the output,
so a wrapper alerts on ``new_events`` and acts on ``decision``. A status document that cannot be read
is itself a critical event (``status_invalid`` / ``dashboard_unreachable``), not a crash. Exit 2 only
for usage errors (bad arguments, a bad ``AEGIS_PT_*`` threshold variable or profile: thresholds
and token are read through ``load_settings`` like every entry point). A missing ``--previous``
file is a first run; an unreadable one (or an unreadable ``--history`` file) is reported on stderr
and skipped, so a corrupt artefact can cause a repeated alert but never a swallowed one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from aegis_core.base.bounds import moment_arg
from aegis_core.base.clock import wall_clock
from aegis_core.base.endpoint_url import check_endpoint_url
from aegis_core.base.settings import PT_HEALTH_TIMEOUT, SettingsError, load_settings
from aegis_core.base.user_files import (
    DOCUMENT_MAX_BYTES,
    UserFileError,
    UserFileMissing,
    read_stdin,
    read_user_file,
)
from aegis_core.ops.pt_health import (
    Evaluation,
    Event,
    Observation,
    Severity,
    StatusError,
    Thresholds,
    display_url,
    evaluate_dashboard,
    evaluate_status,
    parse_history,
    parse_status,
    previous_signatures,
)
from aegis_core.ops.pt_health.fetch import MAX_STATUS_BYTES
from aegis_core.ops.pt_health.history import bounded

TOKEN_VARIABLE = "AEGIS_DASHBOARD_TOKEN"


def register(subparsers: Any) -> None:
    """Add ``pt-health detect`` to an argparse sub-parser set."""
    parser = subparsers.add_parser("pt-health", help="paper-trading health monitor")
    commands = parser.add_subparsers(dest="pt_health_command", required=True)
    detect = commands.add_parser(
        "detect",
        help="evaluate one dashboard status document",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    detect.add_argument(
        "--previous", type=Path, metavar="FILE", help="the previous output (JSON); missing file = first run"
    )
    detect.add_argument(
        "--history",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="earlier outputs (JSON) whose observations feed the temporal rules; any order",
    )
    detect.add_argument(
        "--now",
        type=moment_arg("--now"),
        metavar="ISO",
        help="evaluation time, ISO 8601 with offset, inside the NYSE calendar's horizon (default: now)",
    )
    detect.add_argument(
        "--url",
        action="append",
        dest="urls",
        metavar="URL",
        help=f"dashboard status URL instead of stdin; repeat for fallbacks (bearer from {TOKEN_VARIABLE})",
    )
    detect.add_argument(
        "--timeout",
        type=PT_HEALTH_TIMEOUT.arg("--timeout"),
        default=10.0,
        help=f"per-URL total deadline in seconds, connect and all reads ({PT_HEALTH_TIMEOUT.describe()}; "
        "default 10)",
    )
    detect.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    try:
        settings = load_settings().pt_health
    except SettingsError as exc:  # a bad AEGIS_PT_* threshold, a bad profile: named, never a secret
        print(f"pt-health detect: {exc}", file=sys.stderr)
        return 2
    thresholds = settings.thresholds
    now = args.now or wall_clock()
    try:
        check_detect_args(args)
    except ValueError as exc:
        print(f"pt-health detect: {exc}", file=sys.stderr)
        return 2
    try:
        previous = _read_previous(args.previous)
        earlier = [
            doc for doc in (_read_previous(p, "history file") for p in args.history) if doc is not None
        ]
    except UserFileError as exc:
        print(f"pt-health detect: {exc}", file=sys.stderr)
        return 2
    history = _observations([*earlier, *([previous] if previous else [])])
    if previous is None and earlier:
        previous = max(earlier, key=_latest)
    if args.urls:
        evaluation = evaluate_dashboard(
            args.urls,
            now,
            thresholds,
            token=settings.dashboard_token,
            timeout=args.timeout,
            history=history,
        )
    else:
        evaluation = _evaluate_stdin(now, thresholds, history)
    output = evaluation.output(previous)
    print(json.dumps(output, indent=2))
    return 0


def check_detect_args(args: argparse.Namespace) -> None:
    """``--url`` values are endpoints like any other (https except on loopback); ``--timeout`` is
    bounded by its argparse type."""
    for url in args.urls or []:
        check_endpoint_url(url, f"--url {display_url(url)}")


def _evaluate_stdin(now: dt.datetime, thresholds: Thresholds, history: list[Observation]) -> Evaluation:
    try:
        status = parse_status(read_stdin(max_bytes=MAX_STATUS_BYTES, what="stdin").decode())
    except (StatusError, UserFileError, UnicodeDecodeError) as exc:
        return Evaluation.of(
            [Event("status_invalid", Severity.CRITICAL, "dashboard", None, f"status on stdin: {exc}")],
            bounded(history, now, thresholds),  # nothing observed: the history passes through
            now,
        )
    return evaluate_status(status, now, thresholds, history=history)


def _read_previous(path: Path | None, what: str = "previous output") -> dict[str, Any] | None:
    """The earlier output in ``path``; None (said on stderr) when its content is not one. A path that
    is not a regular file, or one past the size cap, raises ``UserFileError``: a usage error."""
    flag = "previous" if what == "previous output" else "history"
    if path is None or (what == "previous output" and not path.exists()):
        return None
    try:  # not a regular file, or past the cap: a usage error (the handler exits 2)
        data = read_user_file(path, max_bytes=DOCUMENT_MAX_BYTES, what=f"--{flag}")
    except UserFileMissing:  # a --history file that went away (a missing --previous is a first run)
        print(f"pt-health detect: ignoring unreadable {what} {path}: not found", file=sys.stderr)
        return None
    try:
        previous = json.loads(data)
        if not isinstance(previous, dict):
            raise ValueError(f"it holds {type(previous).__name__}, not a detector output (a JSON object)")
        previous_signatures(previous)  # validates the shape
        parse_history(previous.get("history", []), f"{path}: history")
    except ValueError as exc:  # HistoryError, PreviousOutputError and a JSON error are ValueErrors
        print(f"pt-health detect: ignoring unreadable {what} {path}: {exc}", file=sys.stderr)
        return None
    return previous


def _observations(outputs: list[dict[str, Any]]) -> list[Observation]:
    return [o for doc in outputs for o in parse_history(doc.get("history", []))]


def _latest(doc: dict[str, Any]) -> dt.datetime:
    history = parse_history(doc.get("history", []))
    return max((o.at for o in history), default=dt.datetime.min.replace(tzinfo=dt.UTC))
