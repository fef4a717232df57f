"""Issue 12: a model-based test of the archive. Random sequences of what an operator does (full run,
subset run, a run with one symbol failing at the source, a re-run, a derived-only re-run) on the
simulated market, with the invariants checked after every step:

- the files and the lake agree, per artefact and symbol (``lake_consistency``);
- the per-symbol artefacts hold exactly the symbols ever fetched successfully;
- the derived rows are exactly the symbols with complete inputs (a chain and a close);
- no row is lost that was not replaced: a symbol a step did not fetch keeps its files byte for byte.
"""

import hashlib
import shutil
from pathlib import Path

import dagster as dg
import polars as pl
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from aegis_core.archive import layout
from aegis_core.archive.lake import Lake
from aegis_core.base.settings import load_settings
from aegis_core.ldas.consistency import CONSISTENCY_ARTEFACTS, lake_consistency
from aegis_pipelines.definitions import build_definitions
from tests.conftest import PROJECT, SMALL_UNIVERSE
from tests.pipelines.integrity.test_subset_and_guard import DAY, SESSION

DERIVED = [dg.AssetKey(["ldas", n]) for n in ("gex_summary", "atm_iv", "iv_rank")]
FAILING = "AAXJ"  # its chain has two pages; the faulty source repeats the cursor (contract §3)


def faulty_defs(tmp_path: Path, monkeypatch) -> dg.Definitions:
    config = tmp_path / "faulty.yaml"
    text = (PROJECT / "configs/local.yaml").read_text()
    config.write_text(text.replace("sim:\n", f"sim:\n  faults:\n    repeat_cursor_symbols: [{FAILING}]\n"))
    monkeypatch.setenv("AEGIS_CONFIG", str(config))
    defs = build_definitions(load_settings())
    monkeypatch.setenv("AEGIS_CONFIG", str(PROJECT / "configs/local.yaml"))
    return defs


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def test_the_archive_never_loses_invents_or_disagrees(sim_env, tmp_path, monkeypatch):
    root, lake = Path(sim_env["AEGIS_ARCHIVE_ROOT"]), Lake(sim_env["AEGIS_LAKE_ROOT"])
    good = build_definitions(load_settings())
    bad = faulty_defs(tmp_path, monkeypatch)
    instance = dg.DagsterInstance.ephemeral()

    class Archive(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            for folder in (root, Path(lake.root)):
                shutil.rmtree(folder, ignore_errors=True)
            self.chains: set[str] = set()  # symbols whose chain is archived
            self.closes: set[str] = set()  # symbols whose close is archived
            self.before: dict[Path, str | None] = {}
            self.untouched: set[str] = set()

        def _remember(self, fetched: set[str]) -> None:
            """Snapshot the files of symbols this step must not touch."""
            self.untouched = set(SMALL_UNIVERSE) - fetched
            self.before = {
                p: digest(p)
                for s in self.untouched
                for p in (layout.options_file(root, s, DAY), layout.stock_file(root, s, DAY))
            }

        def _eod(self, defs: dg.Definitions, symbols: list[str] | None) -> dg.ExecuteInProcessResult:
            tags = {"aegis/symbols": ",".join(symbols)} if symbols else {}
            return defs.resolve_job_def("ldas_eod_job").execute_in_process(
                partition_key=SESSION, instance=instance, tags=tags, raise_on_error=False
            )

        @initialize()
        def first_run(self) -> None:
            # Every sequence starts from an archived session, as an operator's day does (the derived
            # re-run of an empty session is refused; test_derived_backfill covers it).
            self.full_run()

        @rule()
        def full_run(self) -> None:
            self._remember(set(SMALL_UNIVERSE))
            assert self._eod(good, None).success
            self.chains |= set(SMALL_UNIVERSE)
            self.closes |= set(SMALL_UNIVERSE)

        @rule(symbols=st.sets(st.sampled_from(SMALL_UNIVERSE), min_size=1, max_size=2))
        def subset_run(self, symbols: set[str]) -> None:
            self._remember(symbols)
            assert self._eod(good, sorted(symbols)).success
            self.chains |= symbols
            self.closes |= symbols

        @rule()
        def run_with_a_failing_chain(self) -> None:
            self._remember(set(SMALL_UNIVERSE) - {FAILING})
            self.before.pop(layout.stock_file(root, FAILING, DAY))  # its close is fetched again
            result = self._eod(bad, None)
            assert result.success  # one failed symbol does not fail the session
            self.chains |= set(SMALL_UNIVERSE) - {FAILING}
            self.closes |= set(SMALL_UNIVERSE)

        @rule()
        def derived_rerun(self) -> None:
            self._remember(set())
            result = good.resolve_job_def("ldas_eod_job").execute_in_process(
                partition_key=SESSION, instance=instance, asset_selection=DERIVED, raise_on_error=False
            )
            assert result.success

        @invariant()
        def files_and_lake_agree(self) -> None:
            for artefact in CONSISTENCY_ARTEFACTS:
                gate = lake_consistency(root, lake, artefact, DAY)
                assert gate.passed, gate.summary

        @invariant()
        def per_symbol_files_are_what_was_fetched(self) -> None:
            assert set(layout.symbols_with(root, "options")) == self.chains
            assert set(layout.symbols_with(root, "stocks")) == self.closes

        @invariant()
        def derived_rows_are_the_symbols_with_complete_inputs(self) -> None:
            for artefact in ("gex_summary", "iv_rank"):
                frame = pl.read_parquet(layout.daily_file(root, artefact, DAY))
                assert sorted(frame["symbol"]) == sorted(self.chains & self.closes), artefact

        @invariant()
        def no_row_lost_that_was_not_replaced(self) -> None:
            for path, before in self.before.items():
                assert digest(path) == before, path

    try:
        run_state_machine_as_test(
            Archive,
            settings=settings(
                max_examples=5,
                stateful_step_count=5,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                # Each step is a real run (seconds): report the first failing sequence as found,
                # without the minutes shrinking would take.
                phases=[Phase.explicit, Phase.generate],
            ),
        )
    finally:
        instance.dispose()
