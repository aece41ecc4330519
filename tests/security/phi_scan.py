"""A reusable scanner for patient identifiers in texts that leave the clinical topics.

Log lines, Prometheus exposition text, pager and webhook payloads must carry no patient
identifier. :func:`scan` looks for

- ``identifier``: any of the identifiers it is given (patient ids, MRNs), as a whole token
  (``p-1`` does not match inside ``p-10``), case-insensitive, also inside JSON strings after
  their escapes are decoded (``"\\u0070-1"``);
- ``mrn``: MRN-like values: ``MRN: 12345678``, ``medical record number=...`` and HL7 CX
  identifiers typed ``MR`` (``12345^^^HOSP^MR``);
- ``hl7_name``: names in HL7 PID-5 (the fifth field of a ``PID|`` segment) and
  ``Family^Given`` pairs;
- ``dob``: dates of birth (``DOB: 1980-01-01``, ``"birthDate": "1980-01-01"``, PID-7);
- ``patient_reference``: FHIR ``Patient/<id>`` references.

Usage (the lead runs it over a demo worker log and the pager payloads)::

    from tests.security.phi_scan import scan
    findings = scan({"worker.log": log_text, "pager": payload_json}, patient_ids)
    assert not findings, "\\n".join(map(str, findings))

``str(finding)`` masks the matched text, so a report can be printed in CI without repeating
the identifier it found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "mrn",
        re.compile(
            r"\b(?:MRN|medical[ _-]?record(?:[ _-]?(?:number|no|nr))?)\b[\"']?\s*[:=#]?\s*"
            r"[\"']?[A-Za-z0-9][A-Za-z0-9\-]{3,}",
            re.IGNORECASE,
        ),
    ),
    ("mrn", re.compile(r"[A-Za-z0-9.\-]+\^\^\^[^|^\r\n]*\^MR\b")),
    ("hl7_name", re.compile(r"\bPID\|(?:[^|\r\n]*\|){4}(?P<v>[^|\r\n]*[A-Za-z][^|\r\n]*)")),
    ("hl7_name", re.compile(r"\b[A-Z][a-z]+(?:[-'][A-Za-z]+)?\^[A-Z][a-z]+\b")),
    (
        "dob",
        re.compile(
            r"\b(?:DOB|date[ _-]?of[ _-]?birth|birth[ _-]?date)\b[\"']?\s*[:=]\s*[\"']?"
            r"\d{4}-?\d{2}-?\d{2}",
            re.IGNORECASE,
        ),
    ),
    ("dob", re.compile(r"\bPID\|(?:[^|\r\n]*\|){6}(?P<v>\d{8})")),
    ("patient_reference", re.compile(r"\bPatient/[A-Za-z0-9\-.]{1,64}")),
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One patient identifier found in one text."""

    source: str
    """Name of the text (the mapping key, ``text[i]``, or ``<name> $.json.path``)."""
    line: int
    """1-based line of the match."""
    column: int
    """1-based column of the match."""
    kind: str
    """``identifier``, ``mrn``, ``hl7_name``, ``dob`` or ``patient_reference``."""
    match: str
    """The matched text (PHI: print :meth:`__str__`, which masks it)."""

    def __str__(self) -> str:
        shown = self.match[:2] + "*" * max(0, min(len(self.match), 12) - 2)
        return f"{self.source}:{self.line}:{self.column}: {self.kind} {shown!r}"


def _identifier_pattern(identifiers: Iterable[str]) -> re.Pattern[str] | None:
    ids = sorted({i for i in identifiers if i}, key=len, reverse=True)
    if not ids:
        return None
    alternation = "|".join(re.escape(i) for i in ids)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{alternation})(?![A-Za-z0-9])", re.IGNORECASE)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _scan_one(source: str, text: str, identifier: re.Pattern[str] | None) -> Iterator[Finding]:
    patterns = list(_PATTERNS)
    if identifier is not None:
        patterns.insert(0, ("identifier", identifier))
    seen: set[tuple[int, str]] = set()
    for kind, pattern in patterns:
        for match in pattern.finditer(text):
            start = match.start("v") if "v" in pattern.groupindex else match.start()
            value = match.group("v") if "v" in pattern.groupindex else match.group()
            if (start, kind) in seen:
                continue
            seen.add((start, kind))
            line, column = _position(text, start)
            yield Finding(source, line, column, kind, value)


def _json_strings(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            yield where, node
        elif isinstance(node, dict):
            for k, v in node.items():
                yield f"{where}.{k} (key)", str(k)
                stack.append((v, f"{where}.{k}"))
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))


def _json_documents(text: str) -> Iterator[tuple[str, Any]]:
    """The whole text, or each line, when it is a JSON object or array."""
    candidates = [("", text)] + [
        (f" line {n}", line) for n, line in enumerate(text.splitlines(), 1)
    ]
    for suffix, chunk in candidates:
        stripped = chunk.strip()
        if stripped[:1] in ("{", "[") and "\\u" in stripped:
            try:
                yield suffix, json.loads(stripped)
            except ValueError:
                continue


def scan(
    texts: Mapping[str, str] | Iterable[str], identifiers: Iterable[str] = ()
) -> list[Finding]:
    """Every patient identifier found in ``texts`` (see the module docstring for what counts).

    ``texts`` is a mapping from a name (a file, ``metrics``, ``pager[3]``) to its text, or an
    iterable of texts (named ``text[i]``). ``identifiers`` are the known patient ids and MRNs.
    """
    named = (
        dict(texts)
        if isinstance(texts, Mapping)
        else {f"text[{i}]": t for i, t in enumerate(texts)}
    )
    identifier = _identifier_pattern(identifiers)
    findings: list[Finding] = []
    for source, text in named.items():
        found = list(_scan_one(source, text, identifier))
        findings.extend(found)
        # JSON escapes can hide an identifier from the plain-text patterns.
        plain = {f.match.lower() for f in found}
        for suffix, document in _json_documents(text):
            for path, value in _json_strings(document):
                for f in _scan_one(f"{source}{suffix} {path}", value, identifier):
                    if f.match.lower() not in plain:
                        findings.append(f)
    return findings
