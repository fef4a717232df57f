"""``saxo_token_sensor``: what it launches, when it skips, and that it alerts a problem once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from aegis_assets.ops.saxo import SAXO_TOKEN_KEY, TOKEN_TAG
from aegis_assets.resources import AlertsResource
from aegis_core.base.clock import wall_clock
from aegis_core.base.settings import Settings
from aegis_core.ops.saxo import REAUTH_MESSAGE, cache_lock
from aegis_pipelines.ops.saxo import JOB_NAME, SENSOR_NAME, saxo_definitions
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError, ServerError
from tests.fakes.slack import FakeSlack

from .conftest import APP_KEY_VAR, APP_SECRET_VAR, T0, keeper_settings
from .keeper import Keeper, authorise

MINUTE = dt.timedelta(minutes=1)


def _ticks(keeper: Keeper, start: dt.datetime, minutes: int) -> list:
    return [keeper.tick(start + i * MINUTE) for i in range(minutes)]


def test_definitions_hold_the_asset_job_sensor_and_saxo_resource(
    saxo: FakeSaxoTokenServer, tmp_path: Path
) -> None:
    alerts = dg.Definitions(resources={"alerts": AlertsResource()})  # the lead provides it globally
    own = saxo_definitions(keeper_settings(saxo, tmp_path / "t.json", sensor_interval_s=90))
    enabled = dg.Definitions.merge(own, alerts)
    disabled = dg.Definitions.merge(saxo_definitions(Settings()), alerts)
    dg.Definitions.validate_loadable(enabled)

    sensor = enabled.resolve_sensor_def(SENSOR_NAME)
    assert sensor.minimum_interval_seconds == 90
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == JOB_NAME
    default = disabled.resolve_sensor_def(SENSOR_NAME)
    assert default.minimum_interval_seconds == 60
    assert default.default_status is dg.DefaultSensorStatus.STOPPED
    asset = enabled.resolve_assets_def(SAXO_TOKEN_KEY)
    assert asset.group_names_by_key[SAXO_TOKEN_KEY] == "ops"
    # The UI shows the variables' names, never their values; "alerts" comes from the caller.
    resources = own.resources or {}
    assert set(resources) == {"saxo", "clock"}
    assert resources["clock"] is wall_clock  # the production clock; no config field can move it
    assert "clock_override_iso" not in type(resources["saxo"]).model_fields
    saxo_res = resources["saxo"]
    assert isinstance(saxo_res.app_key, dg.EnvVar) and saxo_res.app_key == APP_KEY_VAR
    assert isinstance(saxo_res.app_secret, dg.EnvVar) and saxo_res.app_secret == APP_SECRET_VAR
    assert saxo_res.token_url == saxo.url and saxo_res.cache_path == str(tmp_path / "t.json")


def test_a_disabled_keeper_skips_with_the_reason(
    saxo: FakeSaxoTokenServer, slack: FakeSlack, instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    keeper = Keeper(Settings(), instance, slack)

    tick = keeper.tick(T0)

    assert tick.run_keys == [] and "saxo.enabled is false" in (tick.skip_reason or "")
    assert slack.messages == []


def test_valid_token_skips_then_one_run_when_due(
    keeper: Keeper, cache_path: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    authorise(cache_path, saxo, T0)
    tid = str(int(T0.timestamp()))

    early = keeper.tick(T0 + 14 * MINUTE, launch=False)
    due = keeper.tick(T0 + 15 * MINUTE, launch=False)

    assert early.run_keys == []
    assert early.skip_reason == (
        "Access token valid until 2025-03-10T00:20:00+00:00; refresh due at 2025-03-10T00:15:00+00:00"
    )
    assert due.run_keys == [f"saxo_token:{tid}"]
    with dg.build_sensor_context(
        instance=keeper.instance, resources=keeper.resources(T0 + 15 * MINUTE)
    ) as context:
        (request,) = keeper.sensor.evaluate_tick(context).run_requests or []
    assert request.tags[TOKEN_TAG] == tid
    assert slack.messages == []


def test_missing_cache_alerts_once_across_many_ticks(
    keeper: Keeper, cache_path: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    ticks = _ticks(keeper, T0, 30)

    assert all(t.run_keys == [] and str(cache_path) in (t.skip_reason or "") for t in ticks)
    (message,) = slack.messages
    assert "Saxo token cache unreadable" in message["text"] and str(cache_path) in message["text"]
    assert "(alerted)" in (ticks[0].skip_reason or "") and "(already alerted)" in (
        ticks[-1].skip_reason or ""
    )
    # A person authorises; later the file is lost again: that is a new problem, alerted once more.
    authorise(cache_path, saxo, T0 + 30 * MINUTE)
    assert "valid" in (keeper.tick(T0 + 31 * MINUTE).skip_reason or "")
    cache_path.unlink()
    _ticks(keeper, T0 + 32 * MINUTE, 5)
    assert len(slack.messages) == 2


def test_an_unreachable_slack_is_retried_next_tick_then_alerted_once(
    keeper: Keeper, slack: FakeSlack
) -> None:
    slack.fail_with = "channel_not_found"
    refused = keeper.tick(T0)
    slack.fail_with = None
    _ticks(keeper, T0 + MINUTE, 3)

    assert "alert not sent" in (refused.skip_reason or "") and "channel_not_found" in (
        refused.skip_reason or ""
    )
    assert len(slack.messages) == 1


def test_an_expired_token_alerts_once_and_launches_nothing(
    keeper: Keeper, cache_path: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    authorise(cache_path, saxo, T0 - dt.timedelta(hours=2))

    ticks = _ticks(keeper, T0, 20)

    assert all(t.run_keys == [] and REAUTH_MESSAGE in (t.skip_reason or "") for t in ticks)
    (message,) = slack.messages
    assert message["text"].startswith(f"[CRITICAL] {REAUTH_MESSAGE}")
    # The runbook's state name, for operators who grep for it: in the alert and the skip reason.
    assert "Expired24hToken" in message["text"] and "state=Expired24hToken" in message["text"]
    assert all("Expired24hToken" in (t.skip_reason or "") for t in ticks)
    assert saxo.calls == []


def test_invalid_grant_is_alerted_once_and_the_dead_token_never_relaunched(
    keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    saxo.script(OAuthError("invalid_grant"))

    first = keeper.tick(T0)
    # The hour after: the token stays NeedsRefresh, then its refresh token expires at T0+44 min.
    after = _ticks(keeper, T0 + MINUTE, 60)

    (run,) = first.runs
    assert not run.success
    assert [k for t in after for k in t.run_keys] == []
    assert all("waiting for a new token" in (t.skip_reason or "") for t in after[:43])
    assert "(already alerted by the refresh run)" in (after[43].skip_reason or "")
    assert all(REAUTH_MESSAGE in (t.skip_reason or "") for t in after[43:])
    assert all("(already alerted)" in (t.skip_reason or "") for t in after[44:])
    (message,) = slack.messages
    assert REAUTH_MESSAGE in message["text"]
    assert len(saxo.calls) == 1
    # A person re-authorises: the new token is looked after again.
    authorise(due_cache, saxo, T0 + 61 * MINUTE)
    resumed = keeper.tick(T0 + 76 * MINUTE)
    assert [r.success for r in resumed.runs] == [True] and len(slack.messages) == 1


@pytest.mark.parametrize("failures", [1, 2])
def test_a_transient_failure_is_retried_after_a_pause_and_alerted_once(
    keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack, failures: int
) -> None:
    saxo.script(*[ServerError(502)] * (3 * failures))

    ticks = _ticks(keeper, T0, 2 * failures + 2)

    launched = [(t.at - T0, k) for t in ticks for k in t.run_keys]
    assert [at for at, _ in launched] == [i * 2 * MINUTE for i in range(failures + 1)]
    assert len({k for _, k in launched}) == failures + 1
    assert "next attempt at 2025-03-10T00:02:00+00:00" in (ticks[1].skip_reason or "")
    assert [r.success for t in ticks for r in t.runs] == [False] * failures + [True]
    (message,) = slack.messages
    assert "Saxo token refresh failing" in message["text"]


def test_a_busy_cache_lock_is_a_transient_failure_of_the_same_token(
    keeper: Keeper, due_cache: Path, saxo: FakeSaxoTokenServer, slack: FakeSlack
) -> None:
    with cache_lock(due_cache):  # another keeper (the Rust one, a shell) is refreshing
        busy = keeper.tick(T0)
    waiting = keeper.tick(T0 + MINUTE)
    retried = keeper.tick(T0 + 2 * MINUTE)

    assert [r.success for r in busy.runs] == [False]
    assert "next attempt at" in (waiting.skip_reason or "")
    assert ":retry:" in retried.run_keys[0] and [r.success for r in retried.runs] == [True]
    (message,) = slack.messages
    assert "Saxo token refresh failing" in message["text"] and "still held" in message["text"]
