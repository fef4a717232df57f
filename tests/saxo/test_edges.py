"""Issue 16 edges of the token keeper: a slow or silent endpoint, hostile cache numbers, a symlinked cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from aegis_core.ops.saxo import (
    SaxoTokenClient,
    TokenCacheError,
    TransientRefreshError,
    cache_lock,
    load_token_cache,
    lock_path_for,
    parse_token_cache,
)
from tests.fakes.hostile import HostileServer, timed
from tests.fakes.saxo import FakeSaxoTokenServer

from .conftest import FAST_RETRY, write_cache
from .test_cli_token import due, run


@pytest.mark.parametrize("mode", ["drip", "blackhole"])
def test_refresh_ends_at_its_deadline(mode: str) -> None:
    with HostileServer(mode, interval=0.2, path="/token") as server:
        client = SaxoTokenClient(
            "key", "secret", token_url=server.url, timeout=15, deadline=1.5, retry=FAST_RETRY
        )
        out, seconds = timed(client.refresh, SecretStr("r"))
    assert isinstance(out, TransientRefreshError)
    assert "failed after 1 attempt(s) (the 1.5 s refresh deadline is spent): timed out after" in str(out)
    assert seconds < 3


def test_token_refresh_cli_releases_the_lock_at_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    saxo: FakeSaxoTokenServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A drip-feeding endpoint held `aegis token refresh` (and the cache lock) for 90 s and more."""
    path = tmp_path / "tokens.json"
    before = due(path, saxo)
    with HostileServer("drip", interval=0.3, path="/token") as server:
        monkeypatch.setenv("AEGIS_SAXO_TOKEN_URL", server.url)
        monkeypatch.setenv("SAXOBANK_APP_KEY_LIVE", "key")
        monkeypatch.setenv("SAXOBANK_APP_SECRET_LIVE", "secret")
        code, seconds = timed(run, ["token", "refresh", "--cache", str(path), "--deadline", "2"])
    assert code == 1 and seconds < 4
    assert "did not answer" not in capsys.readouterr().out  # the reason goes to stderr
    with cache_lock(path, timeout=0.1):  # free again at once
        pass
    assert path.read_bytes() == before  # untouched on failure


def test_token_refresh_cli_refuses_a_bad_deadline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAXOBANK_APP_KEY_LIVE", "key")
    monkeypatch.setenv("SAXOBANK_APP_SECRET_LIVE", "secret")
    with pytest.raises(SystemExit) as exit_info:  # argparse's one-line usage error
        run(["token", "refresh", "--cache", str(tmp_path / "t.json"), "--deadline", "0"])
    assert exit_info.value.code == 2
    assert "argument --deadline: must be more than 0 and at most 600 s, got 0" in capsys.readouterr().err


BASE = {
    "access_token": "a" * 20,
    "refresh_token": "r" * 20,
    "expires_in": 1200,
    "refresh_token_expires_in": 3600,
    "issued_at": 1_700_000_000,
}


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("expires_in", 1e20, "expires_in:"),
        ("refresh_token_expires_in", -1e20, "refresh_token_expires_in:"),
        ("expires_in", 10**12, "expires_in: Input should be less than or equal to"),
        ("issued_at", float("nan"), "issued_at: Input should be a finite number"),
        ("issued_at", float("inf"), "issued_at: Input should be a finite number"),
        ("issued_at", "NaN", "issued_at: Input should be a finite number"),
        ("issued_at", 1e300, "issued_at: Input should be less than"),
        ("issued_at", -5, "issued_at: Input should be greater than or equal to 0"),
        ("issued_at", "0001-01-01T00:00:00+14:00", "issued_at:"),
    ],
)
def test_hostile_cache_numbers_are_one_clear_error(field: str, value: object, complaint: str) -> None:
    """`expires_in: 1e20` was an OverflowError and `issued_at: NaN` a ValueError, both as tracebacks."""
    doc = json.dumps({**BASE, field: value})
    with pytest.raises(TokenCacheError) as caught:
        token = parse_token_cache(doc, "cache.json")
        _ = token.expires_at, token.refresh_expires_at  # would overflow without the bounds
    assert str(caught.value).startswith("Token cache cache.json is invalid: ")
    assert complaint in str(caught.value)
    assert "a" * 20 not in str(caught.value) and "r" * 20 not in str(caught.value)


def test_status_of_a_hostile_cache_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.json"
    write_cache(path, refresh_token="r" * 20, issued_at=1_700_000_000, expires_in=10**20)  # type: ignore[arg-type]
    assert run(["token", "status", "--cache", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expires_in" in err and "Traceback" not in err


def test_a_symlinked_cache_is_written_through_and_the_link_stays(
    tmp_path: Path, saxo: FakeSaxoTokenServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`aegis token refresh --cache link.json` replaced the link; the target kept a spent refresh token."""
    real = tmp_path / "shared" / "tokens.json"
    real.parent.mkdir()
    due(real, saxo)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    monkeypatch.setenv("AEGIS_SAXO_TOKEN_URL", saxo.url)
    monkeypatch.setenv("SAXOBANK_APP_KEY_LIVE", saxo.app_key)
    monkeypatch.setenv("SAXOBANK_APP_SECRET_LIVE", saxo.app_secret)
    old = load_token_cache(real).refresh_token.get_secret_value()
    assert run(["token", "refresh", "--cache", str(link), "--force"]) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    new = load_token_cache(real).refresh_token.get_secret_value()
    assert new != old  # another keeper reading the target gets the live refresh token
    assert oct(real.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in real.parent.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert lock_path_for(link) == lock_path_for(real)  # one lock whichever name a keeper uses
