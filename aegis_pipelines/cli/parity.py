"""``aegis parity``: compare a Python and a Rust archive for one session, outside Dagster.

Exit codes: 0 every gate holds, 1 a gate fails, 2 a usage error (missing archive, bad date,
unknown type, negative tolerance), the same code argparse uses for its own usage errors.
Deliberately free of Dagster so it starts fast and runs where Dagster is not installed.

``aegis parity readiness`` prints the cutover readiness (consecutive business days of green parity
per artefact, and the runbook's 2 EOD + 2 intraday days rule) with the same function as the
``ldas/parity_readiness`` asset; exit 0 only when the rule is met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import PARITY_COUNT, PARITY_IV_RANK
from aegis_core.calendar import CalendarRangeError, not_a_session, nyse, parse_session_date
from aegis_core.ldas.parity import (
    PARITY_ARTEFACTS,
    ParityTolerances,
    SameArchiveError,
    check_distinct_roots,
    compare_archives,
    session_file_count,
)
from aegis_core.ldas.readiness import DEFAULT_LOOKBACK, LOOKBACK, parity_readiness

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
COMMAND = "parity"


def register(subparsers: Any) -> None:
    """Add the ``parity`` sub-command to an ``argparse`` sub-parser collection."""
    p = subparsers.add_parser(
        COMMAND,
        help="compare two archives (Python vs Rust) for one session; exit 0 if every parity gate holds",
        description=(
            "Compare two archives with the same layout for one session: file counts, file names, "
            "rows per file, schemas, gex_regime distribution, iv_rank values and intraday cadence. "
            "Exit 0 if every gate holds, 1 if any fails, 2 on usage errors."
        ),
    )
    # Required for the comparison itself; optional to argparse so that `aegis parity readiness` parses
    # (``handler`` reports them missing as argparse would).
    p.add_argument("--python-archive", type=Path, help="root of the Python (canonical) archive (required)")
    p.add_argument("--rust-archive", type=Path, help="root of the Rust (reference) archive (required)")
    p.add_argument("--date", help="session date, YYYY-MM-DD (required)")
    p.add_argument(
        "--types",
        help=f"comma-separated artefacts to compare (required): {','.join(PARITY_ARTEFACTS)}",
    )
    defaults = ParityTolerances()
    # The same ranges as the profile's parity tolerances.
    for flag, default in (
        ("--tolerance-file-count", defaults.file_count),
        ("--tolerance-row-count", defaults.row_count),
        ("--tolerance-regime", defaults.regime),
    ):
        p.add_argument(
            flag, type=PARITY_COUNT.arg(flag), default=default, metavar="N", help=PARITY_COUNT.describe()
        )
    p.add_argument(
        "--tolerance-iv-rank",
        type=PARITY_IV_RANK.arg("--tolerance-iv-rank"),
        default=defaults.iv_rank_abs,
        metavar="X",
        help=PARITY_IV_RANK.describe(),
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.set_defaults(func=handler, parity_parser=p)
    _register_readiness(p.add_subparsers(dest="parity_command", metavar="readiness"))


class UsageError(ValueError):
    pass


@dataclass(frozen=True)
class _Request:
    python_root: Path
    rust_root: Path
    session: dt.date
    artefacts: tuple[str, ...]
    tolerances: ParityTolerances


def _validate(args: argparse.Namespace) -> _Request:
    roots = {}
    for side, flag in (("python", "--python-archive"), ("rust", "--rust-archive")):
        root = Path(getattr(args, f"{side}_archive"))
        if not root.is_dir():
            state = "is not a directory" if root.exists() else "does not exist"
            raise UsageError(f"{flag} {root} {state}")
        roots[side] = root
    try:
        check_distinct_roots(roots["python"], roots["rust"])
    except SameArchiveError as exc:
        raise UsageError(str(exc)) from None
    try:
        session = parse_session_date(args.date)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    try:
        if not nyse().is_session(session):
            raise UsageError(f"--date {not_a_session(session)}")
    except CalendarRangeError as exc:
        raise UsageError(f"--date: {exc}") from None
    artefacts = tuple(dict.fromkeys(t.strip() for t in args.types.split(",") if t.strip()))
    unknown = [t for t in artefacts if t not in PARITY_ARTEFACTS]
    if unknown or not artefacts:
        bad = f"unknown type(s) {', '.join(unknown)}" if unknown else "no types given"
        raise UsageError(f"--types: {bad}; expected some of {','.join(PARITY_ARTEFACTS)}")
    try:
        tolerances = ParityTolerances(
            file_count=args.tolerance_file_count,
            row_count=args.tolerance_row_count,
            regime=args.tolerance_regime,
            iv_rank_abs=args.tolerance_iv_rank,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not any(session_file_count(root, a, session) for root in roots.values() for a in artefacts):
        raise UsageError(
            f"neither archive holds a {', '.join(artefacts)} file for {session}: nothing to compare "
            "(check --date and the archive roots)"
        )
    return _Request(roots["python"], roots["rust"], session, artefacts, tolerances)


def handler(args: argparse.Namespace) -> int:
    flags = ("--python-archive", "--rust-archive", "--date", "--types")
    absent = [f for f in flags if getattr(args, f[2:].replace("-", "_")) is None]
    if absent:  # argparse's own message and exit code (2), as when the flags were required
        args.parity_parser.error(f"the following arguments are required: {', '.join(absent)}")
    try:
        request = _validate(args)
    except UsageError as exc:
        print(f"aegis {COMMAND}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = compare_archives(
        request.python_root, request.rust_root, request.session, request.artefacts, request.tolerances
    )
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render_table())
    return EXIT_OK if report.passed else EXIT_FAILED


# --- aegis parity readiness ------------------------------------------------------------------------


def _register_readiness(subparsers: Any) -> None:
    r = subparsers.add_parser(
        "readiness",
        help="cutover readiness: consecutive business days of green parity; exit 0 only when the rule is met",
        description=(
            "Per artefact, the consecutive business days (NYSE sessions) of green parity ending at --date, "
            "and whether the migration runbook's rule (2 days EOD parity green + 2 days intraday parity "
            "green) is met. The archives default to the configured ones (AEGIS_ARCHIVE_ROOT, "
            "AEGIS_PARITY_ROOT) and the tolerances to the profile's parity section (the runbook's defaults "
            "when no profile can be read and both archives are given). "
            "Exit 0 when the rule is met, 1 when not, 2 on usage errors."
        ),
    )
    r.add_argument("--python-archive", type=Path, help="default: the configured archive root")
    r.add_argument("--rust-archive", type=Path, help="default: the reference archive (AEGIS_PARITY_ROOT)")
    r.add_argument("--date", help="the last session counted, YYYY-MM-DD (default: the latest completed)")
    r.add_argument(
        "--lookback",
        type=LOOKBACK.arg("--lookback"),
        default=DEFAULT_LOOKBACK,
        metavar="N",
        help=f"sessions looked at at most ({LOOKBACK.describe()})",
    )
    r.add_argument("--json", action="store_true", help="print the readiness as JSON instead of a table")
    r.set_defaults(func=readiness_handler)


def _readiness_inputs(args: argparse.Namespace) -> tuple[Path, Path, dt.date, ParityTolerances]:
    from aegis_core.base.settings import SettingsError, load_settings

    python_root, rust_root, tolerances = args.python_archive, args.rust_archive, ParityTolerances()
    try:
        settings = load_settings()
    except SettingsError as exc:
        if python_root is None or rust_root is None:
            raise UsageError(f"cannot read the configuration for the default archives: {exc}") from None
        settings = None  # both archives given: the runbook's default tolerances
    if settings is not None:
        python_root = python_root or settings.archive_root
        if rust_root is None and settings.parity.reference_root is None:
            raise UsageError("no reference archive: pass --rust-archive or set AEGIS_PARITY_ROOT")
        rust_root = rust_root or settings.parity.reference_root
        p = settings.parity
        tolerances = ParityTolerances(p.file_count, p.row_count, p.regime, p.iv_rank_abs)
    for flag, root in (("--python-archive", python_root), ("--rust-archive", rust_root)):
        if not Path(root).is_dir():
            raise UsageError(
                f"{flag} {root} {'is not a directory' if Path(root).exists() else 'does not exist'}"
            )
    try:
        check_distinct_roots(Path(python_root), Path(rust_root))
    except SameArchiveError as exc:
        raise UsageError(str(exc)) from None
    try:
        day = (
            parse_session_date(args.date) if args.date else nyse().latest_completed_session(wall_clock()).date
        )
        nyse().require_session(day)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    return Path(python_root), Path(rust_root), day, tolerances


def readiness_handler(args: argparse.Namespace) -> int:
    try:
        python_root, rust_root, day, tolerances = _readiness_inputs(args)
    except UsageError as exc:
        print(f"aegis {COMMAND} readiness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ready = parity_readiness(python_root, rust_root, day, tolerances, args.lookback)
    print(json.dumps(ready.to_dict(), indent=2) if args.json else ready.render_table())
    return EXIT_OK if ready.met else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m aegis_pipelines.cli.parity parity --python-archive …``."""
    from aegis_pipelines.cli import OneLineParser

    parser = OneLineParser(prog="aegis")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
