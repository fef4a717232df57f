"""What the quality and parity checks measure against."""

import datetime as dt
from pathlib import Path

import dagster as dg

from aegis_core.archive.universe import load_universe
from aegis_core.ldas.parity import ParityTolerances


class QualityResource(dg.ConfigurableResource):
    """What the quality checks measure against: the universe, the coverage threshold, the deadline."""

    universe_file: str
    coverage_threshold: float = 1.0
    source_reject_threshold: float = 0.01
    freshness_deadline: str = "18:00"  # HH:MM[:SS] America/New_York on the session's date

    def universe(self) -> list[str]:
        return load_universe(Path(self.universe_file))

    def deadline(self) -> dt.time:
        try:
            return dt.time.fromisoformat(self.freshness_deadline)
        except ValueError:
            raise ValueError(
                f"quality.freshness_deadline {self.freshness_deadline!r} is not a time (HH:MM)"
            ) from None


class ParityResource(dg.ConfigurableResource):
    """The reference (Rust daemon) archive and the runbook's tolerances."""

    reference_root: str
    file_count: int = 1
    row_count: int = 5
    regime: int = 1
    iv_rank_abs: float = 1e-9

    def tolerances(self) -> ParityTolerances:
        return ParityTolerances(self.file_count, self.row_count, self.regime, self.iv_rank_abs)
