"""Deterministic generator of a realistic demo world: areas, staff and a history of events."""
