"""Tests of the per-patient feature state, catalog and timeline."""
