"""Issue 24: every number has a finite documented range, a time of day is never YAML's base-60 number,
and every user-named file is a regular file under a size cap (the shared helpers and the loader)."""

from __future__ import annotations

import datetime as dt
import typing

import annotated_types
import pytest
from pydantic import BaseModel

from aegis_core.archive.universe import UniverseError, load_universe
from aegis_core.base.bounds import Range, RangeError, check_moment
from aegis_core.base.settings import Settings, SettingsError, TimeOfDay, load_settings
from aegis_core.base.user_files import UserFileError, read_user_file
from aegis_core.ops.pt_health.thresholds import ENV_NAMES, RANGES, Thresholds
from tests.conftest import PROJECT

LOCAL = str(PROJECT / "configs/local.yaml")


def numeric_fields(model: type[BaseModel] = Settings, prefix: str = ""):
    """(dotted name, field info) of every int/float setting, nested sections included."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from numeric_fields(annotation, f"{prefix}{name}.")
        elif any(a in (int, float) for a in args) and annotation is not bool:
            yield f"{prefix}{name}", info


def test_every_numeric_setting_has_a_finite_range_and_refuses_nan_and_infinity():
    found = dict(numeric_fields())
    assert len(found) > 40  # the walk reaches every section
    for name, info in found.items():
        low = [m for m in info.metadata if isinstance(m, annotated_types.Ge | annotated_types.Gt)]
        high = [m for m in info.metadata if isinstance(m, annotated_types.Le | annotated_types.Lt)]
        finite = [m for m in info.metadata if getattr(m, "allow_inf_nan", None) is False]
        assert low and high and finite, f"{name} has no finite range"
        assert info.description, f"{name} does not state its range"


def test_every_threshold_has_a_range():
    assert set(RANGES) == set(ENV_NAMES) == set(Thresholds.__dataclass_fields__)


@pytest.mark.parametrize("value", ["inf", "nan", "1e15", "-1"])
@pytest.mark.parametrize(
    "variable",
    ["AEGIS_WATCHDOG_INTERVAL_S", "AEGIS_WATCHDOG_HEARTBEAT_MAX_AGE_S", "AEGIS_WATCHDOG_TICK_GRACE_S"],
)
def test_watchdog_variables_out_of_range_are_refused_naming_them(variable, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({"AEGIS_CONFIG": LOCAL, variable: value})
    message = str(caught.value)
    assert f"(from environment variable {variable})" in message and "(range: " in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["inf", "1e15", "1000000000000000", "0"])
def test_pt_history_minutes_out_of_range_is_refused(value):
    with pytest.raises(SettingsError, match=r"AEGIS_PT_HISTORY_MINUTES") as caught:
        load_settings({"AEGIS_CONFIG": LOCAL, "AEGIS_PT_HISTORY_MINUTES": value})
    assert "between 1 and 10080 min" in str(caught.value)


def test_an_unbounded_refresh_margin_in_the_profile_is_refused(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("saxo: {refresh_margin_s: 1000000000000}\n")
    with pytest.raises(SettingsError, match=r"saxo\.refresh_margin_s: .*\(range: between 0 and 3600 s\)"):
        load_settings({}, profile)


def test_the_readme_states_every_range():
    readme = (PROJECT / "README.md").read_text()
    for name, info in numeric_fields():
        assert f"| `{name}` | {info.description} |" in readme, f"README: no range row for {name}"
    for field, variable in ENV_NAMES.items():
        assert f"| `pt_health.thresholds.{field}` (`{variable}`) | {RANGES[field].describe()} |" in readme


def test_range_refuses_booleans_nan_and_strings():
    r = Range(0, 10, "s")
    assert r.check(10, "x") == 10
    for bad in (True, float("nan"), float("inf"), "3", 10.5, -0.1):
        with pytest.raises(RangeError, match=r"^x must be"):
            r.check(bad, "x")
    with pytest.raises(RangeError, match="whole number"):
        Range(0, 10, integer=True).check(2.5, "n")


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59+00:00", "2031-01-01T00:00:00+00:00"]
)
def test_moments_outside_the_calendar_are_refused(moment):
    with pytest.raises(RangeError, match="outside the NYSE calendar's horizon"):
        check_moment(dt.datetime.fromisoformat(moment), "--now")


# --- YAML's base-60 numbers --------------------------------------------------------------------------


def test_an_unquoted_time_of_day_means_what_the_operator_wrote(tmp_path):
    """`freshness_deadline: 18:00` unquoted was YAML 1.1's integer 1080, loaded as 00:18."""
    profile = tmp_path / "p.yaml"
    profile.write_text("quality: {freshness_deadline: 18:00}\n")
    assert load_settings({}, profile).quality.freshness_deadline == dt.time(18, 0)
    profile.write_text("quality:\n  freshness_deadline: 17:45\n")
    assert load_settings({}, profile).quality.freshness_deadline == dt.time(17, 45)


@pytest.mark.parametrize("value", ["64800", "1080", "18.5"])
def test_a_time_of_day_given_as_a_number_is_refused(tmp_path, value):
    profile = tmp_path / "p.yaml"
    profile.write_text(f"quality: {{freshness_deadline: {value}}}\n")
    with pytest.raises(SettingsError, match=r"quality\.freshness_deadline: a time of day is written HH:MM"):
        load_settings({}, profile)


def test_no_other_setting_takes_a_base_60_number(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("sim: {latency_ms: 1:30}\n")  # YAML 1.1: 90
    with pytest.raises(SettingsError, match=r"sim\.latency_ms"):
        load_settings({}, profile)


def test_every_time_of_day_setting_has_the_time_of_day_type():
    def walk(model: type[BaseModel]):
        for name, info in model.model_fields.items():
            if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                yield from walk(info.annotation)
            elif info.annotation is dt.time:
                yield name, info

    times = list(walk(Settings))
    assert times and all(info.metadata == list(typing.get_args(TimeOfDay)[1:]) for _, info in times), times


# --- user-named files --------------------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_fifo_is_refused_without_waiting_for_a_writer(fifo):
    with pytest.raises(UserFileError, match=r"^profile .*pipe is a FIFO \(named pipe\), not a regular file"):
        read_user_file(fifo, max_bytes=100, what="profile")


@pytest.mark.timeout(20)
def test_a_device_is_refused_without_reading_it():
    with pytest.raises(UserFileError, match=r"^universe file /dev/zero is a character device"):
        read_user_file("/dev/zero", max_bytes=100, what="universe file")


def test_a_file_past_its_cap_is_refused(tmp_path):
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(UserFileError, match="larger than its 100-byte cap"):
        read_user_file(big, max_bytes=100, what="file")
    assert read_user_file(big, max_bytes=101, what="file") == b"x" * 101


@pytest.mark.timeout(20)
def test_profile_and_universe_as_fifo_or_device(fifo):
    with pytest.raises(SettingsError, match=r"^AEGIS_CONFIG: configuration file .*pipe is a FIFO"):
        load_settings({"AEGIS_CONFIG": str(fifo)})
    with pytest.raises(SettingsError, match=r"^AEGIS_CONFIG: configuration file /dev/zero is a character"):
        load_settings({"AEGIS_CONFIG": "/dev/zero"})
    with pytest.raises(UniverseError, match=r"^universe file .*pipe is a FIFO"):
        load_universe(fifo)
