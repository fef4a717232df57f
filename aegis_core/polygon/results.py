"""What the batch calls of the client return: frames, failures by name, request statistics."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from aegis_core.archive.schemas import OPTIONS, STOCKS
from aegis_core.polygon.stats import RequestStats


@dataclass
class ChainsResult:
    """Option chains of many underlyings.

    ``sizes`` holds the contracts of every symbol that succeeded (in the order asked) and ``frames``
    its ``OPTIONS`` frame, unless the chains were handed over as they arrived (then it is empty);
    ``failures`` maps every symbol that did not succeed to a one-line reason. Together they cover
    every symbol asked for.
    """

    frames: dict[str, pl.DataFrame]
    failures: dict[str, str]
    stats: RequestStats = field(default_factory=RequestStats)
    elapsed_s: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        """All chains in one ``OPTIONS`` frame."""
        if not self.frames:
            return pl.DataFrame(schema=OPTIONS.polars_schema)
        # No rechunk: the symbols' frames are the session frame's chunks, not a second copy of them.
        return pl.concat(self.frames.values(), rechunk=False)

    def metadata(self) -> dict[str, object]:
        return {
            "symbols_ok": len(self.sizes),
            "symbols_failed": len(self.failures),
            "failed": dict(self.failures),
            "elapsed_s": round(self.elapsed_s, 3),
            **self.stats.as_metadata(),
        }


@dataclass
class StocksResult:
    """Daily bars of a universe: ``frame`` (``STOCKS`` contract, one row per symbol that has a bar),
    ``missing`` (the source answered but has no bar for them) and ``failures`` (symbol -> reason)."""

    frame: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=STOCKS.polars_schema))
    missing: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    stats: RequestStats = field(default_factory=RequestStats)
    elapsed_s: float = 0.0

    def metadata(self) -> dict[str, object]:
        return {
            "symbols_ok": self.frame.height,
            "symbols_missing": len(self.missing),
            "missing": list(self.missing),
            "symbols_failed": len(self.failures),
            "failed": dict(self.failures),
            "elapsed_s": round(self.elapsed_s, 3),
            **self.stats.as_metadata(),
        }
