"""Offline replay hook: score a PhysioNet PSV stay row by row with the deployed models.

``ews replay --format physionet DIR --out FILE`` calls :func:`score_physionet_stay` per
file. Pure: text in, rows out; the snapshots are built exactly as for training
(``models.physionet_data.stay_snapshots``: one per PSV row, at the row's ICULOS hour), and
every deployed risk scores all rows of the stay in one batched call.
"""

from __future__ import annotations

import msgspec

from adapters.physionet import parse_psv_text
from models.physionet_data import stay_snapshots
from models.serving import ModelSet


class PhysionetRow(msgspec.Struct, frozen=True, kw_only=True):
    """The models' output for one PSV row."""

    stay_id: str
    row: int
    """Index of the PSV data row (0 = first row after the header)."""
    iculos: float | None
    probabilities: dict[str, float]
    """Risk -> model probability, for every deployed risk."""
    alerts: dict[str, bool]
    """Risk -> probability >= the model's threshold."""


def score_physionet_stay(stay_id: str, text: str, models: ModelSet) -> list[PhysionetRow]:
    """One :class:`PhysionetRow` per PSV data row of ``text`` (raises ``PsvFormatError``)."""
    stay = parse_psv_text(text, stay_id)
    snaps = stay_snapshots(stay)
    iculos = stay.column("ICULOS")
    probs: dict[str, list[float]] = {}
    thresholds: dict[str, float] = {}
    for risk in models.risks:
        model = models.model(risk)  # one read: rows, probabilities and threshold agree
        probs[risk] = model.predict(model.spec.matrix(snaps)).tolist() if snaps else []
        thresholds[risk] = model.manifest.threshold
    return [
        PhysionetRow(
            stay_id=stay_id,
            row=i,
            iculos=iculos[i],
            probabilities={r: p[i] for r, p in probs.items()},
            alerts={r: p[i] >= thresholds[r] for r, p in probs.items()},
        )
        for i in range(len(snaps))
    ]
