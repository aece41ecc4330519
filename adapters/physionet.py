"""PhysioNet / CinC 2019 challenge PSV files -> canonical events, for replaying real stays.

One pipe-separated file per ICU stay, a header row, one row per ICU hour, ``NaN`` for
missing (``/work/shared/data/physionet2019/README.md``). Units follow the challenge's
documentation (Reyna et al., Crit Care Med 2020;48:210): temperature Celsius, creatinine and
bilirubin mg/dL, WBC and platelets 10^3/uL, FiO2 a fraction 0-1 (converted to %), O2Sat %,
lactate mmol/L (the values, median 1.9, are mmol/L although the challenge lists mg/dL).

Event time is ``epoch_ms`` + ICULOS hours: the challenge gives no calendar dates, so stays
are laid on a fixed, documented epoch (:data:`PHYSIONET_EPOCH_MS`, 2019-01-01T00:00Z).
Every cell that cannot become an observation (implausible value, row without ICULOS) is a
:class:`~adapters.result.Reject` with its row index, never dropped silently.
"""

from __future__ import annotations

import math
import tarfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from adapters.items import ItemContext, check_time
from adapters.limits import Limits
from adapters.result import ItemError, Reject
from contract.codemap import CodeMap, SignalSpec, default_codemap
from contract.events import Event, Observation, PatientContext, Sex, Source
from contract.reasons import Reason
from contract.units import converter

PHYSIONET_EPOCH_MS = 1_546_300_800_000
"""2019-01-01T00:00:00Z: ICULOS hour h of every stay is at this instant + h hours."""
SOURCE: Source = "physionet"
_HOUR_MS = 3_600_000
_MAX_ICULOS_H = 24 * 365 * 5
"""Longest ICU stay taken (hours); beyond it an ICULOS is a data error, not a stay."""

# PSV column -> (signal, unit as published). Columns not listed (Age, Gender, Unit1, Unit2,
# HospAdmTime, ICULOS, SepsisLabel) are context, time or labels, not observations. Age and
# Gender become the PatientContext, and so does HospAdmTime (hours from hospital to ICU
# admission, <= 0) as its hospital_admission_ms (contract 1.1); ICULOS the event time.
# Unit1/Unit2 (MICU/SICU) have no canonical form and are not mapped (docs/models.md).
COLUMNS: dict[str, tuple[str, str]] = {
    "HR": ("hr", "/min"),
    "O2Sat": ("spo2", "%"),
    "SaO2": ("sao2", "%"),
    "Temp": ("temp", "Cel"),
    "SBP": ("sbp", "mm[Hg]"),
    "MAP": ("map", "mm[Hg]"),
    "DBP": ("dbp", "mm[Hg]"),
    "Resp": ("rr", "/min"),
    "EtCO2": ("etco2", "mm[Hg]"),
    "BaseExcess": ("base_excess", "mmol/L"),
    "HCO3": ("hco3", "mmol/L"),
    "FiO2": ("fio2", "1"),
    "pH": ("ph", "[pH]"),
    "PaCO2": ("paco2", "mm[Hg]"),
    "AST": ("ast", "U/L"),
    "BUN": ("bun", "mg/dL"),
    "Alkalinephos": ("alk_phos", "U/L"),
    "Calcium": ("calcium", "mg/dL"),
    "Chloride": ("chloride", "mmol/L"),
    "Creatinine": ("creatinine", "mg/dL"),
    "Bilirubin_direct": ("bilirubin_direct", "mg/dL"),
    "Glucose": ("glucose", "mg/dL"),
    "Lactate": ("lactate", "mmol/L"),
    "Magnesium": ("magnesium", "mg/dL"),
    "Phosphate": ("phosphate", "mg/dL"),
    "Potassium": ("potassium", "mmol/L"),
    "Bilirubin_total": ("bilirubin", "mg/dL"),
    "TroponinI": ("troponin_i", "ng/mL"),
    "Hct": ("hct", "%"),
    "Hgb": ("hgb", "g/dL"),
    "PTT": ("ptt", "s"),
    "WBC": ("wbc", "10*3/uL"),
    "Fibrinogen": ("fibrinogen", "mg/dL"),
    "Platelets": ("platelets", "10*3/uL"),
}
_SEX: dict[float, Sex] = {0.0: "female", 1.0: "male"}

Cell = float | None
Row = tuple[Cell, ...]


class PsvFormatError(ValueError):
    """A PSV file that is not a PSV table (no header, ragged rows, text in a number cell)."""


class PsvRows(list[Row]):
    """The rows of one stay (``None`` for ``NaN``), carrying their header in :attr:`columns`."""

    def __init__(self, columns: tuple[str, ...], rows: list[Row] | None = None) -> None:
        super().__init__(rows or [])
        self.columns = columns


@dataclass(frozen=True, slots=True)
class PsvStay:
    """One ICU stay: its id (file stem), the header and the rows."""

    stay_id: str
    columns: tuple[str, ...]
    rows: PsvRows

    def column(self, name: str) -> list[Cell]:
        """All values of one column (``KeyError`` for an unknown column)."""
        try:
            position = self.columns.index(name)
        except ValueError:
            raise KeyError(name) from None
        return [row[position] for row in self.rows]


def _cell(text: str) -> Cell:
    if text == "NaN":
        return None
    number = float(text)
    return None if math.isnan(number) else number


def parse_psv_text(text: str, stay_id: str) -> PsvStay:
    """Parse the text of one PSV file. Raises :class:`PsvFormatError`."""
    lines = text.splitlines()
    if not lines or "|" not in lines[0]:
        raise PsvFormatError(f"{stay_id}: no header row")
    columns = tuple(lines[0].strip().split("|"))
    if "ICULOS" not in columns:
        raise PsvFormatError(f"{stay_id}: no ICULOS column")
    width = len(columns)
    rows = PsvRows(columns)
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.strip().split("|")
        if len(cells) != width:
            raise PsvFormatError(f"{stay_id} line {number}: {len(cells)} cells, {width} columns")
        try:
            rows.append(tuple([_cell(c) for c in cells]))
        except ValueError:
            raise PsvFormatError(f"{stay_id} line {number}: a cell is not a number") from None
    return PsvStay(stay_id, columns, rows)


def read_psv(path_or_text: str | Path, *, stay_id: str | None = None) -> PsvStay:
    """Read one stay from a ``.psv`` path or from PSV text (text contains ``|``).

    The stay id defaults to the file stem (``p100002``), or ``"stay"`` for text.
    """
    if isinstance(path_or_text, Path) or "|" not in path_or_text:
        path = Path(path_or_text)
        return parse_psv_text(path.read_text(encoding="utf-8"), stay_id or path.stem)
    return parse_psv_text(path_or_text, stay_id or "stay")


def iter_tar_stays(path: str | Path, limit: int | None = None) -> Iterator[tuple[str, str]]:
    """``(stay id, PSV text)`` read straight out of a ``.tar.gz``, in archive order.

    Nothing is extracted to disk; ``limit`` stops after that many stays. Parse each with
    :func:`parse_psv_text` (or use :func:`iter_tar_psv`).
    """
    count = 0
    with tarfile.open(path, mode="r:gz") as archive:
        for member in archive:
            if limit is not None and count >= limit:
                return
            if not member.isfile() or not member.name.endswith(".psv"):
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            yield PurePosixPath(member.name).stem, handle.read().decode("utf-8")
            count += 1


def iter_tar_psv(path: str | Path, limit: int | None = None) -> Iterator[PsvStay]:
    """Parsed stays straight out of a ``.tar.gz`` of PSV files (see :func:`iter_tar_stays`)."""
    for stay_id, text in iter_tar_stays(path, limit):
        yield parse_psv_text(text, stay_id)


class PsvEvents(list[tuple[int, list[Event]]]):
    """``[(row index, events of that row), ...]`` plus :attr:`rejects` (cells not accepted)."""

    def __init__(self) -> None:
        super().__init__()
        self.rejects: list[Reject] = []


@dataclass(frozen=True, slots=True)
class _Column:
    position: int
    name: str
    spec: SignalSpec
    code: str
    convert: Callable[[float], float]


PsvInput = PsvStay | PsvRows | Sequence[Mapping[str, Cell]]


def _as_stay(stay_id: str, rows: PsvInput) -> PsvStay:
    if isinstance(rows, PsvStay):
        return rows
    if isinstance(rows, PsvRows):
        return PsvStay(stay_id, rows.columns, rows)
    names: list[str] = []
    for row in rows:
        names.extend(name for name in row if name not in names)
    columns = tuple(names)
    table = PsvRows(columns, [tuple(row.get(name) for name in columns) for row in rows])
    return PsvStay(stay_id, columns, table)


def _columns(stay: PsvStay, codemap: CodeMap) -> list[_Column]:
    mapped = []
    for position, name in enumerate(stay.columns):
        if name in COLUMNS:
            signal, unit = COLUMNS[name]
            spec = codemap.signal(signal)
            code = f"urn:physionet:challenge-2019|{name}"
            mapped.append(_Column(position, name, spec, code, converter(signal, spec.unit, unit)))
    return mapped


def psv_events(
    stay_id: str,
    rows: PsvInput,
    *,
    epoch_ms: int = PHYSIONET_EPOCH_MS,
    codemap: CodeMap | None = None,
) -> PsvEvents:
    """For each input row (by index) its events; rejected cells are in ``.rejects``.

    ``rows`` is a :class:`PsvStay`, its ``rows`` (which carry the header), or mappings from
    column name to value.

    One :class:`Observation` per non-missing mapped cell (``obs_id``
    ``<stay>:<ICULOS>:<column>``, ``source_msg_id`` ``<stay>:<row index>``) and, on row 0,
    a :class:`PatientContext` from Age, Gender (0 female, 1 male) and HospAdmTime (its
    ``hospital_admission_ms``: the epoch + HospAdmTime hours, like ICULOS).
    """
    stay = _as_stay(stay_id, rows)
    ctx = ItemContext(codemap or default_codemap(), Limits(), received_ms=None)
    columns = _columns(stay, ctx.codemap)
    at: dict[str, int] = {
        name: stay.columns.index(name)
        for name in ("ICULOS", "Age", "Gender", "HospAdmTime")
        if name in stay.columns
    }
    result = PsvEvents()
    for index, row in enumerate(stay.rows):
        msg_id = f"{stay_id}:{index}"
        hours = row[at["ICULOS"]] if "ICULOS" in at else None
        events: list[Event] = []
        try:
            if hours is None:
                raise ItemError(Reason.BAD_TIME, "row has no ICULOS")
            if not math.isfinite(hours) or not 0 <= hours <= _MAX_ICULOS_H:
                raise ItemError(Reason.BAD_TIME, f"ICULOS {hours:g} outside 0-{_MAX_ICULOS_H} h")
            time_ms = check_time(ctx, epoch_ms + round(hours * _HOUR_MS))
        except ItemError as exc:
            present = sum(1 for column in columns if row[column.position] is not None)
            result.rejects.append(Reject(exc.reason, f"{exc.detail} ({present} values)", index))
            result.append((index, events))
            continue
        if index == 0:
            events.append(_context(stay_id, row, at, time_ms, msg_id, result.rejects, epoch_ms))
        hour_text = f"{hours:g}"
        for column in columns:
            raw = row[column.position]
            if raw is None:
                continue
            value = column.convert(raw)
            spec = column.spec
            if not spec.plausible_min <= value <= spec.plausible_max:
                result.rejects.append(
                    Reject(
                        Reason.IMPLAUSIBLE,
                        f"{column.name} {raw:g} -> {spec.signal} {value:g} {spec.unit} outside "
                        f"[{spec.plausible_min:g}, {spec.plausible_max:g}]",
                        index,
                    )
                )
                continue
            events.append(
                Observation(
                    patient_id=stay_id,
                    time_ms=time_ms,
                    source=SOURCE,
                    source_msg_id=msg_id,
                    signal=spec.signal,
                    value=value,
                    unit=spec.unit,
                    obs_id=f"{stay_id}:{hour_text}:{column.name}",
                    code=column.code,
                )
            )
        result.append((index, events))
    return result


def _context(
    stay_id: str,
    row: Row,
    at: dict[str, int],
    time_ms: int,
    msg_id: str,
    rejects: list[Reject],
    epoch_ms: int,
) -> PatientContext:
    age = row[at["Age"]] if "Age" in at else None
    if age is not None and not 0 <= age <= 120:
        rejects.append(Reject(Reason.IMPLAUSIBLE, f"Age {age:g} outside [0, 120]", 0))
        age = None
    gender = row[at["Gender"]] if "Gender" in at else None
    admitted = row[at["HospAdmTime"]] if "HospAdmTime" in at else None
    admitted_ms = None
    if admitted is not None:
        # Hours relative to the ICU admission (ICULOS 0): before it, and at most 5 years.
        if math.isfinite(admitted) and -_MAX_ICULOS_H <= admitted <= 0:
            admitted_ms = epoch_ms + round(admitted * _HOUR_MS)
        else:
            rejects.append(
                Reject(
                    Reason.IMPLAUSIBLE,
                    f"HospAdmTime {admitted:g} outside [-{_MAX_ICULOS_H}, 0] h",
                    0,
                )
            )
    return PatientContext(
        patient_id=stay_id,
        time_ms=time_ms,
        source=SOURCE,
        source_msg_id=msg_id,
        age_years=age,
        sex=_SEX.get(gender, "unknown") if gender is not None else "unknown",
        hospital_admission_ms=admitted_ms,
    )
