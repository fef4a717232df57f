"""``aegis token status|refresh`` against the fake endpoint, through a parser built as the main CLI does."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aegis_core.ops.saxo import load_token_cache
from aegis_pipelines.cli import token as cli_token
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError

from .conftest import write_cache

REPO = Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aegis")
    cli_token.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, saxo: FakeSaxoTokenServer, tmp_path: Path) -> Path:
    """Configure the CLI through the environment, as production does; returns the cache path."""
    path = tmp_path / "saxobank_tokens_live.json"
    monkeypatch.setenv("AEGIS_SAXO_TOKEN_CACHE_PATH", str(path))
    monkeypatch.setenv("AEGIS_SAXO_TOKEN_URL", saxo.url)
    monkeypatch.setenv("SAXOBANK_APP_KEY_LIVE", saxo.app_key)
    monkeypatch.setenv("SAXOBANK_APP_SECRET_LIVE", saxo.app_secret)
    return path


def due(path: Path, saxo: FakeSaxoTokenServer) -> bytes:
    return write_cache(path, refresh_token=saxo.mint_refresh_token(), issued_at=int(time.time()) - 1260)


def assert_no_secret(saxo: FakeSaxoTokenServer, text: str) -> None:
    for secret in [*saxo.secret_values(), "cached-access-token-0123456789"]:
        assert secret not in text


def test_status_shows_freshness_and_times(
    env: Path, saxo: FakeSaxoTokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    due(env, saxo)
    assert run(["token", "status"]) == 0
    out = capsys.readouterr().out
    assert "NeedsRefresh" in out and "expires_at" in out and "refresh_expires_at" in out and str(env) in out
    assert_no_secret(saxo, out)


def test_status_of_an_expired_token_exits_1(
    env: Path, saxo: FakeSaxoTokenServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "observation.json"  # --cache overrides the environment
    write_cache(other, refresh_token="r", issued_at=int(time.time()) - 7200)
    assert run(["token", "status", "--cache", str(other)]) == 1
    captured = capsys.readouterr()
    assert re.search(r"^freshness +Expired24hToken$", captured.out, re.M) and str(other) in captured.out
    assert "Manual re-authorization required (Expired24hToken)" in captured.err


def test_refresh_succeeds_and_saves(
    env: Path, saxo: FakeSaxoTokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    due(env, saxo)
    assert run(["token", "refresh"]) == 0
    out = capsys.readouterr().out
    assert "refreshed" in out and len(saxo.calls) == 1
    assert load_token_cache(env).access_token.get_secret_value() == saxo.issued[-1]["access_token"]
    assert_no_secret(saxo, out)
    assert run(["token", "refresh"]) == 0  # now valid: nothing to do
    assert "still_valid" in capsys.readouterr().out and len(saxo.calls) == 1


def test_refresh_invalid_grant_exits_1_with_the_reason(
    env: Path, saxo: FakeSaxoTokenServer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = due(env, saxo)
    saxo.script(OAuthError("invalid_grant"))
    assert run(["token", "refresh"]) == 1
    captured = capsys.readouterr()
    assert "Manual re-authorization required" in captured.err and "invalid_grant" in captured.err
    assert env.read_bytes() == before and len(saxo.calls) == 1
    assert_no_secret(saxo, captured.out + captured.err)


@pytest.mark.parametrize("missing", ["SAXOBANK_APP_KEY_LIVE", "SAXOBANK_APP_SECRET_LIVE"])
def test_missing_credentials_exit_2_naming_the_variable(
    env: Path,
    saxo: FakeSaxoTokenServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    missing: str,
) -> None:
    due(env, saxo)
    monkeypatch.delenv(missing)
    assert run(["token", "refresh"]) == 2
    assert missing in capsys.readouterr().err and saxo.calls == []


def test_missing_cache_path_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AEGIS_SAXO_TOKEN_CACHE_PATH", raising=False)
    assert run(["token", "status"]) == 2
    assert "AEGIS_SAXO_TOKEN_CACHE_PATH" in capsys.readouterr().err


def test_bad_token_url_exits_2(
    env: Path, saxo: FakeSaxoTokenServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AEGIS_SAXO_TOKEN_URL", "http://example.com/token")
    assert run(["token", "refresh", "--cache", str(env)]) == 2
    assert "AEGIS_SAXO_TOKEN_URL" in capsys.readouterr().err


def test_the_module_does_not_import_dagster() -> None:
    code = "import sys, aegis_pipelines.cli.token; sys.exit('dagster' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=60).returncode == 0
