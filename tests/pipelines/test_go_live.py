"""The go-live session as the code location loads it: every partition of the archive starts there (the
end-of-day assets, the cadence, the slots), one definition for all the session assets because Dagster
wants one per asset job and per back-fill root (pinned below)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from aegis_assets.partitions import SESSION_START, session_partitions
from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.calendar import NY
from aegis_pipelines.cli import main
from aegis_pipelines.definitions import build_definitions
from aegis_pipelines.ldas.sessions import archive_partitions
from tests.conftest import PROJECT

GO_LIVE = "2026-11-02"


def first_key(defs: dg.Definitions, key: str) -> str:
    node = defs.resolve_asset_graph().get(dg.AssetKey.from_user_string(key))
    with dg.partition_loading_context():
        return node.partitions_def.get_first_partition_key()


def test_the_archives_partitions_start_at_the_configured_go_live(sim_env, monkeypatch):
    monkeypatch.setenv("AEGIS_GO_LIVE", GO_LIVE)
    defs = build_definitions(load_settings())
    dg.Definitions.validate_loadable(defs)
    assert first_key(defs, "ldas/pt_snapshots") == f"{GO_LIVE}-09:35"
    assert first_key(defs, "ldas/intraday_cadence") == GO_LIVE
    with dg.partition_loading_context():
        assert defs.resolve_job_def("ldas_slot_checks_job").partitions_def.get_first_partition_key() == (
            f"{GO_LIVE}-09:35"
        )
    for key in ("ldas/vix", "ldas/stocks", "ldas/options", "ldas/gex_summary", "ldas/atm_iv", "ldas/iv_rank"):
        assert first_key(defs, key) == GO_LIVE, key
    with dg.partition_loading_context():
        for job in ("ldas_eod_job", "ldas_checks_job"):
            assert defs.resolve_job_def(job).partitions_def.get_first_partition_key() == GO_LIVE, job


def test_by_default_a_live_archive_decides(sim_env, tmp_path, monkeypatch):
    chain = tmp_path / "archive" / "options" / "SPY" / "2026" / "11" / "18_pt_093500.parquet"
    chain.parent.mkdir(parents=True)
    chain.write_bytes(b"")
    assert archive_partitions(load_settings()).go_live == SESSION_START  # simulated: every session
    monkeypatch.setenv("AEGIS_SOURCE", "polygon")
    monkeypatch.setenv("POLYGON_API_KEY", "test-key")
    assert archive_partitions(load_settings()).go_live == dt.date(2026, 11, 18)  # its first chains


def test_an_empty_live_archive_goes_live_at_the_latest_completed_session(sim_env, monkeypatch):
    monkeypatch.setenv("AEGIS_SOURCE", "polygon")
    monkeypatch.setenv("POLYGON_API_KEY", "test-key")
    now = dt.datetime(2026, 12, 7, 7, 0, tzinfo=NY)
    assert archive_partitions(load_settings(), now=now).go_live == dt.date(2026, 12, 4)


def test_a_go_live_that_is_not_a_session_is_refused_with_the_variable(sim_env, monkeypatch):
    monkeypatch.setenv("AEGIS_GO_LIVE", "2026-11-26")
    with pytest.raises(SettingsError, match=r"AEGIS_GO_LIVE.*2026-11-26 is not an NYSE session"):
        load_settings()


def test_a_slot_before_go_live_is_one_line_and_exit_2(sim_env, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((PROJECT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("AEGIS_GO_LIVE", GO_LIVE)
    assert main(["intraday", "--slot", "2026-10-30-10:05"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(
        f"aegis intraday: 2026-10-30-10:05 is not a partition of ldas_intraday_job (its partitions run from "
        f"{GO_LIVE}-09:35 to "
    )


def test_dagster_wants_one_partitions_definition_per_asset_job():
    """Why VIX and the stock bars start at go-live too, although they have history: the 17:15 run is
    one asset job, and Dagster 1.13 refuses an asset job over assets whose partitions differ (the
    Catalog's back-fill dialog and the back-fill daemon refuse roots that differ too)."""

    @dg.asset(partitions_def=session_partitions())
    def history() -> None: ...

    @dg.asset(partitions_def=session_partitions(dt.date.fromisoformat(GO_LIVE)))
    def live() -> None: ...

    defs = dg.Definitions(assets=[history, live], jobs=[dg.define_asset_job("both", [history, live])])
    with pytest.raises(dg.DagsterInvalidDefinitionError) as refused:
        defs.resolve_job_def("both")
    causes, cause = [], refused.value
    while cause is not None:
        causes.append(str(cause))
        cause = cause.__cause__
    assert any("must have the same partitions definitions" in c for c in causes), causes
