"""``aegis pt-health detect``: the paper-trading health detector as a command (no Dagster).

Reads a dashboard status document on stdin (or GETs it from ``--url``, tried in order, with the
bearer token from ``AEGIS_DASHBOARD_TOKEN``) and prints
``{"events": [...], "new_events": [...], "decision": "observe|notify|escalate"}``.

Exit status: 0 whenever a result is printed, whatever the decision — the decision is in the output,
so a wrapper alerts on ``new_events`` and acts on ``decision``. A status document that cannot be read
is itself a critical event (``status_invalid`` / ``dashboard_unreachable``), not a crash. Exit 2 only
for usage errors (bad arguments, a bad ``AEGIS_PT_*`` threshold variable). A missing ``--previous``
file is a first run; an unreadable one is reported on stderr and also treated as a first run, so a
corrupt artefact can cause a repeated alert but never a swallowed one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from aegis_core.endpoint_url import check_endpoint_url
from aegis_core.pt_health import (
    Evaluation,
    Event,
    Severity,
    StatusError,
    ThresholdError,
    Thresholds,
    display_url,
    evaluate_dashboard,
    evaluate_status,
    parse_status,
    previous_signatures,
)

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
        "--now",
        type=_aware_datetime,
        metavar="ISO",
        help="evaluation time, ISO 8601 with offset (default: now)",
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
        type=float,
        default=10.0,
        help="per-URL total deadline in seconds, connect and all reads (default 10)",
    )
    detect.set_defaults(func=handler)


def handler(args: argparse.Namespace) -> int:
    try:
        thresholds = Thresholds.from_env(os.environ)
    except ThresholdError as exc:
        print(f"pt-health detect: {exc}", file=sys.stderr)
        return 2
    now = args.now or dt.datetime.now(dt.UTC)
    try:
        check_detect_args(args)
    except ValueError as exc:
        print(f"pt-health detect: {exc}", file=sys.stderr)
        return 2
    if args.urls:
        token = os.environ.get(TOKEN_VARIABLE)
        evaluation = evaluate_dashboard(
            args.urls, now, thresholds, token=SecretStr(token) if token else None, timeout=args.timeout
        )
    else:
        evaluation = _evaluate_stdin(now, thresholds)
    output = evaluation.output(_read_previous(args.previous))
    print(json.dumps(output, indent=2))
    return 0


def check_detect_args(args: argparse.Namespace) -> None:
    """``--url`` values are endpoints like any other (https except on loopback); ``--timeout`` is a
    positive total deadline."""
    for url in args.urls or []:
        check_endpoint_url(url, f"--url {display_url(url)}")
    if not (0 < args.timeout <= 3600):
        raise ValueError(f"--timeout must be between 0 and 3600 seconds (got {args.timeout:g})")


def _evaluate_stdin(now: dt.datetime, thresholds: Thresholds) -> Evaluation:
    try:
        status = parse_status(sys.stdin.read())
    except StatusError as exc:
        return Evaluation.of(
            [Event("status_invalid", Severity.CRITICAL, "dashboard", None, f"status on stdin: {exc}")]
        )
    return evaluate_status(status, now, thresholds)


def _read_previous(path: Path | None) -> dict[str, Any] | None:
    if path is None or not path.exists():
        return None
    try:
        previous = json.loads(path.read_text())
        previous_signatures(previous)  # validates the shape
    except (OSError, ValueError) as exc:
        print(f"pt-health detect: ignoring unreadable previous output {path}: {exc}", file=sys.stderr)
        return None
    return previous


def _aware_datetime(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --now {text!r}: expected ISO 8601") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"--now {text!r} needs a UTC offset (e.g. 2026-06-01T14:05:00Z)")
    return value
