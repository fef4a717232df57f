"""``ldas/parity_readiness``: per session, how close the migration is to its cutover rule.

Each session partition records, per artefact, the consecutive business days of green parity with
the reference (Rust) archive ending at that session, and whether the runbook's rule (2 business days
EOD parity green + 2 business days intraday parity green) is met. It computes this with
``aegis_core.ldas.readiness.parity_readiness`` — the same function ``aegis parity readiness`` prints.
Defined only when a reference archive is configured (``AEGIS_PARITY_ROOT``).
"""

from pathlib import Path

import dagster as dg

from aegis_assets.ldas.checks import ASSET_KEYS
from aegis_assets.ldas.eod import GROUP
from aegis_assets.ldas.intraday import CADENCE
from aegis_assets.resources import ArchiveResource, ParityResource
from aegis_assets.runs import markdown_table, run_sessions
from aegis_core.ldas.parity import SameArchiveError
from aegis_core.ldas.readiness import DEFAULT_LOOKBACK, parity_readiness

PARITY_READINESS = dg.AssetKey([GROUP, "parity_readiness"])


def readiness(
    context: dg.AssetExecutionContext, archive: ArchiveResource, parity: ParityResource
) -> dg.MaterializeResult:
    """Consecutive business days of green parity per artefact up to the session, and whether the
    runbook's cutover rule (2 EOD + 2 intraday days) is met. Nothing is written: the metadata is the
    answer (``aegis parity readiness`` prints the same)."""
    sessions = run_sessions(context)
    if len(sessions) != 1:
        raise dg.Failure(f"readiness is computed one session per run, got {len(sessions)}")
    try:
        ready = parity_readiness(
            Path(archive.archive_root),
            Path(parity.reference_root),
            sessions[0].date,
            parity.tolerances(),
            DEFAULT_LOOKBACK,
        )
    except (SameArchiveError, FileNotFoundError, NotADirectoryError) as exc:  # one line, naming why
        raise dg.Failure(f"ldas/parity_readiness: {exc}") from None
    groups = {g.group: g for g in ready.groups}
    context.log.info(ready.summary)
    return dg.MaterializeResult(
        metadata={
            "rule_met": ready.met,
            "summary": ready.summary,
            "eod_green_days": groups["eod"].days,
            "intraday_green_days": groups["intraday"].days,
            "green_days_by_artefact": dg.MetadataValue.json({a.artefact: a.days for a in ready.artefacts}),
            "artefacts": markdown_table(ready.rows(), limit=len(ready.artefacts)),
            "lookback_sessions": ready.lookback,
            "reference_root": dg.MetadataValue.path(str(ready.rust_root)),
        }
    )


def parity_readiness_asset(sessions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """``ldas/parity_readiness`` on ``sessions``, after every artefact it judges."""
    return dg.asset(
        key=PARITY_READINESS, group_name=GROUP, partitions_def=sessions, deps=[*ASSET_KEYS.values(), CADENCE]
    )(readiness)
