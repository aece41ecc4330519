"""A site's own data in the canonical format: events as JSON lines, episodes as a labels CSV.

- Events: one canonical event per line, as ``contract.events.encode`` writes it (the
  simulator's ``events.jsonl``; ``ews`` ingest produces the same records from FHIR, HL7 v2
  or JSON feeds). Any order; each patient's history is replayed in event time.
- Labels: a CSV with the simulator's columns ``patient_id, complication, onset_ms,
  peak_grade, resolution_ms, cycle, onset_day, peak_ms`` (``simulator.labels``), one row per
  complication episode, graded by the site's reviewers (ASTCT for CRS and ICANS).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from contract.events import Event, decode_event
from models.history_data import HistoryRows, rows_from_histories
from simulator.labels import Label, load_labels


def read_histories(path: Path | str) -> dict[str, list[Event]]:
    """Events of a JSON-lines file grouped by patient, in file order (raises
    ``msgspec.ValidationError`` with the line number on a bad line)."""
    out: dict[str, list[Event]] = {}
    with Path(path).open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                event = decode_event(line)
            except Exception as exc:
                raise ValueError(f"{path} line {number}: {exc}") from None
            out.setdefault(event.patient_id, []).append(event)
    return out


def _items(histories: dict[str, list[Event]]) -> Iterator[tuple[str, list[Event]]]:
    yield from sorted(histories.items())


def site_rows(
    events_path: Path | str,
    labels_path: Path | str,
    step_h: float = 1.0,
    workers: int | None = None,
) -> tuple[HistoryRows, list[Label]]:
    """Training rows and labels of a site's canonical data."""
    rows = rows_from_histories(_items(read_histories(events_path)), step_h, workers)
    return rows, load_labels(labels_path)
