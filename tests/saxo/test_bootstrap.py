"""First-deploy bootstrap: the canonical cache copied once, atomically, never over an existing cache."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from aegis_core.ops.saxo import TokenCacheError
from aegis_core.ops.saxo.bootstrap import Bootstrap, bootstrap_cache

DOC = {
    "access_token": "canon-access",
    "token_type": "Bearer",
    "expires_in": 1200,
    "refresh_token": "canon-refresh",
    "refresh_token_expires_in": 3600,
    "issued_at": 1780000000,
    "extra_field_the_other_keeper_writes": 1,
}


@pytest.fixture
def canonical(tmp_path: Path) -> Path:
    path = tmp_path / "canonical" / "saxobank_tokens_live.json"
    path.parent.mkdir()
    path.write_text(json.dumps(DOC))
    return path


def test_a_missing_cache_is_seeded_once_byte_for_byte_owner_only(canonical: Path, tmp_path: Path) -> None:
    cache = tmp_path / "saxobank_tokens_live_parallel.json"
    assert bootstrap_cache(cache, canonical) is Bootstrap.COPIED
    assert cache.read_bytes() == canonical.read_bytes()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    # Once: the next call (the canonical file has moved on meanwhile) leaves the cache alone.
    canonical.write_text(json.dumps({**DOC, "issued_at": 1780000900}))
    assert bootstrap_cache(cache, canonical) is Bootstrap.EXISTS
    assert json.loads(cache.read_text())["issued_at"] == 1780000000


@pytest.mark.parametrize("existing", ["file", "dangling symlink"])
def test_an_existing_cache_is_never_overwritten(canonical: Path, tmp_path: Path, existing: str) -> None:
    cache = tmp_path / "cache.json"
    if existing == "file":
        cache.write_text("{not even json")
    else:
        cache.symlink_to(tmp_path / "nowhere.json")
    before = os.readlink(cache) if cache.is_symlink() else cache.read_bytes()
    assert bootstrap_cache(cache, canonical) is Bootstrap.EXISTS
    assert (os.readlink(cache) if cache.is_symlink() else cache.read_bytes()) == before


def test_a_cache_created_during_the_copy_wins(
    canonical: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the cache between the existence check and the link: theirs stays."""
    cache = tmp_path / "cache.json"
    real_link = os.link

    def racing_link(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        Path(dst).write_text('{"someone": "else"}')
        real_link(src, dst)

    monkeypatch.setattr(os, "link", racing_link)
    assert bootstrap_cache(cache, canonical) is Bootstrap.EXISTS
    assert cache.read_text() == '{"someone": "else"}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_missing_or_bad_source_is_named_and_nothing_is_created(canonical: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.json"
    with pytest.raises(TokenCacheError, match=f"Bootstrap source {tmp_path / 'nope.json'} not found"):
        bootstrap_cache(cache, tmp_path / "nope.json")
    canonical.write_text(json.dumps({**DOC, "refresh_token": ""}))
    with pytest.raises(TokenCacheError, match=r"bootstrap source\) is invalid: refresh_token") as info:
        bootstrap_cache(cache, canonical)
    assert "canon-access" not in str(info.value)
    assert not cache.exists() and list(tmp_path.glob(".*")) == []
