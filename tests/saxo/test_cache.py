"""The cache file: lenient reading, exact writing, owner-only permissions, atomic replacement."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import SecretStr

from aegis_core.ops.saxo import (
    TokenCache,
    TokenCacheError,
    load_token_cache,
    parse_token_cache,
    save_token_cache,
)
from aegis_core.ops.saxo.cache import CACHE_FIELDS, remove_stale_temp_files

from .conftest import write_cache

UTC = dt.UTC
REPO = Path(__file__).resolve().parents[2]
EPOCH = 1741613400  # 2025-03-10T13:30:00Z


def token(**changes: object) -> TokenCache:
    values: dict[str, object] = {
        "access_token": SecretStr("access-abc-123"),
        "token_type": "Bearer",
        "expires_in": 1200,
        "refresh_token": SecretStr("refresh-xyz-789"),
        "refresh_token_expires_in": 3600,
        "issued_at": EPOCH,
    }
    values.update(changes)
    return TokenCache.model_validate(values)


@pytest.mark.parametrize(
    "issued_at",
    [
        EPOCH,
        float(EPOCH),
        str(EPOCH),
        "2025-03-10T13:30:00Z",
        "2025-03-10T13:30:00+00:00",
        "2025-03-10T09:30:00-04:00",
        "2025-03-10T13:30:00",  # naive: the keepers write UTC
        "2025-03-10T13:30:00.000000+00:00",
    ],
)
def test_issued_at_is_read_leniently(tmp_path: Path, issued_at: object) -> None:
    path = tmp_path / "t.json"
    write_cache(path, refresh_token="r", issued_at=issued_at)
    cached = load_token_cache(path)
    assert cached.issued_at == EPOCH
    assert cached.expires_at == dt.datetime(2025, 3, 10, 13, 50, tzinfo=UTC)
    assert cached.refresh_expires_at == dt.datetime(2025, 3, 10, 14, 30, tzinfo=UTC)


def test_unknown_fields_are_ignored_and_not_written_back(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    write_cache(
        path, refresh_token="r", issued_at=EPOCH, base_uri=None, scope="openapi", obtained_by="python"
    )
    cached = load_token_cache(path)
    save_token_cache(path, cached)
    doc = json.loads(path.read_bytes())
    assert tuple(doc) == CACHE_FIELDS
    assert doc["issued_at"] == EPOCH and isinstance(doc["issued_at"], int)
    assert doc["refresh_token"] == "r"


def test_write_is_exactly_the_spec_fields_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    original = token(expires_in=-30)
    save_token_cache(path, original)
    doc = json.loads(path.read_bytes())
    assert doc == {
        "access_token": "access-abc-123",
        "token_type": "Bearer",
        "expires_in": -30,
        "refresh_token": "refresh-xyz-789",
        "refresh_token_expires_in": 3600,
        "issued_at": EPOCH,
    }
    assert load_token_cache(path) == original
    assert original.expires_at == original.issued_at_dt - dt.timedelta(seconds=30)


def test_tokens_stay_out_of_repr_and_str() -> None:
    cached = token()
    for text in (repr(cached), str(cached), f"{cached}", repr(cached.model_dump())):
        assert "access-abc-123" not in text and "refresh-xyz-789" not in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"access_token": "a", "expires_in": 1}', "refresh_token: Field required"),
        (
            b'{"access_token": "", "refresh_token": "r", "expires_in": 1, "refresh_token_expires_in": 2, '
            b'"issued_at": 1}',
            "access_token",
        ),
        (
            b'{"access_token": "a", "refresh_token": "r", "expires_in": 1, "refresh_token_expires_in": 2, '
            b'"issued_at": "yesterday"}',
            "issued_at",
        ),
    ],
)
def test_invalid_cache_names_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(TokenCacheError) as info:
        load_token_cache(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_validation_errors_never_quote_token_values() -> None:
    # A wrongly typed token makes pydantic quote the input; our message must not.
    doc = {
        "access_token": 987654321987,
        "refresh_token": ["refresh-in-a-list-4242"],
        "expires_in": "soon",
        "refresh_token_expires_in": 1,
        "issued_at": 1,
    }
    with pytest.raises(TokenCacheError) as info:
        parse_token_cache(json.dumps(doc), "cache.json")
    message = str(info.value)
    assert "access_token" in message and "refresh_token" in message and "expires_in" in message
    for secret in ("987654321987", "refresh-in-a-list-4242", "soon"):
        assert secret not in message and secret not in repr(info.value)


def test_missing_cache_says_a_person_must_authorise(tmp_path: Path) -> None:
    with pytest.raises(TokenCacheError, match="not found: a person must authorise"):
        load_token_cache(tmp_path / "absent.json")


def test_saved_file_is_owner_only_whatever_the_umask_and_old_mode(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text("{}")
    path.chmod(0o644)
    old_umask = os.umask(0)
    try:
        save_token_cache(path, token())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_failed_rename_leaves_the_old_cache_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.json"
    before = write_cache(path, refresh_token="old-refresh", issued_at=EPOCH)

    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        save_token_cache(path, token())
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_token_cache(path).refresh_token.get_secret_value() == "old-refresh"
    assert list(tmp_path.iterdir()) == [path]


def test_crash_between_write_and_rename_leaves_the_old_cache_valid(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    before = write_cache(path, refresh_token="old-refresh", issued_at=EPOCH)
    # A real process is killed at the rename: the new content is written and fsynced, never renamed.
    script = textwrap.dedent(
        f"""
        import os, signal
        from pydantic import SecretStr
        from aegis_core.ops.saxo import TokenCache, save_token_cache
        new = TokenCache(access_token=SecretStr("a2"), expires_in=1200, refresh_token=SecretStr("r2"),
                         refresh_token_expires_in=3600, issued_at=1)
        os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)
        save_token_cache({str(path)!r}, new)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert path.read_bytes() == before
    assert load_token_cache(path).refresh_token.get_secret_value() == "old-refresh"
    leftovers = [p for p in tmp_path.iterdir() if p != path]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")
    # The orphan holds tokens, so it must already be owner-only.
    assert stat.S_IMODE(leftovers[0].stat().st_mode) == 0o600
    assert json.loads(leftovers[0].read_bytes())["refresh_token"] == "r2"
    assert remove_stale_temp_files(path) == 1
    assert list(tmp_path.iterdir()) == [path]


def test_a_folder_that_refuses_fsync_after_the_rename_does_not_make_a_saved_token_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.json"
    write_cache(path, refresh_token="old-refresh", issued_at=EPOCH)
    real_fsync = os.fsync

    def no_folder_fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", no_folder_fsync)
    save_token_cache(path, token())
    assert load_token_cache(path).refresh_token.get_secret_value() != "old-refresh"
