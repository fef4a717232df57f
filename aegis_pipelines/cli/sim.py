"""``aegis sim serve``: run the simulated Polygon server in the foreground (contract §4).

Prints the base URL on one line, then serves until SIGINT/SIGTERM (exit 0). Never imports dagster.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aegis_core.archive.layout import is_valid_symbol
from aegis_core.bounds import Range
from aegis_core.settings import SIM_FAULT_RATE, SIM_LATENCY_MS, SIM_PAUSE_S, SIM_SEED
from aegis_core.sim import Faults, SimMarket, SimServer, parse_moment
from aegis_core.user_files import SETTINGS_MAX_BYTES, read_user_file

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
    serve.add_argument("--as-of", help="simulated now for URLs without /asof/ (ISO-8601 with offset)")
    serve.add_argument(
        "--latency-ms",
        type=SIM_LATENCY_MS.arg("--latency-ms"),
        default=0.0,
        help="latency added to every response",
    )
    rate = "RATE"  # every fault rate is a share, 0-1
    serve.add_argument(
        "--fault-429", type=SIM_FAULT_RATE.arg("--fault-429"), default=0.0, metavar=rate, help="share of 429s"
    )
    serve.add_argument(
        "--retry-after-s",
        type=SIM_PAUSE_S.arg("--retry-after-s"),
        default=1.0,
        help="Retry-After of the 429s",
    )
    serve.add_argument(
        "--fault-5xx", type=SIM_FAULT_RATE.arg("--fault-5xx"), default=0.0, metavar=rate, help="share of 5xx"
    )
    serve.add_argument(
        "--fault-stall",
        type=SIM_FAULT_RATE.arg("--fault-stall"),
        default=0.0,
        metavar=rate,
        help="share stalled",
    )
    serve.add_argument(
        "--stall-s",
        type=SIM_PAUSE_S.arg("--stall-s"),
        default=30.0,
        help="how long a stalled response is held",
    )
    serve.add_argument(
        "--fault-truncate",
        type=SIM_FAULT_RATE.arg("--fault-truncate"),
        default=0.0,
        metavar=rate,
        help="share cut",
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
    as_of = parse_moment(args.as_of) if args.as_of else None
    return SimServer(SimMarket(seed=args.seed, symbols=symbols), args.host, args.port, api_key, faults, as_of)


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
