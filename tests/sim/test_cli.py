"""``aegis sim serve`` through a stand-in top-level parser, in-process and as a real process."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aegis_pipelines.cli.sim import build_server, handler, read_universe, register

# The lead's top-level parser is not ours to write; this stand-in mounts our subcommand the same way.
RUN = """
import argparse, sys
from aegis_pipelines.cli.sim import register
parser = argparse.ArgumentParser(prog="aegis")
register(parser.add_subparsers(dest="command", required=True))
args = parser.parse_args(sys.argv[1:])
assert not any(m == "dagster" or m.startswith("dagster.") for m in sys.modules), "cli_sim imported dagster"
sys.exit(args.func(args))
"""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="aegis")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(list(argv))


def test_arguments_build_the_server(tmp_path: Path) -> None:
    universe = tmp_path / "universe.txt"
    universe.write_text("# test universe\nspy\nAAPL  # a comment\n\nBRK.B\n")
    args = parse(
        "sim",
        "serve",
        "--port",
        "0",
        "--seed",
        "11",
        "--universe",
        str(universe),
        "--latency-ms",
        "50",
        "--fault-429",
        "0.1",
        "--retry-after-s",
        "3",
        "--fault-5xx",
        "0.05",
        "--fault-stall",
        "0.01",
        "--stall-s",
        "20",
        "--fault-truncate",
        "0.02",
        "--repeat-cursor",
        "SPY,qqq",
        "--grouped-omit",
        "AAPL",
    )
    assert args.func is handler
    server = build_server(args)
    assert server.market.seed == 11 and server.market.symbols == ("SPY", "AAPL", "BRK.B")
    f = server.faults
    assert (
        f.latency_ms,
        f.rate_429,
        f.retry_after_s,
        f.rate_5xx,
        f.rate_stall,
        f.stall_s,
        f.rate_truncate,
    ) == (50, 0.1, 3, 0.05, 0.01, 20, 0.02)
    assert f.repeat_cursor_symbols == {"SPY", "QQQ"} and f.grouped_omit == {"AAPL"}


def test_universe_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("SPY\nnot a ticker\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: invalid symbol"):
        read_universe(bad)
    with pytest.raises(ValueError, match=r"universe file .*missing\.txt not found"):
        read_universe(tmp_path / "missing.txt")


def test_missing_key_variable_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse("sim", "serve", "--port", "0", "--api-key-env", "AEGIS_TEST_SIM_KEY_UNSET")
    assert handler(args) == 2
    assert "AEGIS_TEST_SIM_KEY_UNSET" in capsys.readouterr().err


def test_serves_until_sigterm(tmp_path: Path) -> None:
    universe = tmp_path / "u.txt"
    universe.write_text("SPY\nAAPL\n")
    env = {**os.environ, "SIM_TEST_KEY": "cli-secret-1"}
    cmd = [
        sys.executable,
        "-c",
        RUN,
        "sim",
        "serve",
        "--port",
        "0",
        "--universe",
        str(universe),
        "--api-key-env",
        "SIM_TEST_KEY",
        "--as-of",
        "2026-11-20T17:15:00-05:00",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        grouped = f"{url}/v2/aggs/grouped/locale/us/market/stocks/2026-11-20"
        assert httpx.get(grouped, headers={"Authorization": "Bearer wrong"}).status_code == 401
        body = httpx.get(grouped, headers={"Authorization": "Bearer cli-secret-1"}).json()
        assert [r["T"] for r in body["results"]] == ["SPY", "AAPL"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        out, err = proc.communicate()
        assert "cli-secret-1" not in out + err and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigint_also_exits_cleanly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, "sim", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("http://")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
