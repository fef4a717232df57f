"""``aegis sim serve``: run the simulated Polygon server in the foreground (contract §4).

Prints the base URL on one line, then serves until SIGINT/SIGTERM (exit 0). Never imports dagster.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aegis_core.archive.layout import is_valid_symbol
from aegis_core.base.bounds import Range, moment_arg
from aegis_core.base.settings import SIM_FAULT_RATE, SIM_LATENCY_MS, SIM_PAUSE_S, SIM_SEED
from aegis_core.base.user_files import SETTINGS_MAX_BYTES, read_user_file
from aegis_core.sim import Faults, SimMarket, SimServer

PORT = Range(0, 65_535, integer=True)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``sim serve`` to the top-level ``aegis`` parser's subcommands."""
    sim = subparsers.add_parser("sim", help="the simulated market (Polygon-compatible loopback server)")
    sim_commands = sim.add_subparsers(dest="sim_command", required=True)
    serve = sim_commands.add_parser(
        "serve",
        help="serve the simulated Polygon API until SIGINT/SIGTERM",
        description="Serve the simulated Polygon API. Prints the base URL, then serves until interrupted.",
    )
    serve.add_argument(
        "--port", type=PORT.arg("--port"), required=True, help="TCP port, 0-65535 (0: any free port)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--seed", type=SIM_SEED.arg("--seed"), default=7, help="market seed (default: %(default)s)"
    )
    serve.add_argument("--universe", type=Path, help="file with one symbol per line (# comments allowed)")
    serve.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require the bearer key held in this environment variable (default: accept any key)",
    )
    serve.add_argument(
        "--as-of",
        type=moment_arg("--as-of"),
        help="simulated now for URLs without /asof/ (ISO-8601 with offset, inside the NYSE calendar)",
    )
    # Every number has the range of the profile's sim setting of the same name.
    numbers = (
        ("--latency-ms", SIM_LATENCY_MS, 0.0, None, "latency added to every response"),
        ("--fault-429", SIM_FAULT_RATE, 0.0, "RATE", "share of 429 responses"),
        ("--retry-after-s", SIM_PAUSE_S, 1.0, None, "Retry-After of the 429 responses"),
        ("--fault-5xx", SIM_FAULT_RATE, 0.0, "RATE", "share of 500/502/503"),
        ("--fault-stall", SIM_FAULT_RATE, 0.0, "RATE", "share of stalled responses"),
        ("--stall-s", SIM_PAUSE_S, 30.0, None, "how long a stalled response is held"),
        ("--fault-truncate", SIM_FAULT_RATE, 0.0, "RATE", "share of cut bodies"),
    )
    for flag, bounds, default, metavar, text in numbers:
        serve.add_argument(
            flag,
            type=bounds.arg(flag),
            default=default,
            metavar=metavar,
            help=f"{text} ({bounds.describe()})",
        )
    serve.add_argument(
        "--repeat-cursor", default="", metavar="SYM,SYM", help="underlyings whose next_url repeats its cursor"
    )
    serve.add_argument(
        "--grouped-omit", default="", metavar="SYM,SYM", help="tickers the grouped-daily endpoint leaves out"
    )
    serve.set_defaults(func=handler)


def read_universe(path: Path) -> list[str]:
    """Symbols from ``path``: one per line; blank lines and ``#`` comments ignored."""
    try:
        lines = read_user_file(path, max_bytes=SETTINGS_MAX_BYTES, what="universe file").decode().splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"universe file {path} is not UTF-8 text (byte {exc.start})") from None
    symbols = []
    for number, line in enumerate(lines, start=1):
        symbol = line.split("#", 1)[0].strip().upper()
        if not symbol:
            continue
        if not is_valid_symbol(symbol):
            raise ValueError(f"{path}:{number}: invalid symbol {symbol!r}")
        symbols.append(symbol)
    if not symbols:
        raise ValueError(f"universe file {path} lists no symbols")
    return symbols


def build_server(args: argparse.Namespace) -> SimServer:
    """The server ``args`` describe (raises ValueError naming the bad option)."""
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env, "")
        if not api_key:
            raise ValueError(f"--api-key-env: environment variable {args.api_key_env} is not set or empty")
    symbols = read_universe(args.universe) if args.universe else ()
    faults = Faults(
        latency_ms=args.latency_ms,
        rate_429=args.fault_429,
        retry_after_s=args.retry_after_s,
        rate_5xx=args.fault_5xx,
        rate_stall=args.fault_stall,
        stall_s=args.stall_s,
        rate_truncate=args.fault_truncate,
        repeat_cursor_symbols=frozenset(args.repeat_cursor.split(",")),
        grouped_omit=frozenset(args.grouped_omit.split(",")),
        seed=args.seed,
    )
    return SimServer(
        SimMarket(seed=args.seed, symbols=symbols), args.host, args.port, api_key, faults, args.as_of
    )


def handler(args: argparse.Namespace) -> int:
    try:
        server = build_server(args)
    except ValueError as exc:
        print(f"aegis sim serve: {exc}", file=sys.stderr)
        return 2

    try:
        server.serve_forever(ready=lambda url: print(url, flush=True))
    except OSError as exc:
        print(f"aegis sim serve: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
