from __future__ import annotations

import pytest

from aegis_core.pt_health import ENV_NAMES, ThresholdError, Thresholds


def test_defaults_match_the_runbook() -> None:
    t = Thresholds.from_env({})
    assert t == Thresholds()
    assert (t.heartbeat_stale_sec, t.pending_order_warn, t.pending_order_critical) == (300, 2, 3)
    assert (t.market_data_10197_warn, t.high_exit_attempt_warn, t.high_exit_attempt_critical) == (10, 12, 20)
    assert (t.open_grace_minute, t.pending_order_max_age_sec) == (35, 300)


def test_every_variable_is_read() -> None:
    environ = {variable: str(100 + i) for i, variable in enumerate(ENV_NAMES.values())}
    t = Thresholds.from_env(environ)
    assert [getattr(t, name) for name in ENV_NAMES] == [100 + i for i in range(len(ENV_NAMES))]
    assert set(ENV_NAMES.values()) == {
        "AEGIS_PT_HEARTBEAT_STALE_SEC",
        "AEGIS_PT_PENDING_ORDER_WARN",
        "AEGIS_PT_PENDING_ORDER_CRITICAL",
        "AEGIS_PT_PENDING_ORDER_MAX_AGE_SEC",
        "AEGIS_PT_MARKET_DATA_10197_WARN",
        "AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN",
        "AEGIS_PT_HIGH_EXIT_ATTEMPT_CRITICAL",
        "AEGIS_PT_OPEN_GRACE_MINUTE",
    }


@pytest.mark.parametrize("bad", ["", "five", "3.5", "-1"])
def test_bad_value_names_the_variable(bad: str) -> None:
    with pytest.raises(ThresholdError, match="AEGIS_PT_HEARTBEAT_STALE_SEC"):
        Thresholds.from_env({"AEGIS_PT_HEARTBEAT_STALE_SEC": bad})


def test_warn_above_critical_names_both_variables() -> None:
    with pytest.raises(
        ThresholdError, match=r"AEGIS_PT_PENDING_ORDER_WARN=5.*AEGIS_PT_PENDING_ORDER_CRITICAL=3"
    ):
        Thresholds.from_env({"AEGIS_PT_PENDING_ORDER_WARN": "5"})
    with pytest.raises(ThresholdError, match="AEGIS_PT_HIGH_EXIT_ATTEMPT_WARN"):
        Thresholds.from_env({"AEGIS_PT_HIGH_EXIT_ATTEMPT_CRITICAL": "4"})
