"""The archive and lake roots, and the parameters of the derived analytics."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from aegis_core.analytics import GexParams
from aegis_core.archive.lake import Lake
from aegis_core.archive.store import Archive


class ArchiveResource(dg.ConfigurableResource):
    """The archive root (parquet files) and the lake root (Delta tables)."""

    archive_root: str
    lake_root: str
    source: str
    lake_storage_options: dict[str, str] = {}

    def archive(self) -> Archive:
        return Archive(Path(self.archive_root), Lake(self.lake_root, self.lake_storage_options), self.source)


class AnalyticsResource(dg.ConfigurableResource):
    """Parameters of the derived analytics (contract §6). Change them in the profile, then back-fill."""

    call_sign: int = 1
    put_sign: int = -1
    grid_low: float = 0.8
    grid_high: float = 1.2
    grid_points: int = 81
    rate: float = 0.0
    dividend: float = 0.0
    iv_target_days: int = 30
    iv_window_sessions: int = 252
    iv_min_observations: int = 20

    def gex_params(self) -> GexParams:
        return GexParams(
            call_sign=self.call_sign,
            put_sign=self.put_sign,
            grid_low=self.grid_low,
            grid_high=self.grid_high,
            grid_points=self.grid_points,
            rate=self.rate,
            dividend=self.dividend,
        )
