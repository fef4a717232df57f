"""The ``aegis`` command line. Each sub-command lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from aegis_pipelines import cli_eod


def _modules():
    # Imported here so a broken optional module cannot break `aegis --help` for the others.
    from aegis_pipelines import (
        cli_doctor,
        cli_intraday,
        cli_parity,
        cli_pt_health,
        cli_sim,
        cli_token,
        cli_watchdog,
    )

    return [cli_eod, cli_sim, cli_parity, cli_token, cli_pt_health, cli_intraday, cli_doctor, cli_watchdog]


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
