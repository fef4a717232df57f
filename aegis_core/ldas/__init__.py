"""The archive's own domain: the door (validation), capture windows, derived inputs, quality and parity
gates, freshness, slots, cadence, consistency, readiness, go-live."""
