from __future__ import annotations

import datetime as dt
import itertools

import pytest

from aegis_core.calendar import nyse
from aegis_core.ops.pt_health import WindowPolicy, missed_windows, session_windows, window_at
from aegis_core.ops.pt_health.windows import parse_window_key
from tests.pt_health.statuses import EARLY_CLOSE, FULL_DAY, HOLIDAY, SATURDAY, ny

# The grid geometry below is shown with narrow buffers (5 min before the open, 10 after the close).
NARROW = WindowPolicy(before_open=dt.timedelta(minutes=5), after_close=dt.timedelta(minutes=10))


def test_default_policy_is_the_runbooks_span() -> None:
    """13:00–21:59 UTC in daylight-saving time: 09:00 to 18:00 New York, kept relative to the session."""
    windows = session_windows(session(FULL_DAY))
    assert (windows[0].start, windows[-1].end) == (ny(FULL_DAY, 9, 0), ny(FULL_DAY, 18, 0))
    assert windows[0].start.astimezone(dt.UTC).hour == 13 and windows[-1].end.astimezone(dt.UTC).hour == 22
    assert len(windows) == 54
    early = session_windows(session(EARLY_CLOSE))
    assert (early[0].start, early[-1].end) == (ny(EARLY_CLOSE, 9, 0), ny(EARLY_CLOSE, 15, 0))


def session(day: dt.date):
    s = nyse().session(day)
    assert s is not None
    return s


def test_full_session_windows() -> None:
    windows = session_windows(session(FULL_DAY), NARROW)
    keys = [w.key for w in windows]
    assert len(windows) == 41
    assert keys[:3] == ["2026-06-01T09:25", "2026-06-01T09:30", "2026-06-01T09:40"]
    assert keys[-2:] == ["2026-06-01T15:50", "2026-06-01T16:00"]
    assert windows[0].start == ny(FULL_DAY, 9, 25) and windows[0].end == ny(FULL_DAY, 9, 30)
    assert windows[-1].end == ny(FULL_DAY, 16, 10)
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert len(set(keys)) == len(keys)


def test_early_close_session_windows() -> None:
    windows = session_windows(session(EARLY_CLOSE), NARROW)
    assert len(windows) == 23
    assert windows[-1].key == "2026-11-27T13:00" and windows[-1].end == ny(EARLY_CLOSE, 13, 10)


def test_custom_policy_clips_edge_windows() -> None:
    policy = WindowPolicy(
        length=dt.timedelta(minutes=15), before_open=dt.timedelta(minutes=20), after_close=dt.timedelta(0)
    )
    windows = session_windows(session(FULL_DAY), policy)
    assert [w.key for w in windows[:3]] == ["2026-06-01T09:10", "2026-06-01T09:15", "2026-06-01T09:30"]
    assert windows[-1].key == "2026-06-01T15:45" and windows[-1].end == ny(FULL_DAY, 16, 0)


def test_dst_day_keeps_new_york_wall_clock() -> None:
    # 2026-03-09 is the first session after the switch to daylight time.
    assert session_windows(session(dt.date(2026, 3, 9)), NARROW)[1].key == "2026-03-09T09:30"


@pytest.mark.parametrize(
    ("moment", "key"),
    [
        (ny(FULL_DAY, 9, 24, 59), None),
        (ny(FULL_DAY, 9, 25), "2026-06-01T09:25"),
        (ny(FULL_DAY, 10, 5), "2026-06-01T10:00"),
        (ny(FULL_DAY, 16, 9, 59), "2026-06-01T16:00"),
        (ny(FULL_DAY, 16, 10), None),
        (ny(EARLY_CLOSE, 13, 5), "2026-11-27T13:00"),
        (ny(EARLY_CLOSE, 14, 0), None),
        (ny(SATURDAY, 11, 0), None),
        (ny(HOLIDAY, 11, 0), None),
        (dt.datetime(2026, 6, 1, 14, 5, tzinfo=dt.UTC), "2026-06-01T10:00"),
    ],
)
def test_window_at(moment: dt.datetime, key: str | None) -> None:
    window = window_at(moment, NARROW)
    assert (window.key if window else None) == key


def test_missed_windows() -> None:
    s = session(FULL_DAY)
    keys = [w.key for w in session_windows(s, NARROW)]
    evaluated = set(keys) - {"2026-06-01T09:25", "2026-06-01T10:10", "2026-06-01T10:20"}
    now = ny(FULL_DAY, 10, 25)  # 10:20 is in progress: not missed yet
    assert [w.key for w in missed_windows(s, evaluated, now, NARROW)] == [
        "2026-06-01T09:25",
        "2026-06-01T10:10",
    ]
    grace = dt.timedelta(minutes=8)  # 10:10–10:20 is within the grace at 10:25
    assert [w.key for w in missed_windows(s, evaluated, now, NARROW, grace=grace)] == ["2026-06-01T09:25"]
    assert len(missed_windows(s, set(), ny(FULL_DAY, 17, 0), NARROW)) == 41
    assert missed_windows(s, set(keys), ny(FULL_DAY, 17, 0), NARROW) == []
    assert missed_windows(s, set(), ny(FULL_DAY, 9, 0), NARROW) == []


def test_parse_window_key_round_trip() -> None:
    assert parse_window_key("2026-06-01T09:30") == ny(FULL_DAY, 9, 30)
    with pytest.raises(ValueError, match="2026-06-01 09:30"):
        parse_window_key("2026-06-01 09:30")


def test_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        WindowPolicy(length=dt.timedelta(0))
