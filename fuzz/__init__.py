"""Fuzzing of the input edge: harnesses, invariants, structured strategies and corpora.

- :mod:`fuzz.checks`: the properties every input must satisfy (never raises, never hangs,
  every input accounted for with a reason, limits enforced, emitted events valid under the
  contract). They raise :class:`fuzz.checks.InvariantError` or :class:`fuzz.checks.Hang`.
- :mod:`fuzz.targets`: one ``bytes -> None`` target per input format and entry point.
- :mod:`fuzz.strategies`: hypothesis strategies for near-valid FHIR, HL7 v2 and JSON messages
  and for structurally valid canonical events (the CI fuzzing in ``tests/fuzz``).
- :mod:`fuzz.run`: ``python -m fuzz.run TARGET --seconds N`` (coverage-guided, atheris).
- ``fuzz/corpus/<target>/``: seeds and every interesting or crashing input, replayed by
  ``tests/fuzz/test_corpus_regressions.py``.
"""
