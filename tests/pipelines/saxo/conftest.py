"""Fixtures for the token keeper on Dagster: the fake token endpoint, fake Slack, settings, a mini daemon."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from pydantic import SecretStr

from aegis_core.base.settings import SaxoSettings, Settings
from tests.fakes.saxo import FakeSaxoTokenServer
from tests.fakes.slack import FakeSlack

from .keeper import Keeper, authorise

UTC = dt.UTC
T0 = dt.datetime(2025, 3, 10, 0, 0, tzinfo=UTC)  # a Monday, midnight UTC
APP_KEY_VAR, APP_SECRET_VAR = "SAXOBANK_APP_KEY_LIVE", "SAXOBANK_APP_SECRET_LIVE"


def keeper_settings(saxo: FakeSaxoTokenServer, cache_path: Path, **overrides: object) -> Settings:
    fields: dict[str, object] = {
        "enabled": True,
        "token_url": saxo.url,
        "cache_path": cache_path,
        "app_key": SecretStr(saxo.app_key),
        "app_secret": SecretStr(saxo.app_secret),
    }
    return Settings(saxo=SaxoSettings(**{**fields, **overrides}))


@pytest.fixture
def saxo() -> Iterator[FakeSaxoTokenServer]:
    with FakeSaxoTokenServer() as server:
        yield server


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, saxo: FakeSaxoTokenServer) -> None:
    """The client credentials where the resource's ``dg.EnvVar`` fields look for them."""
    monkeypatch.setenv(APP_KEY_VAR, saxo.app_key)
    monkeypatch.setenv(APP_SECRET_VAR, saxo.app_secret)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    path = tmp_path / "tokens" / "saxobank_tokens_live.json"
    path.parent.mkdir()
    return path


@pytest.fixture
def settings(saxo: FakeSaxoTokenServer, cache_path: Path) -> Settings:
    return keeper_settings(saxo, cache_path)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """In-memory run and event-log storage: the same SQL storage code as SQLite, created in a tenth of
    the time. ``test_refresh_asset.py`` overrides it with the SQLite ``dg.instance_for_test()``."""
    inst = dg.DagsterInstance.ephemeral()
    try:
        yield inst
    finally:
        inst.dispose()


@pytest.fixture
def keeper(settings: Settings, instance: dg.DagsterInstance, slack: FakeSlack, credentials: None) -> Keeper:
    return Keeper(settings, instance, slack)


@pytest.fixture
def due_cache(cache_path: Path, saxo: FakeSaxoTokenServer) -> Path:
    """A token issued 16 minutes before T0: the access token is inside the 5-minute margin at T0."""
    authorise(cache_path, saxo, T0 - dt.timedelta(minutes=16))
    return cache_path
