"""Registry of every criteria set: name -> pure callable(snapshot, config) -> result.

The contract tests run over every entry (determinism, monotonicity, missing data), and
``docs/rules.md`` lists the same names, versions and citations.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scoring.criteria import (
    astct_crs,
    astct_icans,
    cartox_hlh,
    ctcae_crs,
    ctcae_fever,
    ctcae_labs,
    easix,
    hlh2004,
    hscore,
    idsa_fn,
    iec_hs,
    news2,
    qsofa,
    sirs,
    sofa,
)
from scoring.rule import InputSpec, RuleFn, RuleSpec

__all__ = ["REGISTRY", "InputSpec", "RuleFn", "RuleSpec", "get", "names"]

_MODULES = (
    astct_crs, ctcae_crs, astct_icans, ctcae_labs, ctcae_fever, hlh2004, hscore,
    cartox_hlh, iec_hs, idsa_fn, sirs, qsofa, sofa, news2, easix,
)  # fmt: skip


def _build() -> Mapping[str, RuleSpec]:
    rules: dict[str, RuleSpec] = {}
    for module in _MODULES:
        for spec in module.RULES:
            if spec.name in rules:
                raise ValueError(f"duplicate rule name {spec.name}")
            rules[spec.name] = spec
    return MappingProxyType(rules)


REGISTRY: Mapping[str, RuleSpec] = _build()
"""Every registered rule, in a stable order (CRS, ICANS, CTCAE, HLH, infection, markers)."""


def get(name: str) -> RuleSpec:
    """The rule registered under ``name`` (raises ``KeyError``)."""
    return REGISTRY[name]


def names() -> tuple[str, ...]:
    """Registered rule names, in registry order."""
    return tuple(REGISTRY)
