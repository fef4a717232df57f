import datetime as dt

import pytest

from aegis_core.calendar import nyse
from aegis_core.ldas.iv_window import consecutive_runs, stale_iv_ranks

SESSIONS = [s.date for s in nyse().sessions(dt.date(2026, 11, 2), dt.date(2026, 12, 31))]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def test_a_changed_session_makes_later_ranked_sessions_in_its_window_stale():
    changed = {d("2026-11-18"): 100}
    ranked = {d("2026-11-18"): 50, d("2026-11-19"): 60, d("2026-11-20"): 70, d("2026-11-23"): 80}
    assert stale_iv_ranks(changed, ranked, SESSIONS, window=3) == [d("2026-11-19"), d("2026-11-20")]


def test_ranks_written_after_the_change_and_unranked_sessions_are_left_alone():
    changed = {d("2026-11-18"): 100}
    ranked = {d("2026-11-19"): 120, d("2026-11-24"): 10}  # 11-20 was never ranked (no ATM IV?)
    assert stale_iv_ranks(changed, ranked, SESSIONS, window=252) == [d("2026-11-24")]


def test_the_changed_session_itself_and_earlier_sessions_are_not_stale():
    changed = {d("2026-11-20"): 100}
    ranked = {d("2026-11-19"): 1, d("2026-11-20"): 1}
    assert stale_iv_ranks(changed, ranked, SESSIONS, window=252) == []


def test_the_window_counts_sessions_not_days_across_a_holiday():
    changed = {d("2026-11-25"): 100}  # Thanksgiving 11-26 is not a session
    ranked = {d("2026-11-27"): 1, d("2026-11-30"): 1}
    assert stale_iv_ranks(changed, ranked, SESSIONS, window=2) == [d("2026-11-27")]


def test_the_newest_change_in_a_window_decides():
    changed = {d("2026-11-18"): 10, d("2026-11-19"): 300}
    ranked = {d("2026-11-20"): 200}
    assert stale_iv_ranks(changed, ranked, SESSIONS, window=252) == [d("2026-11-20")]
    assert stale_iv_ranks({d("2026-11-18"): 10}, ranked, SESSIONS, window=252) == []


def test_a_window_of_nothing_is_refused():
    with pytest.raises(ValueError, match="at least one session"):
        stale_iv_ranks({}, {}, SESSIONS, window=0)


def test_consecutive_sessions_form_one_run_and_a_gap_starts_another():
    days = [d("2026-11-30"), d("2026-11-25"), d("2026-11-27"), d("2026-12-02")]
    assert consecutive_runs(days, SESSIONS) == [
        (d("2026-11-25"), d("2026-11-30")),  # 11-26 is a holiday, 11-28/29 a weekend
        (d("2026-12-02"), d("2026-12-02")),
    ]
