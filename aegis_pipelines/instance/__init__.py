"""The Dagster instance itself: orphaned runs, the production run launcher, the watchdog."""
