"""A simulated day of the keeper: the real sensor ticking every minute, the runs it asks for executed
against the fake token endpoint, with an outage, a refused refresh, a re-authorisation and a lost cache.

One in-memory instance (``DagsterInstance.ephemeral``) keeps ~100 runs fast; the behaviour under test
(sensor, asset, event log queries) is the same as with the SQLite test instance used elsewhere.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import stat
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from aegis_assets.alert_tags import alerts_for_itself
from aegis_core.ops.saxo import REAUTH_MESSAGE, load_token_cache
from aegis_core.ops.saxo.cache import CACHE_FIELDS
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError, ServerError
from tests.fakes.slack import FakeSlack

from .conftest import APP_KEY_VAR, APP_SECRET_VAR, T0, keeper_settings
from .keeper import Keeper, Tick, authorise

H = dt.timedelta(hours=1)
OUTAGE, REFUSED, REAUTHORISED, LOST, RESTORED = (
    T0 + 6 * H,
    T0 + 12 * H,
    T0 + 14 * H,
    T0 + 18 * H,
    T0 + 18.5 * H,
)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@dataclass
class Day:
    keeper: Keeper
    saxo: FakeSaxoTokenServer
    slack: FakeSlack
    cache_path: Path
    logs: list[str]
    cache_problems: list[str]
    expiry: dict[dt.datetime, dt.datetime]  # tick -> when the cached access token expires, after the tick
    browser_tokens: list[str]

    @property
    def ticks(self) -> list[Tick]:
        return self.keeper.ticks

    def runs(self) -> list[dg.ExecuteInProcessResult]:
        return [r for t in self.ticks for r in t.runs]


def _cache_problem(path: Path, now: dt.datetime) -> str | None:
    """The cache is always a complete document with exactly the contract's fields, owner-only."""
    if not path.exists():
        return None
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        return f"{now}: mode {oct(path.stat().st_mode)}"
    doc = json.loads(path.read_text())
    return None if set(doc) == set(CACHE_FIELDS) else f"{now}: fields {sorted(doc)}"


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    # Everything from the keeper and its HTTP stack (DEBUG), Dagster's own chatter from INFO up.
    handler = _Records()
    root = logging.getLogger()
    chatty = [logging.getLogger(name) for name in ("aegis_core", "aegis", "httpx", "httpcore")]
    levels = [(lg, lg.level) for lg in [root, *chatty]]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for lg in chatty:
        lg.setLevel(logging.DEBUG)
    cache_path = tmp_path_factory.mktemp("tokens") / "saxobank_tokens_live.json"
    with (
        FakeSaxoTokenServer() as saxo,
        FakeSlack() as slack,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv(APP_KEY_VAR, saxo.app_key)
        env.setenv(APP_SECRET_VAR, saxo.app_secret)
        instance = dg.DagsterInstance.ephemeral()
        keeper = Keeper(keeper_settings(saxo, cache_path, sensor_interval_s=120), instance, slack)
        browser = [authorise(cache_path, saxo, T0)["access_token"]]
        problems: list[str] = []
        expiry: dict[dt.datetime, dt.datetime] = {}
        step = dt.timedelta(seconds=keeper.settings.saxo.sensor_interval_s)
        now = T0
        try:
            while now < T0 + 24 * H:
                if now == OUTAGE:  # the endpoint fails the next two runs (3 attempts each)
                    saxo.script(*[ServerError(503)] * 6)
                elif now == REFUSED:
                    saxo.script(OAuthError("invalid_grant"))
                elif now in (REAUTHORISED, RESTORED):
                    browser.append(str(authorise(cache_path, saxo, now)["access_token"]))
                elif now == LOST:
                    cache_path.unlink()
                keeper.tick(now)
                if problem := _cache_problem(cache_path, now):
                    problems.append(problem)
                if cache_path.exists():
                    expiry[now] = load_token_cache(cache_path).expires_at
                now += step
            yield Day(
                keeper, saxo, slack, cache_path, handler.lines, problems, expiry, [str(b) for b in browser]
            )
        finally:
            instance.dispose()
            root.removeHandler(handler)
            for lg, level in levels:
                lg.setLevel(level)


def _between(day: Day, start: dt.datetime, end: dt.datetime) -> list[Tick]:
    return [t for t in day.ticks if start <= t.at < end]


def test_the_token_is_refreshed_before_it_expires_all_day(day: Day) -> None:
    assert len(day.ticks) == 24 * 60 * 60 // day.keeper.settings.saxo.sensor_interval_s
    # Outside the two incidents that need a person, the access token is valid at every tick.
    healthy = [t.at for t in day.ticks if not (REFUSED <= t.at < REAUTHORISED or LOST <= t.at < RESTORED)]
    assert [at for at in healthy if day.expiry[at] <= at] == []
    assert day.cache_problems == []


def _decision(tick: Tick) -> str:
    reason = tick.skip_reason or ""
    if tick.run_keys:
        return "retry" if ":retry:" in tick.run_keys[0] else "refresh"
    for kind, marker in [
        ("valid", "Access token valid until"),
        ("waiting for a person", "waiting for a new token"),
        ("cache missing", "not found"),
        ("expired, already alerted", "(already alerted"),
    ]:
        if marker in reason:
            return kind
    return reason


def test_the_sensor_decisions_over_the_day(day: Day) -> None:
    decisions = Counter(_decision(t) for t in day.ticks)
    step = dt.timedelta(seconds=day.keeper.settings.saxo.sensor_interval_s)
    assert set(decisions) == {
        "valid",
        "refresh",
        "retry",
        "waiting for a person",
        "expired, already alerted",
        "cache missing",
    }
    assert decisions["retry"] == 2 and decisions["cache missing"] == (RESTORED - LOST) // step
    # Healthy: a refresh only once due (never early), roughly every 15 minutes, none repeated.
    runs = day.runs()
    keys = [k for t in day.ticks for k in t.run_keys]
    assert len(keys) == len(set(keys)) == len(runs) == decisions["refresh"] + decisions["retry"]
    assert Counter(r.success for r in runs)[False] == 3  # two during the outage, one refused
    befores = [m.metadata["freshness_before"].value for m in day.keeper.materializations()]
    assert set(befores) == {"NeedsRefresh"} and len(befores) >= 21.5 * 60 // 20
    # The outage: a first failure, two retries one tick apart, the third succeeds; one alert.
    outage = [t for t in _between(day, OUTAGE, OUTAGE + H) if t.run_keys]
    assert [r.success for t in outage[:3] for r in t.runs] == [False, False, True]
    assert [_decision(t) for t in outage[:3]] == ["refresh", "retry", "retry"]
    # The refused refresh: one failed run, then nothing launched until a person re-authorised.
    refused = _between(day, REFUSED, REAUTHORISED)
    assert [r.success for t in refused for r in t.runs] == [False]
    after_failure = refused[[bool(t.runs) for t in refused].index(True) + 1 :]
    assert [_decision(t) for t in after_failure] == sorted(
        (_decision(t) for t in after_failure), key=["waiting for a person", "expired, already alerted"].index
    )
    # The lost cache: skipped with the file named, no run, until it is back.
    lost = _between(day, LOST, RESTORED)
    assert all(str(day.cache_path) in (t.skip_reason or "") for t in lost)
    assert all(r.success for t in _between(day, RESTORED, T0 + 24 * H) for r in t.runs)


def test_each_problem_reached_slack_exactly_once(day: Day) -> None:
    titles = [m["text"].split(":")[0] for m in day.slack.messages]
    assert titles == [
        "[WARNING] Saxo token refresh failing",
        f"[CRITICAL] {REAUTH_MESSAGE}",
        "[CRITICAL] Saxo token cache unreadable",
    ]
    failed = [r for r in day.runs() if not r.success]
    # The generic run-failure alert skips all of them.
    assert [alerts_for_itself(day.keeper.instance.get_run_by_id(r.run_id).tags) for r in failed] == [True] * 3


def test_the_ui_shows_the_times_of_the_current_token(day: Day) -> None:
    latest = day.keeper.materializations()[0].metadata
    token = load_token_cache(day.cache_path)
    assert latest["issued_at"].value == token.issued_at
    assert latest["expires_at"].value == token.expires_at.timestamp()
    assert latest["refresh_expires_at"].value == token.refresh_expires_at.timestamp()


def test_no_token_or_secret_in_logs_metadata_alerts_or_decisions(day: Day) -> None:
    instance = day.keeper.instance
    secrets = {*day.saxo.secret_values(), *day.browser_tokens, day.saxo.app_key}
    assert len(secrets) > 100  # every token issued all day, and the client credentials
    seen: list[str] = list(day.logs)
    for run in day.runs():
        seen += [repr(e) for e in instance.all_logs(run.run_id)]
        seen.append(repr(instance.get_run_by_id(run.run_id)))
    seen += [repr(m.metadata) for m in day.keeper.materializations()]
    seen += [repr(o.metadata) for o in day.keeper.observations()]
    seen += [json.dumps(m) for m in day.slack.messages]
    seen += [f"{t.skip_reason} {t.run_keys}" for t in day.ticks]
    seen.append(str(day.keeper.cursor))
    corpus = "\n".join(seen)
    assert "refreshed" in corpus and REAUTH_MESSAGE in corpus and "HTTP 503" in corpus  # the scan saw it all
    leaked = sorted(s for s in secrets if s in corpus)
    assert leaked == []
