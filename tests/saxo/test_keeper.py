"""The locked read-classify-refresh-save step against the fake endpoint."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aegis_core.ops.saxo import (
    Freshness,
    OutcomeKind,
    RefreshOutcome,
    SaxoTokenClient,
    cache_lock,
    check_token,
    load_token_cache,
    refresh_if_needed,
)
from tests.fakes.saxo import FakeSaxoTokenServer, OAuthError, ServerError, Stall, Success

from .conftest import FakeClock, write_cache

MakeClient = Callable[..., SaxoTokenClient]
REPO = Path(__file__).resolve().parents[2]


def test_due_token_is_refreshed_and_saved(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    assert check_token(cache_path, clock=clock).state is Freshness.NEEDS_REFRESH
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.REFRESHED and outcome.ok and not outcome.needs_operator
    assert outcome.freshness is Freshness.NEEDS_REFRESH and outcome.http_attempts == 1
    saved = load_token_cache(cache_path)
    issued = saxo.issued[-1]
    assert saved.access_token.get_secret_value() == issued["access_token"]
    assert saved.refresh_token.get_secret_value() == issued["refresh_token"]
    assert saved.issued_at == clock().timestamp()
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    meta = outcome.metadata()
    assert meta["outcome"] == "refreshed" and meta["freshness_before"] == "NeedsRefresh"
    assert meta["issued_at"] == clock().isoformat()
    assert meta["expires_at"] == (clock() + dt.timedelta(seconds=1200)).isoformat()
    assert meta["refresh_expires_at"] == (clock() + dt.timedelta(seconds=3600)).isoformat()
    assert check_token(cache_path, clock=clock).state is Freshness.ACCESS_VALID


def test_valid_token_is_left_alone(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path
) -> None:
    cache_path.parent.mkdir()
    before = write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=clock().timestamp() - 60
    )
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.STILL_VALID and outcome.ok
    assert saxo.calls == [] and cache_path.read_bytes() == before
    forced = refresh_if_needed(cache_path, make_client(), clock=clock, force=True)
    assert forced.kind is OutcomeKind.REFRESHED and len(saxo.calls) == 1


def test_expired_refresh_token_needs_a_person(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path
) -> None:
    cache_path.parent.mkdir()
    before = write_cache(
        cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=clock().timestamp() - 7200
    )
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock, force=True)
    assert outcome.kind is OutcomeKind.EXPIRED and outcome.needs_operator
    assert outcome.message.startswith("Manual re-authorization required")
    assert saxo.calls == [] and cache_path.read_bytes() == before


def test_negative_expires_in_is_saved_as_already_expired(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    saxo.script(Success(status=201, expires_in=-10))
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is OutcomeKind.REFRESHED and "already expired" in outcome.message
    assert load_token_cache(cache_path).expires_in == -10
    assert check_token(cache_path, clock=clock).state is Freshness.NEEDS_REFRESH


FAILURES = [
    pytest.param([OAuthError("invalid_grant")], OutcomeKind.FAILED_TERMINAL, 1, id="invalid_grant"),
    pytest.param([OAuthError("invalid_client", 401)], OutcomeKind.FAILED_TERMINAL, 1, id="invalid_client"),
    pytest.param([ServerError(500)] * 3, OutcomeKind.FAILED_TRANSIENT, 3, id="5xx"),
    pytest.param([Stall()] * 3, OutcomeKind.FAILED_TRANSIENT, 3, id="timeout"),
    pytest.param([Success(drop=("access_token",))], OutcomeKind.FAILED_TRANSIENT, 1, id="malformed"),
]


@pytest.mark.parametrize(("replies", "kind", "calls"), FAILURES)
def test_failure_leaves_the_cache_byte_for_byte(
    saxo: FakeSaxoTokenServer,
    make_client: MakeClient,
    clock: FakeClock,
    cache_path: Path,
    due_cache: bytes,
    replies: list,
    kind: OutcomeKind,
    calls: int,
) -> None:
    mtime = cache_path.stat().st_mtime_ns
    saxo.script(*replies)
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.kind is kind and not outcome.ok
    assert len(saxo.calls) == calls and outcome.http_attempts == calls
    assert cache_path.read_bytes() == due_cache and cache_path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in cache_path.parent.iterdir()) == [cache_path.name, cache_path.name + ".lock"]
    # The outcome still reports the cache's (old) times for the operator.
    assert outcome.expires_at == load_token_cache(cache_path).expires_at


def test_invalid_grant_outcome_says_manual_reauthorization(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    saxo.script(OAuthError("invalid_grant"))
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    assert outcome.needs_operator and outcome.error_code == "invalid_grant" and outcome.http_status == 400
    assert outcome.message.startswith("Manual re-authorization required (invalid_grant)")


def test_failed_save_after_refresh_keeps_the_old_cache(
    saxo: FakeSaxoTokenServer,
    make_client: MakeClient,
    clock: FakeClock,
    cache_path: Path,
    due_cache: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def failing_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    outcome = refresh_if_needed(cache_path, make_client(), clock=clock)
    monkeypatch.undo()
    assert (
        outcome.kind is OutcomeKind.FAILED_TERMINAL and "could not be saved (No space left" in outcome.message
    )
    assert cache_path.read_bytes() == due_cache
    assert not [p for p in cache_path.parent.iterdir() if p.name.endswith(".tmp")]


def test_missing_cache_and_missing_folder_are_reported_by_name(
    make_client: MakeClient, clock: FakeClock, tmp_path: Path
) -> None:
    (tmp_path / "tokens").mkdir()
    missing = refresh_if_needed(tmp_path / "tokens" / "absent.json", make_client(), clock=clock)
    assert missing.kind is OutcomeKind.FAILED_TERMINAL and "absent.json not found" in missing.message
    no_folder = refresh_if_needed(tmp_path / "nowhere" / "t.json", make_client(), clock=clock)
    assert (
        no_folder.kind is OutcomeKind.FAILED_TERMINAL
        and "nowhere/t.json.lock cannot be opened" in no_folder.message
    )


def test_leftover_temp_file_is_cleaned_on_the_next_refresh(
    make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    orphan = cache_path.parent / f".{cache_path.name}.12345.deadbeef.tmp"
    orphan.write_text("{}")
    assert refresh_if_needed(cache_path, make_client(), clock=clock).kind is OutcomeKind.REFRESHED
    assert not orphan.exists()


def test_lock_held_too_long_is_transient(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    with cache_lock(cache_path):
        outcome = refresh_if_needed(cache_path, make_client(), clock=clock, lock_timeout=0.1)
    assert outcome.kind is OutcomeKind.FAILED_TRANSIENT and "still held" in outcome.message
    assert saxo.calls == [] and cache_path.read_bytes() == due_cache


def test_two_threads_refresh_once(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    saxo.script(Success(delay=0.3))  # the first refresh is slow, so the second waits on the lock
    barrier = threading.Barrier(2)
    outcomes: list[RefreshOutcome] = []

    def refresher() -> None:
        client = make_client(timeout=5)
        barrier.wait()
        outcomes.append(refresh_if_needed(cache_path, client, clock=clock))

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(saxo.calls) == 1
    assert sorted(o.kind for o in outcomes) == [OutcomeKind.REFRESHED, OutcomeKind.STILL_VALID]
    assert outcomes[0].expires_at == outcomes[1].expires_at
    # The loser saw the winner's token, not the one it started from.
    assert [o.freshness for o in outcomes if o.kind is OutcomeKind.STILL_VALID] == [Freshness.ACCESS_VALID]


_PROCESS_REFRESHER = textwrap.dedent(
    """
    import json, sys
    from aegis_core.ops.saxo import RetryPolicy, SaxoTokenClient, refresh_if_needed
    cache, url, key, secret = sys.argv[1:5]
    client = SaxoTokenClient(key, secret, token_url=url, timeout=5, retry=RetryPolicy(max_attempts=1))
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    outcome = refresh_if_needed(cache, client)
    print(json.dumps(outcome.metadata()), flush=True)
    """
)


def test_two_processes_refresh_once(saxo: FakeSaxoTokenServer, cache_path: Path) -> None:
    cache_path.parent.mkdir()
    # Real time here: the processes use the system clock. The access token expired a minute ago.
    write_cache(cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=int(time.time()) - 1260)
    saxo.script(Success(status=201, delay=0.4))
    args = [
        sys.executable,
        "-c",
        _PROCESS_REFRESHER,
        str(cache_path),
        saxo.url,
        saxo.app_key,
        saxo.app_secret,
    ]
    procs = [
        subprocess.Popen(args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.communicate(timeout=20)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert len(saxo.calls) == 1
    assert sorted(r["outcome"] for r in results) == ["refreshed", "still_valid"]
    assert results[0]["expires_at"] == results[1]["expires_at"]
    assert load_token_cache(cache_path).refresh_token.get_secret_value() == saxo.issued[-1]["refresh_token"]


def test_keeper_over_a_simulated_day(
    saxo: FakeSaxoTokenServer, make_client: MakeClient, clock: FakeClock, cache_path: Path, due_cache: bytes
) -> None:
    """A sensor-like tick every 5 minutes for 24 hours keeps the token valid, with one refresh per cycle.

    A 20-minute token with a 5-minute margin is due 15 minutes after issue: every third tick refreshes.
    A three-hour outage in the middle lets the refresh token lapse: the keeper reports it and stops
    calling Saxo until a person re-authorises.
    """
    client = make_client()
    kinds: list[OutcomeKind] = []
    for tick in range(24 * 12):
        if 10 * 12 <= tick < 13 * 12:  # the outage: no ticks 10:00-13:00 into the day
            clock.advance(300)
            continue
        if tick == 14 * 12:  # a person re-authorises at 14:00
            write_cache(cache_path, refresh_token=saxo.mint_refresh_token(), issued_at=clock().timestamp())
        kinds.append(refresh_if_needed(cache_path, client, clock=clock).kind)
        clock.advance(300)
        state = check_token(cache_path, clock=clock).state
        assert state is not Freshness.EXPIRED or 10 * 12 <= tick < 14 * 12
    before, outage, after = kinds[:120], kinds[120:132], kinds[132:]
    assert before[0] is OutcomeKind.REFRESHED
    assert before.count(OutcomeKind.REFRESHED) == 40 and before.count(OutcomeKind.STILL_VALID) == 80
    assert outage == [OutcomeKind.EXPIRED] * 12
    # The re-authorised token is fresh, so its first refresh comes three ticks later.
    assert OutcomeKind.EXPIRED not in after and after.count(OutcomeKind.REFRESHED) == 39
    assert all(c.status == 200 for c in saxo.calls) and len(saxo.calls) == 79
