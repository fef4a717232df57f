"""One intraday slot for the whole universe, through the real ``ldas/pt_snapshots`` asset (contract §11).

Starts ``aegis sim serve --latency-ms 50`` in a separate process (its default universe: 712
symbols), then materializes one slot with the live code path pointed at it: the Polygon client
with the production concurrency and request ceiling, the parquet files and the Delta table under a
temporary folder. Reports wall time, requests, pages, contracts per second, the CPU time of both
processes and their peak RSS. ``--fetch-only`` times the client alone (no Dagster, no writes).

    uv run python benchmarks/bench_intraday.py [--latency-ms 50] [--concurrency 32] [--rps 90]
        [--symbols 712] [--slot 2026-11-20-10:05] [--fetch-only]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from aegis_core.base.clock import fixed_clock
from aegis_core.calendar import parse_slot_key
from aegis_core.polygon import PolygonClient
from aegis_core.sim import default_universe, sim_base_url

PROJECT = Path(__file__).resolve().parents[1]


def start_sim(latency_ms: float, key_var: str) -> tuple[subprocess.Popen[str], str]:
    cmd = [
        sys.executable,
        "-m",
        "aegis_pipelines.cli",
        "sim",
        "serve",
        "--port",
        "0",
        "--latency-ms",
        str(latency_ms),
        "--api-key-env",
        key_var,
    ]
    proc = subprocess.Popen(cmd, cwd=PROJECT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"aegis sim serve did not print its URL (got {url!r})")
    return proc, url


def proc_stats(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and peak RSS in MiB of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(
        line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM")
    )
    return cpu, int(hwm.split()[1]) // 1024


def self_stats() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def run_asset(args: argparse.Namespace, url: str, key: str, symbols: list[str], work: Path) -> dict:
    import dagster as dg

    from aegis_assets.clock import CLOCK_KEY
    from aegis_assets.ldas.intraday import build_pt_snapshots
    from aegis_assets.resources import ArchiveResource, MarketDataResource

    slot = parse_slot_key(args.slot)
    now = slot + dt.timedelta(seconds=5)  # the live path, standing inside the slot's window
    universe = work / "universe.txt"
    universe.write_text("\n".join(symbols) + "\n")
    resources = {
        "market": MarketDataResource(
            source="polygon",
            universe_file=str(universe),
            base_url=sim_base_url(url, now),
            api_key=key,
            max_concurrency=args.concurrency,
            max_requests_per_second=args.rps,
        ),
        "archive": ArchiveResource(
            archive_root=str(work / "archive"), lake_root=str(work / "lake"), source="sim"
        ),
        CLOCK_KEY: fixed_clock(now),
    }
    with dg.DagsterInstance.ephemeral() as instance:
        started = time.perf_counter()
        result = dg.materialize(
            [build_pt_snapshots()], partition_key=args.slot, resources=resources, instance=instance
        )
        wall = time.perf_counter() - started
    meta = {
        k: getattr(v, "value", v)
        for k, v in result.asset_materializations_for_node("ldas__pt_snapshots")[0].metadata.items()
    }
    return {"wall_s": wall, **meta}


async def fetch_only(args: argparse.Namespace, url: str, key: str, symbols: list[str]) -> dict:
    now = parse_slot_key(args.slot) + dt.timedelta(seconds=5)
    async with PolygonClient(
        sim_base_url(url, now), key, max_concurrency=args.concurrency, max_requests_per_second=args.rps
    ) as client:
        started = time.perf_counter()
        batch = await client.option_chains(symbols, now)
        wall = time.perf_counter() - started
    stats = batch.stats.as_metadata()
    return {
        "wall_s": wall,
        "fetch_s": wall,
        "symbols_covered": f"{len(batch.frames)}/{len(symbols)}",
        "dagster/row_count": stats["contracts"],
        "requests": stats["requests"],
        "pages": stats["pages"],
        "retries": stats["retries"],
        "bytes_received": stats["bytes_received"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32, help="client connections (production: 32)")
    parser.add_argument("--rps", type=float, default=90.0, help="request ceiling per second (production: 90)")
    parser.add_argument(
        "--symbols", type=int, default=712, help="first N symbols of the sim's default universe"
    )
    parser.add_argument("--slot", default="2026-11-20-10:05")
    parser.add_argument(
        "--fetch-only", action="store_true", help="time the client alone (no Dagster, no writes)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    symbols = default_universe()[: args.symbols]
    key_var = "AEGIS_BENCH_SIM_KEY"
    key = secrets.token_hex(16)
    os.environ[key_var] = key
    proc, url = start_sim(args.latency_ms, key_var)
    try:
        cpu0, _ = self_stats()
        sim_cpu0, _ = proc_stats(proc.pid)
        with tempfile.TemporaryDirectory(prefix="bench-intraday-") as tmp:
            if args.fetch_only:
                out = asyncio.run(fetch_only(args, url, key, symbols))
            else:
                out = run_asset(args, url, key, symbols, Path(tmp))
        cpu1, rss = self_stats()
        sim_cpu1, sim_rss = proc_stats(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    wall, rows = out["wall_s"], out["dagster/row_count"]
    mode = "client only" if args.fetch_only else "ldas/pt_snapshots via dg.materialize"
    print(
        f"intraday slot {args.slot} — {mode}; sim latency {args.latency_ms:g} ms, "
        f"concurrency {args.concurrency}, ceiling {args.rps:g} req/s"
    )
    print(f"  symbols     {out['symbols_covered']}")
    print(f"  wall        {wall:.1f} s   (fetch {out['fetch_s']} s, write {out.get('write_s', '-')} s)")
    print(
        f"  requests    {out['requests']}  pages {out['pages']}  retries {out['retries']}  "
        f"({out['pages'] / out['fetch_s']:.0f} pages/s while fetching)"
    )
    print(f"  contracts   {rows:,}  ({rows / wall:,.0f} contracts/s over the wall time)")
    print(f"  received    {out['bytes_received'] / 2**20:.0f} MiB")
    print(f"  cpu         this process {cpu1 - cpu0:.1f} s, sim server {sim_cpu1 - sim_cpu0:.1f} s")
    print(f"  peak RSS    this process {rss} MiB, sim server {sim_rss} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
