"""The market-data archive at runtime: jobs, schedules, automation, checks' jobs, readiness."""
