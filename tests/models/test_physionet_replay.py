"""The offline replay hook: one output row per PSV row, same features as training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adapters.physionet import parse_psv_text
from models.physionet_data import stay_rows, stay_snapshots
from models.physionet_replay import score_physionet_stay
from models.serving import ModelSet
from tests.models.helpers import write_tiny_model

HEADER = "HR|O2Sat|Temp|SBP|MAP|DBP|Resp|WBC|Age|Gender|ICULOS|SepsisLabel"
PSV = "\n".join(
    [
        HEADER,
        "88|97|37.1|121|85|66|16|NaN|61|1|1|0",
        "NaN|NaN|NaN|NaN|NaN|NaN|NaN|NaN|61|1|2|0",
        "104|95|38.4|104|75|58|23|14.1|61|1|3|0",
        "118|94|38.9|92|66|50|27|NaN|61|1|4|1",
    ]
)


def test_one_row_per_psv_row(tmp_path: Path) -> None:
    write_tiny_model(tmp_path)
    models = ModelSet.load(tmp_path)
    out = score_physionet_stay("p000001", PSV, models)
    assert [r.row for r in out] == [0, 1, 2, 3]
    assert [r.iculos for r in out] == [1.0, 2.0, 3.0, 4.0]
    assert all(set(r.probabilities) == {"infection"} for r in out)
    threshold = models.manifest("infection").threshold
    assert all(r.alerts["infection"] == (r.probabilities["infection"] >= threshold) for r in out)
    # the same rows as training builds them
    snaps = stay_snapshots(parse_psv_text(PSV, "p000001"))
    expected = models.predict("infection", models.rows("infection", snaps))
    np.testing.assert_allclose([r.probabilities["infection"] for r in out], expected)


def test_training_rows_see_no_later_hour() -> None:
    rows = stay_rows(("p000001", PSV))
    names = list(rows.features.shape)
    assert names == [4, rows.features.shape[1]]
    snaps = stay_snapshots(parse_psv_text(PSV, "p000001"))
    assert snaps[0].get("hr_last") == 88.0
    assert snaps[0].get("temp_max_6h") == 37.1  # not the fever of hours 3-4
    assert snaps[1].get("hr_last") == 88.0  # a row of NaN keeps the last valid value
    assert rows.labels.tolist() == [0, 0, 0, 1]
    assert rows.iculos.tolist() == [1.0, 2.0, 3.0, 4.0]
