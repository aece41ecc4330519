"""Reading recorded input files as the messages a feed would have sent.

Each reader yields :class:`InputMessage`: an ``InputRef`` naming the file and the message's
index in it (in place of topic, partition and offset), so an offline replay can say for every
message what became of it, exactly as the stream does.

Formats:
- ``json``: canonical JSON, one message per line (an event or a batch).
- ``fhir``: ``*.json`` files holding one Observation or Bundle each, or NDJSON files.
- ``hl7v2``: ``*.hl7`` / ``*.txt`` files, messages separated by blank lines or by each ``MSH``.
- ``physionet``: PhysioNet 2019 ``*.psv`` files (or the challenge ``.tar.gz``); each row
  becomes one canonical JSON batch message for the stay-hour; cells the PSV adapter rejects
  (implausible values) travel beside it as ``rejects`` so they are reported, not lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from adapters.physionet import iter_tar_stays, psv_events, read_psv
from adapters.result import Reject
from contract.events import InputRef

_SUFFIXES: dict[str, tuple[str, ...]] = {
    "json": (".jsonl", ".ndjson", ".json"),
    "fhir": (".json", ".ndjson", ".jsonl"),
    "hl7v2": (".hl7", ".txt", ".oru"),
    "physionet": (".psv",),
}
_MSH = re.compile(rb"(?m)^(?=MSH\|)")


@dataclass(frozen=True, slots=True)
class InputMessage:
    """One recorded message, and any parts its file reader already rejected."""

    ref: InputRef
    data: bytes
    rejects: tuple[Reject, ...] = ()


class _Batch(msgspec.Struct, omit_defaults=True):
    msg_id: str
    patient_id: str
    events: list[msgspec.Raw]


def input_files(path: Path, fmt: str) -> list[Path]:
    """The files under ``path`` (or ``path`` itself) that hold ``fmt`` messages, sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES[fmt])


def _lines(path: Path) -> Iterator[InputMessage]:
    with path.open("rb") as fh:
        for i, raw in enumerate(fh):
            line = raw.strip()
            if line:
                yield InputMessage(InputRef(str(path), 0, i), line)


def _fhir(path: Path) -> Iterator[InputMessage]:
    if path.suffix in (".ndjson", ".jsonl"):
        yield from _lines(path)
    else:
        yield InputMessage(InputRef(str(path), 0, 0), path.read_bytes())


def _hl7(path: Path) -> Iterator[InputMessage]:
    text = path.read_bytes()
    for i, chunk in enumerate(c for c in _MSH.split(text) if c.strip()):
        data = chunk.strip().replace(b"\r\n", b"\r").replace(b"\n", b"\r")
        yield InputMessage(InputRef(str(path), 0, i), data)


def physionet_messages(stay_id: str, text: str, source: str) -> Iterator[InputMessage]:
    """One canonical JSON batch message per PSV row of one stay (empty rows included).

    A row with no measured value still yields a message with no events, so a replay writes one
    output row per input row.
    """
    stay = read_psv(text, stay_id=stay_id)
    encoder = msgspec.json.Encoder()
    rows = psv_events(stay_id, stay)
    rejects_by_row: dict[int | None, list[Reject]] = {}
    for reject in rows.rejects:
        rejects_by_row.setdefault(reject.item, []).append(reject)
    for row_index, events in rows:
        batch = _Batch(
            msg_id=f"{stay_id}:{row_index}",
            patient_id=stay_id,
            events=[msgspec.Raw(encoder.encode(e)) for e in events],
        )
        yield InputMessage(
            InputRef(source, 0, row_index),
            encoder.encode(batch),
            tuple(rejects_by_row.get(row_index, ())),
        )


def physionet_stays(path: Path) -> Iterator[tuple[str, str]]:
    """(stay id, PSV text) of every stay in a ``.psv`` file, a folder or the challenge tarball."""
    files = [path] if path.name.endswith((".tar.gz", ".tgz")) else input_files(path, "physionet")
    for file in files:
        if file.name.endswith((".tar.gz", ".tgz")):
            yield from iter_tar_stays(file)
        else:
            yield file.stem, file.read_text(encoding="utf-8")


def _physionet(path: Path) -> Iterator[InputMessage]:
    for stay_id, text in physionet_stays(path):
        yield from physionet_messages(stay_id, text, f"{path}:{stay_id}")


_READERS = {"json": _lines, "fhir": _fhir, "hl7v2": _hl7}


def read_inputs(path: Path, fmt: str) -> Iterator[InputMessage]:
    """Every message in ``path`` (file or directory) of format ``fmt``, in file order."""
    if fmt == "physionet":
        yield from _physionet(path)
        return
    for file in input_files(path, fmt):
        yield from _READERS[fmt](file)
