"""``aegis parity``: compare a Python and a Rust archive for one session, outside Dagster.

Exit codes: 0 every gate holds, 1 a gate fails, 2 a usage error (missing archive, bad date,
unknown type, negative tolerance), the same code argparse uses for its own usage errors.
Deliberately free of Dagster so it starts fast and runs where Dagster is not installed.
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

from aegis_core.calendar import CalendarRangeError, nyse, parse_session_date
from aegis_core.parity import PARITY_ARTEFACTS, ParityTolerances, compare_archives, session_file_count

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
    p.add_argument(
        "--python-archive", required=True, type=Path, help="root of the Python (canonical) archive"
    )
    p.add_argument("--rust-archive", required=True, type=Path, help="root of the Rust (reference) archive")
    p.add_argument("--date", required=True, help="session date, YYYY-MM-DD")
    p.add_argument(
        "--types",
        required=True,
        help=f"comma-separated artefacts to compare: {','.join(PARITY_ARTEFACTS)}",
    )
    defaults = ParityTolerances()
    p.add_argument("--tolerance-file-count", type=int, default=defaults.file_count, metavar="N")
    p.add_argument("--tolerance-row-count", type=int, default=defaults.row_count, metavar="N")
    p.add_argument("--tolerance-regime", type=int, default=defaults.regime, metavar="N")
    p.add_argument("--tolerance-iv-rank", type=float, default=defaults.iv_rank_abs, metavar="X")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.set_defaults(func=handler)


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
        session = parse_session_date(args.date)
    except ValueError as exc:
        raise UsageError(f"--date: {exc}") from None
    try:
        if nyse().session(session) is None:
            raise UsageError(f"--date {session} is not an NYSE session (weekend or holiday)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m aegis_pipelines.cli_parity parity --python-archive …``."""
    parser = argparse.ArgumentParser(prog="aegis")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
