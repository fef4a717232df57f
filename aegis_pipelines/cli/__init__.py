"""The ``aegis`` command line. Each sub-command lives in a module of this package with a ``register``
function; ``python -m aegis_pipelines.cli`` is the same as ``aegis``."""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

# Every command: its name, the module that registers it and its one-line help. Only the module of the
# command being run is imported (the others pull polars, httpx, Dagster: seconds of start-up), so
# `aegis --help` lists the commands from this table alone; tests/pipelines/test_cli_startup.py checks
# that each line matches what the module registers.
COMMANDS: dict[str, tuple[str, str]] = {
    "eod": ("eod", "run the end-of-day archive for one NYSE session"),
    "sim": ("sim", "the simulated market (Polygon-compatible loopback server)"),
    "parity": (
        "parity",
        "compare two archives (Python vs Rust) for one session; exit 0 if every parity gate holds",
    ),
    "token": ("token", "Saxo OAuth token cache: show freshness, refresh"),
    "pt-health": ("pt_health", "paper-trading health monitor"),
    "intraday": ("intraday", "capture one intraday slot's option-chain snapshots"),
    "doctor": ("doctor", "check the active configuration end to end (exit 1 on any failure)"),
    "watchdog": ("watchdog", "alert Slack when the Dagster daemon or an expected schedule tick is missing"),
}


def _module(name: str):
    return importlib.import_module(f"aegis_pipelines.cli.{COMMANDS[name][0]}")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full arguments of the command ``argv`` names (every command's when
    ``argv`` is None) and only a help line for the others."""
    parser = argparse.ArgumentParser(prog="aegis", description="AEGIS data pipelines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    first = None if argv is None else next((a for a in argv if not a.startswith("-")), None)
    for name, (_, help_line) in COMMANDS.items():
        if argv is None or name == first:
            _module(name).register(sub)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def quiet_dagster() -> None:
    """Commands print their own output: Dagster's lifecycle notices about the Beta/Preview parameters
    the code location uses knowingly are for library users, not for operators."""
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")


def main(argv: Sequence[str] | None = None) -> int:
    quiet_dagster()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
