from __future__ import annotations

import pytest

from aegis_core.base.settings import SettingsError, load_settings
from aegis_core.ops.pt_health import ENV_NAMES, Thresholds
from tests.conftest import PROJECT


def thresholds(environ: dict[str, str]) -> Thresholds:
    """The thresholds as every entry point reads them: through the settings model."""
    return load_settings(
        {"AEGIS_CONFIG": str(PROJECT / "configs/local.yaml"), **environ}
    ).pt_health.thresholds


def test_defaults_match_the_runbook() -> None:
    t = thresholds({})
    assert t == Thresholds()
    assert (t.heartbeat_stale_sec, t.pending_order_warn, t.pending_order_critical) == (300, 2, 3)
    assert (t.market_data_10197_warn, t.high_exit_attempt_warn, t.high_exit_attempt_critical) == (10, 12, 20)
    assert (t.open_grace_minute, t.pending_order_max_age_sec) == (35, 300)


def test_every_variable_is_read() -> None:
    # K ≤ M and warn ≤ critical hold for increasing values in the table's order.
    environ = {variable: str(10 + i) for i, variable in enumerate(ENV_NAMES.values())}
    t = thresholds(environ)
    assert [getattr(t, name) for name in ENV_NAMES] == [10 + i for i in range(len(ENV_NAMES))]
    assert set(ENV_NAMES.values()) == {
        "AEGIS_PT_HEARTBEAT_STALE_SEC",
        "AEGIS_PT_PENDING_ORDER_WARN",
        "AEGIS_PT_PENDING_ORDER_CRITICAL",
        "AEGIS_PT_PENDING_ORDER_MAX_AGE_SEC",
        "AEGIS_PT_MARKET_DATA_10197_WARN",
        "AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN",
        "AEGIS_PT_HIGH_EXIT_ATTEMPT_CRITICAL",
        "AEGIS_PT_OPEN_GRACE_MINUTE",
        "AEGIS_PT_CLOCK_SKEW_TOLERANCE_SEC",
        "AEGIS_PT_PERSIST_EVALUATIONS",
        "AEGIS_PT_NO_RECOVERY_MINUTES",
        "AEGIS_PT_REPEATED_K",
        "AEGIS_PT_REPEATED_M",
        "AEGIS_PT_SUSTAINED_K",
        "AEGIS_PT_SUSTAINED_M",
        "AEGIS_PT_LOG_BURST_LINES",
        "AEGIS_PT_HISTORY_MINUTES",
    }


@pytest.mark.parametrize("bad", ["five", "3.5", "-1"])
def test_bad_value_names_the_variable(bad: str) -> None:
    with pytest.raises(SettingsError, match="AEGIS_PT_HEARTBEAT_STALE_SEC"):
        thresholds({"AEGIS_PT_HEARTBEAT_STALE_SEC": bad})


def test_warn_above_critical_names_both_variables() -> None:
    with pytest.raises(
        SettingsError, match=r"AEGIS_PT_PENDING_ORDER_WARN=5.*AEGIS_PT_PENDING_ORDER_CRITICAL=3"
    ):
        thresholds({"AEGIS_PT_PENDING_ORDER_WARN": "5"})
    with pytest.raises(SettingsError, match="AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN"):
        thresholds({"AEGIS_PT_HIGH_EXIT_ATTEMPT_CRITICAL": "4"})


def test_temporal_counts_default_to_the_documented_rules_and_are_checked() -> None:
    t = Thresholds()
    assert (t.persist_evaluations, t.no_recovery_minutes, t.log_burst_lines) == (2, 10, 3)
    assert (t.repeated_k, t.repeated_m, t.sustained_k, t.sustained_m) == (2, 3, 2, 3)
    assert (t.clock_skew_tolerance_sec, t.history_minutes, t.history_limit) == (60, 60, 24)
    with pytest.raises(SettingsError, match=r"AEGIS_PT_REPEATED_K=4 must not exceed AEGIS_PT_REPEATED_M=3"):
        thresholds({"AEGIS_PT_REPEATED_K": "4"})
    with pytest.raises(
        SettingsError,
        match="AEGIS_PT_PERSIST_EVALUATIONS must be a whole number between 1 and 100 evaluations, got 0",
    ):
        thresholds({"AEGIS_PT_PERSIST_EVALUATIONS": "0"})
