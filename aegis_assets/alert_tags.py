"""Run tags the alert sensors read.

A job that sends its own alerts (the Saxo token keeper alerts a refused refresh itself, with more
context than a run failure carries) tags its runs with ``SELF_ALERTING_TAG``; the run-failure alert
sensor then leaves its failed runs alone, so the operator is told once.
"""

from __future__ import annotations

from collections.abc import Mapping

ALERTS_TAG_KEY = "aegis/alerts"
SELF_ALERTING_TAG = {ALERTS_TAG_KEY: "self"}


def alerts_for_itself(tags: Mapping[str, str] | None) -> bool:
    return (tags or {}).get(ALERTS_TAG_KEY) == SELF_ALERTING_TAG[ALERTS_TAG_KEY]
