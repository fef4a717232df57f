"""The one way a number or a moment from a flag, a setting or a file is bounded.

Every number the operator can give (a profile key, an environment variable, a command-line flag, a
field of a file the program reads back) has a finite, documented ``Range``; a value outside it — and
NaN, infinity, a boolean where a number belongs — is refused where it is loaded, in one line that
names it (the setting, variable or flag) and states the range. ``Range.field`` declares a settings
field, ``Range.arg`` an argparse type, ``Range.check`` anything else (thresholds, file fields), so
the three kinds of input are refused alike. ``MOMENTS`` bounds a time the same way: to the NYSE
calendar's horizon, outside which no decision of this program can be made.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from aegis_core.calendar import CALENDAR_END, CALENDAR_START


class RangeError(ValueError):
    """A value outside its range; the message names the input and the range."""


@dataclass(frozen=True)
class Range:
    """``low ≤ x ≤ high`` (``low < x`` when ``low_open``), finite; ``integer``: whole numbers only."""

    low: float
    high: float
    unit: str = ""
    low_open: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"a range needs finite bounds low < high, got {self.low!r}..{self.high!r}")

    def describe(self) -> str:
        """The range as the docs and the messages spell it: ``between 0 and 3600 s``, ``more than 0
        and at most 600 s``, ``a whole number between 1 and 100``."""
        unit = f" {self.unit}" if self.unit else ""
        kind = "a whole number " if self.integer else ""
        if self.low_open:
            return f"{kind}more than {_num(self.low)} and at most {_num(self.high)}{unit}"
        return f"{kind}between {_num(self.low)} and {_num(self.high)}{unit}"

    def contains(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        return math.isfinite(value) and above and value <= self.high

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` ("must be …, got …"), or None when it is inside the range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number ({self.describe()}), got {value!r}"
        if self.integer and not float(value).is_integer():
            return f"must be {self.describe()}, got {value!r}"
        if not self.contains(value):
            return f"must be {self.describe()}, got {_num(value)}"
        return None

    def check(self, value: Any, name: str) -> Any:
        """``value`` unchanged when it is a finite number inside the range; else ``RangeError``."""
        problem = self.problem(value)
        if problem:
            raise RangeError(f"{name} {problem}")
        return value

    def field(self, default: Any = ..., **kwargs: Any) -> Any:
        """A pydantic field with this range (and no NaN or infinity); its description states the range."""
        gt, ge = (self.low, None) if self.low_open else (None, self.low)
        return Field(
            default, gt=gt, ge=ge, le=self.high, allow_inf_nan=False, description=self.describe(), **kwargs
        )

    def arg(self, flag: str) -> Callable[[str], float | int]:
        """An argparse ``type=`` for ``flag``: parses the text and refuses it outside the range."""

        def parse(text: str) -> float | int:
            try:
                value: float | int = int(text) if self.integer else float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"must be {self.describe()}, got {text!r}") from None
            problem = self.problem(value)
            if problem:
                raise argparse.ArgumentTypeError(problem)
            return value

        parse.__name__ = flag  # argparse names the type in some messages
        return parse


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


# The moments any decision of this program can concern: the NYSE calendar's horizon (UTC).
MOMENTS_START = dt.datetime.combine(CALENDAR_START, dt.time(), tzinfo=dt.UTC)
MOMENTS_END = dt.datetime.combine(CALENDAR_END + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def check_moment(value: dt.datetime, name: str) -> dt.datetime:
    """``value`` (aware) when it lies inside the calendar's horizon; else ``RangeError`` naming it."""
    if value.tzinfo is None:
        raise RangeError(f"{name} {value.isoformat()} needs a UTC offset (e.g. 2026-06-01T14:05:00Z)")
    try:
        inside = MOMENTS_START <= value.astimezone(dt.UTC) < MOMENTS_END
    except (OverflowError, ValueError):  # year 1 or 9999 with an offset cannot even be converted
        inside = False
    if not inside:
        raise RangeError(
            f"{name} {value.isoformat()} is outside the NYSE calendar's horizon "
            f"{CALENDAR_START}..{CALENDAR_END}"
        )
    return value


def moment_arg(flag: str) -> Callable[[str], dt.datetime]:
    """An argparse ``type=`` for an ISO 8601 time with an offset inside the calendar's horizon."""

    def parse(text: str) -> dt.datetime:
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from None
        try:
            return check_moment(value, "")
        except RangeError as exc:
            raise argparse.ArgumentTypeError(str(exc).strip()) from None

    parse.__name__ = flag
    return parse
