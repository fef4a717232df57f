"""Slack alerts: failed runs and checks, slot and run-duration timing, the root cause of a failure."""
