"""Writers: canonical JSON lines, FHIR R4 Bundles (NDJSON) and HL7 v2.5.1 ORU^R01.

- Canonical: one event per line (``contract.events.encode``) in arrival order, and a
  sidecar CSV with each line's arrival time and injected artifact (if any).
- FHIR: one transaction Bundle per message, one line each. Observations are PUT by id, so
  a corrected value (same ``obs_id``) replaces the original and an entered-in-error
  retraction marks it; blood pressure is the 85354-9 panel with systolic and diastolic
  components. ICE score, vasopressor count, oxygen flow and FiO2 travel as Observations
  with the code map's local/LOINC codes; infusion, treatment and context events have no
  Observation form and travel only in the canonical feed.
- HL7: one ORU^R01 per message (MSH-10 = message id, PID-3 MRN, OBR-7 collection time,
  OBX-3 ``code^name^LN``, OBX-5/6/7/11/14). Segments end in ``\\r``; messages are
  separated by a newline.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from contract.events import (
    NeuroAssessment,
    Observation,
    Retraction,
    VasopressorState,
    encode,
)
from contract.events import RespiratorySupport as RespEvent
from simulator.codes import BP_PANEL, Coding, coding_for, unit_of
from simulator.messages import SimMessage
from simulator.stream import StreamItem

UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OBS_ID_SYSTEM = "urn:ews:simulator:obs-id"
_LOCAL_CODES = {
    "ice_score": Coding("urn:ews:local", "ice-score", "ASTCT ICE score (0-10)"),
    "vasopressor_count": Coding(
        "urn:ews:local", "vasopressor-count", "Vasopressors running excluding vasopressin"
    ),
}
_FHIR_STATUS = {"final": "final", "preliminary": "preliminary", "corrected": "corrected"}
_HL7_STATUS = {"final": "F", "preliminary": "P", "corrected": "C", "amended": "C"}
_VITALS = frozenset({"hr", "rr", "spo2", "temp", "sbp", "dbp", "map", "o2_flow", "fio2"})


def write_jsonl(items: Iterable[StreamItem], path: Path, meta_path: Path | None = None) -> int:
    """Write canonical events (one per line) and optionally the arrival/artifact sidecar."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        meta_fh: IO[str] | None = meta_path.open("w", newline="") if meta_path else None
        try:
            writer = csv.writer(meta_fh, lineterminator="\n") if meta_fh else None
            if writer:
                writer.writerow(("line", "arrival_ms", "artifact"))
            for item in items:
                out.write(encode(item.event))
                out.write(b"\n")
                if writer:
                    writer.writerow((n, item.arrival_ms, item.message.artifact or ""))
                n += 1
        finally:
            if meta_fh:
                meta_fh.close()
    return n


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _hl7_ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y%m%d%H%M%S") + "+0000"


@dataclass(frozen=True, slots=True)
class FlatObs:
    """An observation-shaped view of a canonical event, for the FHIR and HL7 writers."""

    obs_id: str
    signal: str
    time_ms: int
    value: float | None
    unit: str
    coding: Coding
    status: str
    comparator: str | None = None
    ref_low: float | None = None
    ref_high: float | None = None


def _coding_of(event: Observation | Retraction) -> Coding:
    code = getattr(event, "code", None)
    if code:
        system, _, value = code.partition("|")
        for site in ("A", "B"):
            c = coding_for(event.signal, site)
            if c.code == value and c.system == system:
                return c
    return _LOCAL_CODES.get(event.signal) or coding_for(event.signal)


def flat_observations(message: SimMessage) -> Iterator[FlatObs]:
    """Observation-shaped items of a message (ICE, O2 and pressors included)."""
    for e in message.events:
        if isinstance(e, Observation):
            yield FlatObs(
                e.obs_id,
                e.signal,
                e.time_ms,
                e.value,
                e.unit,
                _coding_of(e),
                e.status,
                e.comparator,
                e.ref_low,
                e.ref_high,
            )
        elif isinstance(e, Retraction):
            yield FlatObs(
                e.obs_id, e.signal, e.time_ms, None, unit_of(e.signal), _coding_of(e), "retracted"
            )
        elif isinstance(e, NeuroAssessment) and e.ice_score is not None:
            yield FlatObs(
                f"{e.source_msg_id}.ice",
                "ice_score",
                e.time_ms,
                float(e.ice_score),
                unit_of("ice_score"),
                _LOCAL_CODES["ice_score"],
                "final",
            )
        elif isinstance(e, VasopressorState):
            yield FlatObs(
                f"{e.source_msg_id}.vaso",
                "vasopressor_count",
                e.time_ms,
                float(e.count),
                unit_of("vasopressor_count"),
                _LOCAL_CODES["vasopressor_count"],
                "final",
            )
        elif isinstance(e, RespEvent):
            flow = e.o2_flow_l_min if e.o2_flow_l_min is not None else 0.0
            if e.device == "room_air" or e.o2_flow_l_min is not None:
                yield FlatObs(
                    f"{e.source_msg_id}.flow",
                    "o2_flow",
                    e.time_ms,
                    flow,
                    unit_of("o2_flow"),
                    coding_for("o2_flow"),
                    "final",
                )
            fio2 = 21.0 if e.device == "room_air" else e.fio2_pct
            if fio2 is not None:
                yield FlatObs(
                    f"{e.source_msg_id}.fio2",
                    "fio2",
                    e.time_ms,
                    fio2,
                    unit_of("fio2"),
                    coding_for("fio2"),
                    "final",
                )


# --- FHIR -------------------------------------------------------------------------------


def _quantity(value: float, unit: str, comparator: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
    if comparator:
        q["comparator"] = comparator
    return q


def _codeable(c: Coding, extra: tuple[Coding, ...] = ()) -> dict[str, Any]:
    codings = [{"system": x.system, "code": x.code, "display": x.display} for x in (c, *extra)]
    return {"coding": codings, "text": c.display}


def _fhir_observation(
    pid: str, obs: FlatObs, components: list[FlatObs] | None = None
) -> dict[str, Any]:
    category = "vital-signs" if obs.signal in _VITALS else "laboratory"
    if obs.signal == "ice_score":
        category = "exam"
    status = "entered-in-error" if obs.status == "retracted" else _FHIR_STATUS[obs.status]
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs.obs_id,
        "identifier": [{"system": OBS_ID_SYSTEM, "value": obs.obs_id}],
        "status": status,
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": _iso(obs.time_ms),
    }
    if components is not None:
        resource["code"] = _codeable(Coding("http://loinc.org", *BP_PANEL))
        resource["component"] = [
            {"code": _codeable(c.coding), "valueQuantity": _quantity(c.value, c.unit)}
            for c in components
            if c.value is not None
        ]
        return resource
    extra: tuple[Coding, ...] = ()
    if obs.signal == "spo2":
        # Pulse oximetry also sent under the generic SpO2 code, as many monitors do.
        extra = (Coding("http://loinc.org", "2708-6", "Oxygen saturation in Arterial blood"),)
    resource["code"] = _codeable(obs.coding, extra)
    if obs.value is not None:
        resource["valueQuantity"] = _quantity(obs.value, obs.unit, obs.comparator)
    if obs.ref_low is not None or obs.ref_high is not None:
        rng: dict[str, Any] = {}
        if obs.ref_low is not None:
            rng["low"] = _quantity(obs.ref_low, obs.unit)
        if obs.ref_high is not None:
            rng["high"] = _quantity(obs.ref_high, obs.unit)
        resource["referenceRange"] = [rng]
    return resource


def fhir_bundle(message: SimMessage) -> dict[str, Any] | None:
    """The message as a FHIR R4 transaction Bundle, or ``None`` if it has no observations."""
    flats = list(flat_observations(message))
    if not flats:
        return None
    pid = message.events[0].patient_id
    sbp = next((f for f in flats if f.signal == "sbp" and f.status != "retracted"), None)
    dbp = next((f for f in flats if f.signal == "dbp" and f.status != "retracted"), None)
    resources: list[dict[str, Any]] = []
    if sbp is not None and dbp is not None and sbp.status == dbp.status:
        # The panel takes the systolic obs_id so a correction of it replaces the panel.
        resources.append(_fhir_observation(pid, sbp, components=[sbp, dbp]))
        flats = [f for f in flats if f is not sbp and f is not dbp]
    resources += [_fhir_observation(pid, f) for f in flats]
    return {
        "resourceType": "Bundle",
        "id": message.msg_id,
        "type": "transaction",
        "timestamp": _iso(message.composed_ms),
        "entry": [
            {
                "resource": r,
                "request": {"method": "PUT", "url": f"Observation/{r['id']}"},
            }
            for r in resources
        ],
    }


def write_fhir(messages: Iterable[SimMessage], path: Path) -> int:
    """Write one Bundle per line (NDJSON); returns the number of Bundles."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for m in messages:
            bundle = fhir_bundle(m)
            if bundle is None:
                continue
            fh.write(json.dumps(bundle, separators=(",", ":")))
            fh.write("\n")
            n += 1
    return n


# --- HL7 v2 -----------------------------------------------------------------------------


def _num(v: float) -> str:
    return f"{v:g}" if abs(v) < 1e6 else f"{v:.0f}"


def _hl7_range(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{_num(low)}-{_num(high)}"
    if high is not None:
        return f"<{_num(high)}"
    if low is not None:
        return f">{_num(low)}"
    return ""


def _flag(obs: FlatObs) -> str:
    if obs.value is None or (obs.ref_low is None and obs.ref_high is None):
        return ""
    if obs.ref_high is not None and obs.value > obs.ref_high:
        return "H"
    if obs.ref_low is not None and obs.value < obs.ref_low:
        return "L"
    return "N"


def _section(channel: str) -> tuple[str, str, str]:
    """OBR-4 universal service id and OBR-24 diagnostic section."""
    if channel.startswith("lab."):
        panel = channel[4:]
        sect = {"cbc": "HM", "coag": "HM"}.get(panel, "CH")
        return panel.upper(), f"Laboratory panel {panel}", sect
    return channel.upper(), f"Bedside {channel}", "VS"


def hl7_message(message: SimMessage) -> str | None:
    """The message as HL7 v2.5.1 ORU^R01 (segments joined by CR), or ``None``."""
    flats = list(flat_observations(message))
    if not flats:
        return None
    pid = message.events[0].patient_id
    collected = min(f.time_ms for f in flats)
    code, name, sect = _section(message.channel)
    segments = [
        "MSH|^~\\&|EWS-SIM|SIMHOSP|EWS|SIMHOSP|"
        f"{_hl7_ts(message.composed_ms)}||ORU^R01^ORU_R01|{message.msg_id}|P|2.5.1",
        f"PID|1||{pid}^^^SIMHOSP^MR||SIMULATED^{pid}",
        f"OBR|1||{message.msg_id}|{code}^{name}^L|||{_hl7_ts(collected)}|||||||||||||||"
        f"{_hl7_ts(message.composed_ms)}|||{sect}|F",
    ]
    for i, f in enumerate(flats, start=1):
        system = "LN" if f.coding.system == "http://loinc.org" else "L"
        status = "W" if f.status == "retracted" else _HL7_STATUS[f.status]
        if f.value is None:
            vtype, value = "NM", ""
        elif f.comparator:
            vtype, value = "SN", f"{f.comparator}^{_num(f.value)}"
        else:
            vtype, value = "NM", _num(f.value)
        segments.append(
            f"OBX|{i}|{vtype}|{f.coding.code}^{f.coding.display}^{system}||{value}|{f.unit}|"
            f"{_hl7_range(f.ref_low, f.ref_high)}|{_flag(f)}|||{status}|||{_hl7_ts(f.time_ms)}"
        )
    return "\r".join(segments)


def write_hl7(messages: Iterable[SimMessage], path: Path) -> int:
    """Write ORU^R01 messages, one per line (segments separated by CR)."""
    n = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        for m in messages:
            text = hl7_message(m)
            if text is None:
                continue
            fh.write(text)
            fh.write("\n")
            n += 1
    return n


def read_hl7(path: Path) -> list[str]:
    """Split a file written by :func:`write_hl7` back into messages."""
    # Not read_text(): universal newlines would turn the CR segment separators into LF.
    return [line for line in path.read_bytes().decode("utf-8").split("\n") if line]
