"""Failure detectors of netweave: perfect (P) and eventually perfect (diamond-P)."""
