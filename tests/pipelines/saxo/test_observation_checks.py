"""The runbook's observation criteria as asset checks on ``ops/saxo_token``, readiness, and bootstrap."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from aegis_assets.ops.saxo import SAXO_TOKEN_KEY
from aegis_core.base.settings import Settings, load_settings
from aegis_pipelines.resources import saxo_resource
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError
from tests.fakes.slack import FakeSlack

from .conftest import T0, keeper_settings
from .keeper import FAST, Keeper, authorise

CHECKS = ("cache_mtime_cadence", "issued_at_increasing", "no_invalid_grant")


def checks(result: dg.ExecuteInProcessResult) -> dict[str, tuple[bool, str]]:
    return {e.check_name: (e.passed, e.description or "") for e in result.get_asset_check_evaluations()}


def meta(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    (materialization,) = result.asset_materializations_for_node("ops__saxo_token")
    return {k: v.value for k, v in materialization.metadata.items()}


def test_healthy_refreshes_pass_every_check_and_the_definitions_declare_them(
    keeper: Keeper, due_cache: Path
) -> None:
    specs = {c.name for c in keeper.defs.resolve_assets_def(SAXO_TOKEN_KEY).check_specs}
    assert specs == set(CHECKS)
    first = keeper.run(T0)
    assert first.success and checks(first) == {
        "cache_mtime_cadence": (True, checks(first)["cache_mtime_cadence"][1]),
        "issued_at_increasing": (True, f"first observation: issued_at {T0.isoformat()}"),
        "no_invalid_grant": (True, "no invalid_grant since the previous step"),
    }
    m = meta(first)
    assert m["clean_for_24h"] is False and m["clean_since"] == T0.timestamp()
    assert m["cache_mtime"] == pytest.approx(due_cache.stat().st_mtime)
    second = keeper.run(T0 + dt.timedelta(minutes=15))  # the next refresh, on cadence
    assert second.success and all(passed for passed, _ in checks(second).values())
    assert meta(second)["clean_since"] == T0.timestamp()  # still clean since the first step


def test_an_older_token_in_the_cache_fails_issued_at_increasing(
    keeper: Keeper, cache_path: Path, saxo: FakeSaxoTokenServer
) -> None:
    authorise(cache_path, saxo, T0 + dt.timedelta(hours=1))
    assert keeper.run(T0 + dt.timedelta(hours=1, minutes=1)).success  # still valid: recorded, not refreshed
    # Another keeper's late write (or a restored copy) puts an older, still valid token in the cache.
    authorise(cache_path, saxo, T0 + dt.timedelta(minutes=55))
    result = keeper.run(T0 + dt.timedelta(hours=1, minutes=2))
    assert result.success  # the token works: the criterion fails, not the keeper
    passed, description = checks(result)["issued_at_increasing"]
    assert not passed and "issued_at went backwards" in description
    assert meta(result)["clean_since"] == (T0 + dt.timedelta(hours=1, minutes=2)).timestamp()


def test_invalid_grant_fails_the_next_successful_step_once(
    keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer
) -> None:
    assert keeper.run(T0).success
    authorise(due_cache, saxo, T0)  # due again at T0 + 16 min
    saxo.script(OAuthError("invalid_grant"))
    assert not keeper.run(T0 + dt.timedelta(minutes=16)).success
    authorise(due_cache, saxo, T0 + dt.timedelta(minutes=20))  # a person re-authorised
    after = keeper.run(T0 + dt.timedelta(minutes=21))
    passed, description = checks(after)["no_invalid_grant"]
    assert not passed and "1 refresh(es) refused with invalid_grant" in description
    again = keeper.run(T0 + dt.timedelta(minutes=22))
    assert checks(again)["no_invalid_grant"][0]


def test_a_keeper_that_stops_writing_fails_the_cadence_check(
    settings: Settings, instance: dg.DagsterInstance, slack: FakeSlack, credentials: None, due_cache: Path
) -> None:
    class SlowCadence(Keeper):
        def resources(self, now: dt.datetime) -> dict[str, object]:
            saxo = saxo_resource(self.settings.saxo, cadence_s=1, cadence_slack_s=0, **FAST)
            return {"saxo": saxo, "alerts": self.alerts, "clock": lambda: now}

    keeper = SlowCadence(settings, instance, slack)
    assert keeper.run(T0).success
    time.sleep(1.2)  # longer than cadence + slack (1 s) between two writes of the cache
    second = keeper.run(T0 + dt.timedelta(minutes=15), force=True)
    passed, description = checks(second)["cache_mtime_cadence"]
    assert not passed and "did not write on its cadence" in description

    # A cache replaced by an older copy (its mtime goes backwards) fails it too.
    mtime = due_cache.stat().st_mtime
    os.utime(due_cache, (mtime - 3600, mtime - 3600))
    third = keeper.run(T0 + dt.timedelta(minutes=16))  # still valid: the file is left as it is
    passed, description = checks(third)["cache_mtime_cadence"]
    assert not passed and "went backwards" in description


def test_clean_for_24h_after_a_day_of_clean_steps(
    keeper: Keeper, cache_path: Path, saxo: FakeSaxoTokenServer
) -> None:
    readiness = []
    for hours in (0, 12, 24):
        authorise(cache_path, saxo, T0 + dt.timedelta(hours=hours))
        result = keeper.run(T0 + dt.timedelta(hours=hours, minutes=1))
        assert result.success and all(p for p, _ in checks(result).values())
        readiness.append((meta(result)["clean_for_24h"], meta(result)["readiness"]))
    assert [r for r, _ in readiness] == [False, False, True]
    assert "12.0 h to go" in readiness[1][1] and "the cutover gate is met" in readiness[2][1]


def test_bootstrap_seeds_a_missing_cache_once_from_the_canonical_file(
    saxo: FakeSaxoTokenServer,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    slack: FakeSlack,
    credentials: None,
) -> None:
    canonical = tmp_path / "canonical.json"
    authorise(canonical, saxo, T0 - dt.timedelta(minutes=16))  # due: the keeper will refresh its copy
    original = canonical.read_bytes()
    cache = tmp_path / "parallel" / "saxobank_tokens_live_parallel.json"
    cache.parent.mkdir()
    keeper = Keeper(keeper_settings(saxo, cache, bootstrap_from=canonical), instance, slack)
    tick = keeper.tick(T0)
    assert tick.run_keys and tick.runs[0].success  # seeded, classified, refreshed
    assert json.loads(cache.read_text())["issued_at"] == int(T0.timestamp())
    assert canonical.read_bytes() == original  # the canonical cache is only read
    assert slack.messages == []
    # A later tick never copies again, even when the canonical file changed.
    authorise(canonical, saxo, T0 + dt.timedelta(minutes=5))
    keeper.tick(T0 + dt.timedelta(minutes=6))
    assert json.loads(cache.read_text())["issued_at"] == int(T0.timestamp())


def test_a_missing_bootstrap_source_is_alerted_by_name(
    saxo: FakeSaxoTokenServer,
    tmp_path: Path,
    instance: dg.DagsterInstance,
    slack: FakeSlack,
    credentials: None,
) -> None:
    cache = tmp_path / "cache.json"
    keeper = Keeper(keeper_settings(saxo, cache, bootstrap_from=tmp_path / "gone.json"), instance, slack)
    tick = keeper.tick(T0)
    assert tick.run_keys == [] and "Bootstrap source" in (tick.skip_reason or "")
    (message,) = slack.messages
    assert str(tmp_path / "gone.json") in message["text"]


def test_settings_carry_bootstrap_and_cadence(tmp_path: Path) -> None:
    settings = load_settings({"AEGIS_SAXO_TOKEN_BOOTSTRAP_PATH": str(tmp_path / "canonical.json")})
    resource = saxo_resource(settings.saxo)
    assert resource.bootstrap_from == str(tmp_path / "canonical.json")
    assert (resource.cadence_s, resource.cadence_slack_s) == (900, 300)
