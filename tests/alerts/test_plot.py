"""The alert picture renders a readable PNG for every risk from mixed history."""

from __future__ import annotations

import io

import matplotlib.image as mpimg
import msgspec
import pytest

from alerts.config import HOUR_MS
from alerts.plot import PANELS, render_alert_png
from contract.events import InfusionEvent, NeuroAssessment, Observation
from features.snapshot import Snapshot, Timeline
from scoring.risk import RISKS, Risk
from tests.alerts.alert_factory import incident
from tests.alerts.helpers import PATIENT, T0, assess


def history(risk: Risk) -> tuple[list[object], list[InfusionEvent]]:
    start = T0 - 30 * HOUR_MS
    inf = [
        InfusionEvent(
            patient_id=PATIENT,
            time_ms=start,
            source="json",
            source_msg_id="i1",
            action="start",
            cycle=1,
            dose_ug_per_day=9.0,
        ),
        InfusionEvent(
            patient_id=PATIENT,
            time_ms=T0 + 2 * HOUR_MS,
            source="json",
            source_msg_id="i2",
            action="interruption",
            cycle=1,
        ),
        InfusionEvent(
            patient_id=PATIENT,
            time_ms=T0 + 8 * HOUR_MS,
            source="json",
            source_msg_id="i3",
            action="restart",
            cycle=1,
            dose_ug_per_day=9.0,
        ),
    ]
    items: list[object] = []
    for h in range(-30, 12):
        t = T0 + h * HOUR_MS
        fever = 36.8 + (2.2 if h > -6 else 0.0)
        for signal, value, unit in [
            ("temp", fever, "Cel"),
            ("hr", 80 + max(h, 0) * 3, "/min"),
            ("sbp", 118 - max(h + 6, 0) * 3, "mm[Hg]"),
            ("map", 80 - max(h + 6, 0) * 2, "mm[Hg]"),
            ("spo2", 97 - max(h, 0) * 0.5, "%"),
        ]:
            items.append(
                Observation(
                    patient_id=PATIENT,
                    time_ms=t,
                    source="json",
                    source_msg_id=f"m{h}{signal}",
                    signal=signal,
                    value=value,
                    unit=unit,
                    obs_id=f"o{h}{signal}",
                )
            )
        if h % 8 == 0:
            items.append(
                NeuroAssessment(
                    patient_id=PATIENT,
                    time_ms=t,
                    source="json",
                    source_msg_id=f"n{h}",
                    ice_score=max(10 - max(h, 0), 3),
                )
            )
            items.append(
                Snapshot(
                    patient_id=PATIENT,
                    time_ms=t,
                    timeline=Timeline(),
                    values={
                        "crp_last": 20.0 + 5 * (h + 30),
                        "ferritin_last": 900.0,
                        "alt_x_uln": 1.5,
                        "anc_last": 0.4,
                        "platelets_last": 40.0,
                        "fibrinogen_last": None,
                    },
                )
            )
        items.append(
            assess(
                h * 60,
                2 if h >= 0 else (1 if h > -6 else 0),
                risk=risk,
                probability=0.2 + 0.01 * (h + 30),
                threshold=0.5,
            )
        )
    return items, inf


@pytest.mark.parametrize("risk", RISKS)
def test_renders_png_for_every_risk(risk: Risk) -> None:
    alert = msgspec.structs.replace(incident()[1], risk=risk)
    items, inf = history(risk)
    png = render_alert_png(alert, items, inf, trigger_grade=2)  # type: ignore[arg-type]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(png), format="png")
    rows = len(PANELS[risk]) + 1
    assert img.shape[1] == 1100 and img.shape[0] == int((1.6 * rows + 1.6) * 100)
    assert img.std() > 0.05  # something was drawn, not a blank page
    assert PATIENT.encode() not in png


def test_picture_depends_on_the_data() -> None:
    alert = incident()[1]
    items, inf = history("crs")
    full = render_alert_png(alert, items, inf)  # type: ignore[arg-type]
    empty = render_alert_png(alert, [], [])
    assert full != empty
    img_full = mpimg.imread(io.BytesIO(full), format="png")
    img_empty = mpimg.imread(io.BytesIO(empty), format="png")
    assert (img_full < 0.9).mean() > (img_empty < 0.9).mean()  # more ink with data
