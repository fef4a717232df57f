"""What every domain shares, one way of doing each: the clock, the settings, the atomic writer, retries,
deadlines, endpoint URLs, bounds, user files, store errors, the alert ledger, processes."""
