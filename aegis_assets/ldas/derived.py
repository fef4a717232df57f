"""Derived analytics assets: gamma exposure, ATM IV and IV rank, computed from the archive alone.

They read their inputs from the archive (``aegis_core.ldas.derived``: chains from the chain files a group of
whole symbols at a time, closes and IV history from the lake), so a back-fill re-computes any range
after a parameter change without touching the data source. A back-fill runs as one run for the range.
"""

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg
import polars as pl

from aegis_assets.ldas.eod import GROUP, OPTIONS, STOCKS, session_asset
from aegis_assets.resources import AnalyticsResource, ArchiveResource
from aegis_assets.runs import failures_metadata, markdown_table, per_partition_result, run_sessions
from aegis_core.analytics import AtmIvResult, GexResult, NonFiniteGexError
from aegis_core.analytics import atm_iv as compute_atm_iv
from aegis_core.analytics import gex_summary as compute_gex
from aegis_core.analytics import iv_rank as compute_iv_rank
from aegis_core.archive.store import WriteReport
from aegis_core.calendar import nyse
from aegis_core.ldas.derived import MissingInputError, atm_iv_history, per_group, session_inputs

R = TypeVar("R")
IV_WINDOW = 252  # sessions of ATM IV history an IV rank looks at (contract §6)

_AC = dg.AutomationCondition
# Derived data follows its inputs (declarative automation, evaluated by the automation daemon): when a
# session's chains or closes are re-materialized outside the run that derives from them (a UI
# re-materialization, a subset re-run of the fetch assets alone), that session's gex_summary and
# atm_iv are requested, for any session, not only the latest (unlike AutomationCondition.eager()).
# A run that materializes both the inputs and the derived assets (the EOD job) triggers nothing.
FOLLOW_INPUTS = (
    _AC.any_deps_updated().since_last_handled()
    & ~_AC.any_deps_missing()
    & ~_AC.any_deps_in_progress()
    & ~_AC.in_progress()
).with_label("recompute when the session's inputs change")
# IV rank depends on its own session's ATM IV only (one to one): Dagster's asset back-fill targets
# every downstream partition its partition mapping reaches, so a 252-session window mapping made a
# back-fill of N sessions also target the IV rank of every later session — sessions with no ATM IV,
# and today's before the close. The later sessions whose window an ATM IV change reaches are
# re-derived by ``ldas_iv_rank_window_sensor`` (aegis_pipelines/ldas/automation.py), and only those
# that have an IV rank (``aegis_core.ldas.iv_window``).


def _written(report: WriteReport, started: float) -> dict:
    meta = {
        "dagster/row_count": report.rows,
        "duration_s": round(time.perf_counter() - started, 3),
        "files": len(report.files),
        "lake_version": report.lake_version,
        "write_seconds": round(report.seconds, 3),
    }
    if report.files:
        meta["path"] = dg.MetadataValue.path(str(report.files[0]))
    return meta


def _per_group(
    archive: ArchiveResource, session, compute: Callable[[pl.DataFrame, pl.DataFrame, dt.datetime], R]
) -> list[R]:
    """``compute(chains, spots, as_of)`` over the session's chains a group of symbols at a time."""
    store = archive.archive()
    try:
        return per_group(session_inputs(store.root, store.lake, session.date), compute)
    except (MissingInputError, NonFiniteGexError) as exc:
        raise dg.Failure(str(exc)) from None


def gex_summary(
    context: dg.AssetExecutionContext, archive: ArchiveResource, analytics: AnalyticsResource
) -> dg.MaterializeResult:
    """Per-symbol gamma exposure (net, abs, walls, zero-gamma, regime): ``gex_summary/YYYY/MM/DD.parquet``."""
    out, params = {}, analytics.gex_params()
    for session in run_sessions(context):
        started = time.perf_counter()
        result = GexResult.combine(
            _per_group(
                archive,
                session,
                lambda chains, spots, as_of, d=session.date: compute_gex(
                    chains, spots, session_date=d, as_of=as_of, params=params
                ),
            )
        )
        report = archive.archive().write_gex_summary(result.frame, session.date)
        top = result.frame.sort(result.frame["net_gex"].abs(), descending=True).head(10)
        out[session.key] = {
            **_written(report, started),
            **failures_metadata(result.skipped),
            "regimes": dg.MetadataValue.json(dict(Counter(result.frame["gex_regime"].to_list()))),
            "contracts_used": result.contracts_used,
            "contracts_dropped": dg.MetadataValue.json(result.contracts_dropped),
            "preview": markdown_table(
                top.select(
                    "symbol", "net_gex", "abs_gex", "zero_gamma_level", "gamma_wall", "put_wall", "gex_regime"
                ).to_dicts()
            ),
        }
    return per_partition_result(context, out)


def atm_iv(
    context: dg.AssetExecutionContext, archive: ArchiveResource, analytics: AnalyticsResource
) -> dg.MaterializeResult:
    """Daily 30-day constant-maturity ATM implied volatility per symbol (lake table ``atm_iv``)."""
    out, days = {}, analytics.iv_target_days
    for session in run_sessions(context):
        started = time.perf_counter()
        result = AtmIvResult.combine(
            _per_group(
                archive,
                session,
                lambda chains, spots, as_of, d=session.date: compute_atm_iv(
                    chains, spots, session_date=d, as_of=as_of, target_days=days
                ),
            )
        )
        report = archive.archive().write_atm_iv(result.frame, session.date)
        out[session.key] = {
            **_written(report, started),
            **failures_metadata(result.skipped),
            "methods": dg.MetadataValue.json(dict(Counter(result.frame["method"].to_list()))),
        }
    return per_partition_result(context, out)


def iv_rank(
    context: dg.AssetExecutionContext, archive: ArchiveResource, analytics: AnalyticsResource
) -> dg.MaterializeResult:
    """IV rank and percentile over the last 252 sessions: ``iv_rank/YYYY/MM/DD.parquet``.

    Reads the window's ATM IV from the lake; depends in Dagster on its own session's ATM IV only (a
    back-fill targets the same sessions). Later sessions' ranks follow through
    ``ldas_iv_rank_window_sensor``.
    """
    sessions = run_sessions(context)
    windows = {
        s.key: [w.date for w in nyse().sessions_before(s.date, analytics.iv_window_sessions)]
        for s in sessions
    }
    history = atm_iv_history(archive.archive().lake, sorted({d for w in windows.values() for d in w}))
    out = {}
    for session in sessions:
        started = time.perf_counter()
        today = history.filter(history["session_date"] == session.date)
        if today.height == 0:
            raise dg.Failure(f"no ATM IV for {session.key} in the lake: materialize ldas/atm_iv first")
        as_of = (
            archive.archive()
            .lake.read_sessions("atm_iv", session.date, session.date, ["timestamp"])["timestamp"]
            .max()
        )
        result = compute_iv_rank(
            history,
            session_date=session.date,
            window_sessions=windows[session.key],
            as_of=as_of,
            min_observations=analytics.iv_min_observations,
        )
        report = archive.archive().write_iv_rank(result.frame, session.date)
        out[session.key] = {
            **_written(report, started),
            **failures_metadata(result.skipped),
            **_ranked(result.frame),
        }
    return per_partition_result(context, out)


def _ranked(frame: pl.DataFrame) -> dict[str, Any]:
    ranked = frame.drop_nulls("iv_rank")
    return {
        "symbols_ranked": ranked.height,
        "median_observations": float(frame["observations"].median() or 0),
        "preview": markdown_table(
            ranked.sort("iv_rank", descending=True)
            .head(10)
            .select("symbol", "iv", "iv_rank", "iv_percentile", "observations")
            .to_dicts()
        ),
    }


GEX_SUMMARY, ATM_IV, IV_RANK = (dg.AssetKey([GROUP, n]) for n in ("gex_summary", "atm_iv", "iv_rank"))
DERIVED_KEYS = [GEX_SUMMARY, ATM_IV, IV_RANK]


def derived_assets(sessions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``ldas/gex_summary`` and ``ldas/atm_iv`` (from the session's chains and closes) and
    ``ldas/iv_rank`` (from its ATM IV) on ``sessions``, each following its inputs."""
    from_chains = session_asset(sessions, deps=[OPTIONS, STOCKS], automation_condition=FOLLOW_INPUTS)
    from_atm_iv = session_asset(sessions, deps=[ATM_IV], automation_condition=FOLLOW_INPUTS)
    return [from_chains(gex_summary), from_chains(atm_iv), from_atm_iv(iv_rank)]
