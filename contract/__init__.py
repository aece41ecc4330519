"""Canonical event contract: event types, code map, units and dead-letter reasons."""
