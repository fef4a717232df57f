"""The ``aegis`` command line. Each sub-command lives in a module of this package with a ``register``
function; ``python -m aegis_pipelines.cli`` is the same as ``aegis``.

Python's cycle collector and start-up: a command that runs a job imports Dagster, polars and pyarrow
and builds the Definitions, a few hundred thousand objects that live until the process ends. Each
collection re-scans them and frees next to nothing: ~0.4 s before ``aegis eod``'s first request, more
during the run, and ~1 s in the interpreter's teardown after it. So start-up runs with the collector
paused and what it built is then frozen (``gc.freeze``: left out of every collection) for the rest of
the command (``startup_phase`` inside ``command_lifetime``); ``entry`` freezes everything before the
process exits (atexit handlers, thread joins and stream flushes still run).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import sys
import warnings
from collections.abc import Iterator, Sequence

from aegis_core.calendar import CalendarRangeError

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
    "checks": ("checks", "re-evaluate a session's or a slot's asset checks; exit 1 if one fails"),
    "doctor": ("doctor", "check the active configuration end to end (exit 1 on any failure)"),
    "watchdog": ("watchdog", "alert Slack when the Dagster daemon or an expected schedule tick is missing"),
}


def _module(name: str):
    return importlib.import_module(f"aegis_pipelines.cli.{COMMANDS[name][0]}")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command and the bad argument (exit 2), like
    every other refusal of the ``aegis`` commands; ``--help`` shows the usage. Sub-command parsers are
    of the same class (``add_subparsers`` uses the parent's)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full arguments of the command ``argv`` names (every command's when
    ``argv`` is None) and only a help line for the others."""
    parser = OneLineParser(prog="aegis", description="AEGIS data pipelines")
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


@contextlib.contextmanager
def command_lifetime() -> Iterator[None]:
    """The span of a command: what its start-up phases froze is handed back to the collector at the
    end (for in-process callers, such as the tests; the ``aegis`` process freezes again to exit)."""
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def startup_phase() -> Iterator[None]:
    """The collector paused while the block imports and builds what the command keeps; then all of it
    is frozen and collection resumes as it was, for the command's work (see the module docstring)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    quiet_dagster()
    argv = sys.argv[1:] if argv is None else list(argv)
    with command_lifetime():
        with startup_phase():  # imports the command's module
            args = build_parser(argv).parse_args(argv)
        try:
            return int(args.func(args) or 0)
        except CalendarRangeError as exc:  # a date past the NYSE table: one line, how to extend it
            print(f"aegis {args.command}: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130


def entry() -> None:
    """The ``aegis`` executable and ``python -m aegis_pipelines.cli``: ``main`` in a process of its own,
    which then exits without the teardown's full collection over what the command imported."""
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
