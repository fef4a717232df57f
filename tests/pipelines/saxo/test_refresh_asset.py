"""The asset ``ops/saxo_token``: one locked refresh per materialization, failures alerted once."""

from __future__ import annotations

import datetime as dt
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from aegis_assets.alert_tags import alerts_for_itself
from aegis_assets.ops.saxo import SAXO_TOKEN_KEY
from aegis_core.base.settings import Settings
from aegis_core.ops.saxo import REAUTH_MESSAGE
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError, ServerError
from tests.fakes.slack import FakeSlack

from .conftest import T0
from .keeper import Keeper, authorise


@pytest.fixture
def sqlite_keeper(settings: Settings, slack: FakeSlack, credentials: None) -> Iterator[Keeper]:
    """The keeper on the SQLite test instance, as in a deployment (the others use in-memory storage)."""
    with dg.instance_for_test() as instance:
        yield Keeper(settings, instance, slack)


def _failure_description(result: dg.ExecuteInProcessResult) -> str:
    failures = [e for e in result.all_events if e.event_type is dg.DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1
    return failures[0].step_failure_data.user_failure_data.description


def _texts(slack: FakeSlack) -> list[str]:
    return [m["text"] for m in slack.messages]


def test_refresh_is_a_materialization_with_the_token_times(
    sqlite_keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    keeper = sqlite_keeper
    result = keeper.run(T0)

    assert result.success
    (materialization,) = result.asset_materializations_for_node("ops__saxo_token")
    assert materialization.asset_key == SAXO_TOKEN_KEY
    meta = materialization.metadata
    assert meta["outcome"].value == "refreshed"
    assert meta["freshness_before"].value == "NeedsRefresh"
    assert meta["state"].value == "AccessValid"  # the runbook's name for the state after the refresh
    assert meta["issued_at"].value == T0.timestamp()
    assert meta["expires_at"].value == (T0 + dt.timedelta(seconds=1200)).timestamp()
    assert meta["refresh_expires_at"].value == (T0 + dt.timedelta(seconds=3600)).timestamp()
    assert meta["next_refresh_due_at"].value == (T0 + dt.timedelta(seconds=900)).timestamp()
    assert meta["http_attempts"].value == 1
    # The cache holds the new token: complete JSON, owner-only.
    doc = json.loads(due_cache.read_text())
    assert doc["issued_at"] == int(T0.timestamp())
    assert doc["refresh_token"] == saxo.issued[-1]["refresh_token"]
    assert stat.S_IMODE(due_cache.stat().st_mode) == 0o600
    assert len(saxo.calls) == 1 and slack.messages == []
    assert not alerts_for_itself(keeper.instance.get_run_by_id(result.run_id).tags)


def test_a_valid_token_is_left_alone_unless_forced(
    keeper: Keeper, cache_path: Path, saxo: FakeSaxoTokenServer
) -> None:
    authorise(cache_path, saxo, T0)
    before = cache_path.read_bytes()

    kept = keeper.run(T0 + dt.timedelta(minutes=1))
    forced = keeper.run(T0 + dt.timedelta(minutes=2), force=True)

    assert kept.success and forced.success
    kept_meta = kept.asset_materializations_for_node("ops__saxo_token")[0].metadata
    assert kept_meta["outcome"].value == "still_valid"
    assert kept_meta["http_attempts"].value == 0
    assert (
        forced.asset_materializations_for_node("ops__saxo_token")[0].metadata["outcome"].value == "refreshed"
    )
    assert len(saxo.calls) == 1 and cache_path.read_bytes() != before


def test_invalid_grant_fails_once_alerts_once_and_is_not_retried(
    sqlite_keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    keeper = sqlite_keeper
    before = due_cache.read_bytes()
    saxo.script(OAuthError("invalid_grant"), OAuthError("invalid_grant"))

    first = keeper.run(T0)
    again = keeper.run(T0 + dt.timedelta(minutes=1))  # someone re-executes it by hand

    for result in (first, again):
        assert not result.success
        assert REAUTH_MESSAGE in _failure_description(result)
        assert alerts_for_itself(keeper.instance.get_run_by_id(result.run_id).tags)
    assert len(saxo.calls) == 2  # one HTTP attempt per run: never retried
    (text,) = _texts(slack)
    assert REAUTH_MESSAGE in text and "invalid_grant" in text
    assert "state=NeedsRefresh" in text
    assert f"/runs/{first.run_id}" in text
    # The failure is in the asset's history with the token's times; the cache is untouched.
    latest = keeper.observations()[0].metadata
    assert latest["outcome"].value == "failed_terminal"
    assert latest["error_code"].value == "invalid_grant"
    assert latest["refresh_expires_at"].value == (T0 + dt.timedelta(minutes=44)).timestamp()
    assert [o.metadata["alert_sent"].value for o in keeper.observations()] == [False, True]
    assert due_cache.read_bytes() == before
    assert keeper.materializations() == []


def test_transient_errors_are_retried_with_backoff_then_alerted_once(
    keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    saxo.script(*[ServerError(503)] * 6)

    first = keeper.run(T0)
    second = keeper.run(T0 + dt.timedelta(minutes=2))
    recovered = keeper.run(T0 + dt.timedelta(minutes=4))

    assert not first.success and not second.success and recovered.success
    assert "failed after 3 attempt(s)" in _failure_description(first)
    assert len(saxo.calls) == 7
    (text,) = _texts(slack)
    assert "Saxo token refresh failing" in text and "HTTP 503" in text
    assert REAUTH_MESSAGE not in text
    assert [o.metadata["outcome"].value for o in keeper.observations()] == ["failed_transient"] * 2
    assert keeper.observations()[0].metadata["http_attempts"].value == 3


def test_slack_refusing_the_alert_leaves_the_run_to_the_generic_alert(
    keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    slack.fail_with = "channel_not_found"
    saxo.script(OAuthError("invalid_grant"))

    result = keeper.run(T0)

    assert not result.success
    assert not alerts_for_itself(keeper.instance.get_run_by_id(result.run_id).tags)
    assert keeper.observations()[0].metadata["alert_sent"].value is False


def test_a_disabled_keeper_does_not_refresh(
    saxo: FakeSaxoTokenServer,
    slack: FakeSlack,
    due_cache: Path,
    instance: dg.DagsterInstance,
    credentials: None,
) -> None:
    from .conftest import keeper_settings

    keeper = Keeper(keeper_settings(saxo, due_cache, enabled=False), instance, slack)

    result = keeper.run(T0)

    assert not result.success
    assert "saxo.enabled is false" in _failure_description(result)
    assert saxo.calls == [] and slack.messages == []
