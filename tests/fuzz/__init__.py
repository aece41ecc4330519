"""Fuzzing tests: structured hypothesis fuzzing and the corpus replay."""
