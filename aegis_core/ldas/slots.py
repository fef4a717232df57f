"""Which 15-minute intraday slot a capture time belongs to (New York time; slot 0 starts 09:35)."""

from __future__ import annotations

import datetime as dt

from aegis_core.calendar import FIRST_SLOT, NY, SLOT_LENGTH


def slot_of(capture: dt.time) -> dt.time | None:
    """The start of the 15-minute slot whose window holds ``capture`` (ET); None before 09:35."""
    index = slot_index(capture)
    return None if index is None else slot_start(index)


def slot_start(index: int) -> dt.time:
    """The start time of slot ``index`` (0 is 09:35)."""
    return (dt.datetime.combine(dt.date.min, FIRST_SLOT) + index * SLOT_LENGTH).time()


def slot_index(capture: dt.time) -> int | None:
    """0 for 09:35:00–09:49:59, 1 for 09:50–10:04:59, …; None before the first slot."""
    seconds = _seconds(capture) - _seconds(FIRST_SLOT)
    if seconds < 0:
        return None
    return seconds // int(SLOT_LENGTH.total_seconds())


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def slot_time(slot: dt.datetime | dt.time) -> dt.time:
    if isinstance(slot, dt.datetime):
        if slot.tzinfo is None:
            raise ValueError(f"expected slot {slot} is naive; pass an aware datetime or a New York time")
        return slot.astimezone(NY).time().replace(tzinfo=None)
    return slot
