"""The ``aegis`` command line. Each sub-command lives in a module of this package with a ``register``
function; ``python -m aegis_pipelines.cli`` is the same as ``aegis``."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence


def _modules():
    # Imported here so a broken optional module cannot break `aegis --help` for the others.
    from aegis_pipelines.cli import doctor, eod, intraday, parity, pt_health, sim, token, watchdog

    return [eod, sim, parity, token, pt_health, intraday, doctor, watchdog]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aegis", description="AEGIS data pipelines")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _modules():
        module.register(sub)
    return parser


def quiet_dagster() -> None:
    """Commands print their own output: Dagster's lifecycle notices about the Beta/Preview parameters
    the code location uses knowingly are for library users, not for operators."""
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")


def main(argv: Sequence[str] | None = None) -> int:
    quiet_dagster()
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
