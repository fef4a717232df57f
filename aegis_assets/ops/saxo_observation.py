"""The token keeper runbook's acceptance criteria as asset checks on ``ops/saxo_token``.

Each successful keeper step (a materialization) is compared with the previous one, read back from
the instance (``aegis_core.ops.saxo.observation`` holds the rules): three checks, each WARN and able to
fail, and the readiness value "clean for 24 h" (metadata ``clean_for_24h``, ``clean_since``) that
mirrors the runbook's cutover gate. Failed checks reach Slack through the asset-check alert sensor.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg

from aegis_core.ops.saxo import RefreshOutcome
from aegis_core.ops.saxo.observation import (
    CADENCE,
    ISSUED_AT_INCREASING,
    NO_INVALID_GRANT,
    KeeperStep,
    cache_mtime,
    criteria,
    readiness,
)

SAXO_TOKEN_KEY = dg.AssetKey(["ops", "saxo_token"])
CHECK_NAMES = {
    CADENCE: "cache_mtime_cadence",
    ISSUED_AT_INCREASING: "issued_at_increasing",
    NO_INVALID_GRANT: "no_invalid_grant",
}
CHECK_SPECS = [
    dg.AssetCheckSpec(
        CHECK_NAMES[CADENCE],
        asset=SAXO_TOKEN_KEY,
        description="The cache file's mtime advanced on the keeper's cadence since the previous step.",
    ),
    dg.AssetCheckSpec(
        CHECK_NAMES[ISSUED_AT_INCREASING],
        asset=SAXO_TOKEN_KEY,
        description="issued_at strictly increases with each refresh and never goes backwards.",
    ),
    dg.AssetCheckSpec(
        CHECK_NAMES[NO_INVALID_GRANT],
        asset=SAXO_TOKEN_KEY,
        description="No refresh was refused with invalid_grant since the previous step.",
    ),
]
_OBSERVATIONS = 200  # failed refreshes searched for invalid_grant (a day holds ~100 steps)


def _timestamp(meta: dict[str, Any], key: str) -> dt.datetime | None:
    value = meta.get(key)
    return dt.datetime.fromtimestamp(float(value), dt.UTC) if isinstance(value, int | float) else None


def previous_step(instance: dg.DagsterInstance) -> KeeperStep | None:
    """The last recorded successful step, or None (first run, or a record without the times)."""
    record = instance.get_latest_materialization_event(SAXO_TOKEN_KEY)
    materialization = record.asset_materialization if record is not None else None
    if materialization is None:
        return None
    meta = {k: v.value for k, v in materialization.metadata.items()}
    checked_at, issued_at = _timestamp(meta, "checked_at"), _timestamp(meta, "issued_at")
    if checked_at is None or issued_at is None:
        return None
    return KeeperStep(
        checked_at=checked_at,
        issued_at=issued_at,
        cache_mtime=_timestamp(meta, "cache_mtime"),
        refreshed=meta.get("outcome") == "refreshed",
        clean_since=_timestamp(meta, "clean_since"),
    )


def invalid_grants(instance: dg.DagsterInstance) -> list[dt.datetime]:
    """When recorded refreshes were refused with invalid_grant (the failed runs' observations)."""
    out = []
    for record in instance.fetch_observations(SAXO_TOKEN_KEY, limit=_OBSERVATIONS).records:
        observation = record.asset_observation
        meta = {k: v.value for k, v in observation.metadata.items()} if observation else {}
        moment = _timestamp(meta, "checked_at")
        if meta.get("error_code") == "invalid_grant" and moment is not None:
            out.append(moment)
    return out


def observe_step(
    instance: dg.DagsterInstance,
    outcome: RefreshOutcome,
    max_interval: dt.timedelta,
    clean_window: dt.timedelta,
) -> tuple[dict[str, Any], list[dg.AssetCheckResult]]:
    """Metadata (mtime, readiness) and the three check results for a successful step."""
    assert outcome.issued_at is not None  # a successful step always knows its token
    previous = previous_step(instance)
    mtime = cache_mtime(outcome.cache_path)
    current = KeeperStep(outcome.checked_at, outcome.issued_at, mtime, outcome.kind.value == "refreshed")
    verdicts = criteria(previous, current, invalid_grants(instance), max_interval)
    ready = readiness(previous, outcome.checked_at, verdicts, clean_window)
    meta: dict[str, Any] = {
        "clean_since": dg.MetadataValue.timestamp(ready.clean_since),
        "clean_for_hours": round(ready.clean_for.total_seconds() / 3600, 3),
        "clean_for_24h": ready.ready,
        "readiness": ready.describe(),
    }
    if mtime is not None:
        meta["cache_mtime"] = dg.MetadataValue.timestamp(mtime)
    results = [
        dg.AssetCheckResult(
            asset_key=SAXO_TOKEN_KEY,
            check_name=CHECK_NAMES[v.criterion],
            passed=v.passed,
            severity=dg.AssetCheckSeverity.WARN,
            description=v.description,
        )
        for v in verdicts
    ]
    return meta, results
