"""Fault drills of the end-of-day run on three symbols (``benchmarks/drills.py`` runs the same harness,
``tests/drills/harness.py``, on 712).

One module-scoped run of every drill against the simulated server, sharing one Dagster home, then
one test per drill on what it found; the secrets test scans that home after all of them.
"""

import secrets

import pytest

from tests.conftest import SMALL_UNIVERSE
from tests.drills import harness as drills

CURSOR_SYMBOL = "CORN"  # two pages: the second answer repeats the first cursor


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    setup = drills.DrillSetup(
        work=tmp_path_factory.mktemp("drills"),
        symbols=list(SMALL_UNIVERSE),
        key=f"pk-drill-{secrets.token_hex(12)}",
        wrong_key=f"pk-wrong-{secrets.token_hex(12)}",
        concurrency=4,
        timeout_s=1.0,
        backoff_base_s=0.01,
        retry_after_s=0.05,
        stall_s=2.0,
        # A three-symbol run makes a dozen requests: higher rates so that every kind of fault occurs.
        faults={"rate_5xx": 0.2, "rate_429": 0.1, "rate_stall": 0.1, "rate_truncate": 0.1},
    )
    with pytest.MonkeyPatch.context() as mp:
        for name, value in setup.environment.items():
            mp.setenv(name, value)
        out = {r.name: r for r in drills.run_all(setup, CURSOR_SYMBOL)}
    return out


def test_source_faults_archive_every_symbol_identically(results):
    r = results["source faults"]
    assert r.passed, r.facts
    assert r.facts["identical"] and r.facts["files_compared"] == 1 + 2 * len(SMALL_UNIVERSE)
    assert r.facts["symbols_covered"] == f"{len(SMALL_UNIVERSE)}/{len(SMALL_UNIVERSE)}"
    # Every kind of fault was met and retried: 5xx, 429, a stall (timeout) and a cut body.
    assert set(r.facts["retries_by_reason"]) >= {"5xx", "429", "timeout", "truncated"}, r.facts


def test_sigkill_mid_write_leaves_no_partial_file_and_a_rerun_restores_the_archive(results):
    r = results["SIGKILL mid-write"]
    assert r.facts["child_exit"] == -9
    assert 0 < r.facts["visible_chain_files_after_kill"] < len(SMALL_UNIVERSE)  # really mid-write
    assert r.facts["unreadable_visible_files"] == [] and r.facts["visible_files_differing"] == []
    assert r.facts["rerun_identical"] and r.facts["temp_files_after_rerun"] == 0
    assert r.facts["lake_options_rows"] == r.facts["expected_lake_rows"] > 0
    assert r.passed, r.facts


def test_repeated_cursor_fails_that_symbol_by_name_and_the_coverage_check(results):
    r = results["repeated cursor"]
    assert list(r.facts["symbols_failed"]) == [CURSOR_SYMBOL]
    assert "repeats a cursor" in r.facts["symbols_failed"][CURSOR_SYMBOL]
    assert r.facts["others_missing"] == []
    assert r.facts["coverage_passed"] is False and CURSOR_SYMBOL in r.facts["coverage"]
    assert r.passed, r.facts


@pytest.mark.parametrize(("status", "message"), [(401, "Unknown API Key"), (403, "not entitled")])
def test_rejected_key_stops_the_run_with_the_source_message_without_hammering(results, status, message):
    r = results[f"HTTP {status}"]
    assert r.facts["run_success"] is False
    assert r.facts["failures"] and all(message in m and f"HTTP {status}" in m for m in r.facts["failures"])
    assert r.facts["requests_sent"] <= r.facts["request_budget"]
    assert r.facts["run_s"] < 30
    assert r.passed, r.facts


def test_live_path_captures_at_the_moved_clock_inside_the_window_and_refuses_after_the_open(results):
    r = results["live window"]
    assert r.facts["inside_success"] and r.facts["captured_at"] == r.facts["inside_clock"]
    assert r.facts["symbols_covered"] == f"{len(SMALL_UNIVERSE)}/{len(SMALL_UNIVERSE)}"
    assert r.facts["late_success"] is False and r.facts["late_chain_files"] == []
    (refusal,) = r.facts["late_failures"]
    assert "can be captured only between its close" in refusal and "2026-11-20" in refusal
    assert r.passed, r.facts


def test_no_key_value_anywhere_under_the_dagster_home_after_all_drills(results):
    r = results["secrets"]
    assert r.facts["hits"] == []
    assert r.facts["files_scanned"] > 5 and r.facts["retry_lines"] > 0  # logs with retries were scanned
    assert r.passed, r.facts
