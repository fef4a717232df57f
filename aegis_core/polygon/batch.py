"""Run one job per symbol on a bounded pool of workers; collect results and failures by name.

Workers take the next symbol from a shared queue, so symbols finish steadily (smooth progress)
and each worker has at most one request in flight. A failing symbol is recorded with a one-line
reason and the batch goes on; an exception of a ``fatal`` type (a rejected key) cancels all
outstanding work at once and is raised, instead of being repeated for every remaining symbol.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from aegis_core.polygon.errors import PolygonError

T = TypeVar("T")
ProgressCallback = Callable[[int, int, str], None]

log = logging.getLogger(__name__)


async def run_batch(
    symbols: Iterable[str],
    job: Callable[[str], Awaitable[T]],
    *,
    concurrency: int,
    fatal: tuple[type[BaseException], ...] = (),
    on_progress: ProgressCallback | None = None,
    on_result: Callable[[str, T], None] | None = None,
) -> tuple[dict[str, T], dict[str, str]]:
    """``job(symbol)`` for every distinct symbol; returns ``(results, failures)`` in the order given.

    With ``on_result``, each result is handed to it as it arrives and not kept (``results`` is then
    empty): a large batch is not held in memory. An exception it raises stops the batch and is raised.
    """
    ordered = list(dict.fromkeys(symbols))
    total = len(ordered)
    results: dict[str, T] = {}
    failures: dict[str, str] = {}
    pending = iter(ordered)
    done = 0

    async def worker() -> None:
        nonlocal done
        for symbol in pending:  # one shared iterator: each symbol goes to exactly one worker
            try:
                result = await job(symbol)
            except fatal:
                raise
            except PolygonError as exc:
                failures[symbol] = exc.reason if exc.symbol else f"{symbol}: {exc.reason}"
                log.warning("%s failed: %s", symbol, failures[symbol])
            except Exception as exc:  # a bug or an unforeseen answer: report it by name, keep going
                failures[symbol] = f"{symbol}: unexpected {type(exc).__name__}: {' '.join(str(exc).split())}"
                log.exception("%s failed unexpectedly", symbol)
            else:
                if on_result is None:
                    results[symbol] = result
                else:
                    on_result(symbol, result)  # outside the per-symbol handling: its failure is the batch's
            done += 1
            if on_progress is not None:
                on_progress(done, total, symbol)

    if not total:
        return {}, {}
    tasks = [asyncio.create_task(worker()) for _ in range(min(concurrency, total))]
    try:
        finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in finished:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return (
        {s: results[s] for s in ordered if s in results},
        {s: failures[s] for s in ordered if s in failures},
    )
