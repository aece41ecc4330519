"""Evaluation report: Markdown and PNG plots from the stored evaluations (``models report``).

Infection (PhysioNet 2019, cross-validated): ROC and precision-recall curves beside the rule
scores, calibration, lead times, and the challenge utility against the threshold. CRS, ICANS
and HLH (synthetic, held-out cohort): ROC, precision-recall, calibration, lead times, and
sensitivity and alerts per patient-day against the threshold. Only aggregates are written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from models.baselines import RULE_BASELINES, RULE_SCORES
from models.complication import COMPLICATION_RISKS
from models.evalstore import Stored, load
from models.metrics import alert_metrics
from models.sepsis import DEFAULT_SHIFT_H, sepsis_target
from models.utility import normalized_utility, onset_offsets, utility_curve

Array = npt.NDArray[Any]


def _save(fig: Any, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def _roc_pr(out: Path, stem: str, y: Array, curves: dict[str, Array]) -> list[str]:
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    for name, s in curves.items():
        fpr, tpr, _ = roc_curve(y, s)
        a.plot(fpr, tpr, label=name)
        prec, rec, _ = precision_recall_curve(y, s)
        b.plot(rec, prec, label=name)
    a.plot([0, 1], [0, 1], "k:", lw=0.8)
    a.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC (rows)")
    b.axhline(float(np.mean(y)), color="k", ls=":", lw=0.8)
    b.set(xlabel="recall", ylabel="precision", title="Precision-recall (rows)")
    a.legend(fontsize=8)
    return [_save(fig, out / f"{stem}-roc-pr.png")]


def _calibration(out: Path, stem: str, y: Array, p: Array, title: str) -> str:
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
    ax.plot(mean, frac, "o-", label="model")
    top = float(max(mean.max(), frac.max()) * 1.05)
    ax.plot([0, top], [0, top], "k:", lw=0.8)
    ax.set(xlabel="predicted probability", ylabel="observed frequency", title=title)
    return _save(fig, out / f"{stem}-calibration.png")


def _lead_times(out: Path, stem: str, leads: Array, window: float) -> str:
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    low = float(np.floor(min(leads.min(initial=0.0), 0.0)))
    ax.hist(leads, bins=[float(b) for b in np.arange(low, window + 2, 1.0)])
    ax.set(xlabel="hours from first alert to onset", ylabel="events", title="Lead time")
    return _save(fig, out / f"{stem}-lead-time.png")


def _infection(out: Path, st: Stored) -> list[str]:
    a = st.arrays
    y, g, p = a["labels"], a["groups"], a["probabilities"]
    curves = {"model (CV)": p}
    curves.update({f"{n.upper()} points": a["rules"][:, i] for i, n in enumerate(RULE_SCORES)})
    folds = len(a["thresholds"])
    md = [f"## Infection / sepsis (PhysioNet 2019, {folds}-fold stay-level CV)", ""]
    md += [
        "| alerting | utility | AUROC | AUPRC | sensitivity | PPV | alerts/patient-day | "
        "median lead h | detected / septic stays |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    exact = {r["name"]: _exact_utility(a, r["name"]) for r in st.meta["points"]}
    for r in st.meta["points"]:
        md.append(
            f"| {r['name']} | {exact[r['name']]:.3f} | {_f(r['auroc'])} | {_f(r['auprc'])} | "
            f"{_f(r['sensitivity'])} | {_f(r['ppv'])} | {_f(r['alerts_per_patient_day'])} | "
            f"{_f(r['lead_time_median_h'])} | {r['detected']} / {r['events']} |"
        )
    thresholds = ", ".join(f"{t:.4f}" for t in a["thresholds"])
    md += ["", f"Per-fold thresholds (chosen on each fold's training stays): {thresholds}.", ""]
    figs = _roc_pr(out, "infection", y, curves)
    target = sepsis_target(y, g, DEFAULT_SHIFT_H)
    figs.append(_calibration(out, "infection", target, p, "Calibration (target: label - 6 h)"))
    rel = onset_offsets(y, g)
    septic = ~np.isnan(rel)
    m = alert_metrics(y, g, p, a["alerts"], rel, np.where(septic, g, -1), (-12.0, 3.0))
    figs.append(_lead_times(out, "infection", np.array(m.lead_times_h), 12.0))
    thr, util = utility_curve(y, g, p)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    keep = thr <= 0.3
    ax.plot(thr[keep], util[keep], label="model (CV scores)")
    for t in a["thresholds"]:
        ax.axvline(float(t), color="grey", lw=0.6, ls="--")
    for k, base in enumerate(RULE_BASELINES):
        u = _exact_utility(a, base.label)
        ax.axhline(u, lw=1.0, ls=":", label=f"{base.label} ({u:.3f})", color=f"C{k + 1}")
    ax.set(xlabel="threshold", ylabel="normalized utility", title="Utility vs threshold")
    ax.legend(fontsize=7)
    figs.append(_save(fig, out / "infection-utility.png"))
    return md + [f"![{f}]({f})" for f in figs] + [""]


def _exact_utility(a: dict[str, Array], name: str) -> float:
    """Utility recomputed from the stored rows (the JSON table keeps 4 rounded digits)."""
    y, g = a["labels"], a["groups"]
    for base in RULE_BASELINES:
        if base.label == name:
            points = a["rules"][:, RULE_SCORES.index(base.score)]
            return normalized_utility(y, g, points >= base.at_least)
    return normalized_utility(y, g, a["alerts"])


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def _complication(out: Path, risk: str, st: Stored) -> list[str]:
    a = st.arrays
    y, g, p = a["labels"], a["groups"], a["probabilities"]
    s = st.meta["summary"]
    md = [f"### {risk.upper()} (synthetic cohort, held-out patients)", ""]
    md.append(
        f"AUROC {_f(s['auroc'])}, AUPRC {_f(s['auprc'])}, sensitivity {_f(s['sensitivity'])} "
        f"({s['detected']}/{s['events']} episodes), PPV {_f(s['ppv'])}, "
        f"{_f(s['alerts_per_patient_day'])} alerts per patient-day, median lead "
        f"{_f(s['lead_time_median_h'])} h at threshold {st.meta['threshold']:.4f}."
    )
    md.append("")
    if y.min() == y.max():
        return [*md, "Only one class in the evaluation rows: no curves.", ""]
    figs = _roc_pr(out, risk, y, {"model": p})
    figs.append(_calibration(out, risk, y, p, f"{risk.upper()} calibration"))
    horizon = float(st.meta["horizon_h"])
    step = float(st.meta["step_h"])
    m = alert_metrics(y, g, p, a["alerts"], a["rel_h"], a["event_ids"], (-horizon, 0.0), step)
    if m.lead_times_h:
        figs.append(_lead_times(out, risk, np.array(m.lead_times_h), horizon))
    grid = np.quantile(p, np.linspace(0.5, 0.999, 40))
    sens, burden = [], []
    for t in grid:
        mt = alert_metrics(y, g, p, p >= t, a["rel_h"], a["event_ids"], (-horizon, 0.0), step)
        sens.append(mt.sensitivity or 0.0)
        burden.append(mt.alerts_per_patient_day)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.plot(grid, sens, label="sensitivity (episodes)")
    ax2 = ax.twinx()
    ax2.plot(grid, burden, color="C1", label="alerts per patient-day")
    ax.axvline(float(st.meta["threshold"]), color="grey", ls="--", lw=0.8)
    ax.set(xlabel="threshold", ylabel="sensitivity", title=f"{risk.upper()}: trade-off")
    ax2.set_ylabel("alerts per patient-day")
    figs.append(_save(fig, out / f"{risk}-tradeoff.png"))
    return md + [f"![{f}]({f})" for f in figs] + [""]


def write_report(out: Path, eval_dir: Path, artifacts: Path) -> Path:
    """Write ``report.md`` and its plots into ``out``; returns the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    md = ["# Model evaluation report", ""]
    manifests = sorted(artifacts.glob("*.manifest.json"))
    if manifests:
        md += [
            "| risk | model | version | inputs | threshold | synthetic |",
            "|---|---|---|---|---|---|",
        ]
        for path in manifests:
            m = json.loads(path.read_text())
            md.append(
                f"| {m['risk']} | {m['model_id']} | {m['version']} | {len(m['features'])} | "
                f"{m['threshold']:.4f} | {m['synthetic']} |"
            )
        md.append("")
    st = load(eval_dir, "infection")
    md += _infection(out, st) if st else ["Infection: no stored evaluation (run train).", ""]
    md += ["## Complication models (synthetic: not validated on patients)", ""]
    for risk in COMPLICATION_RISKS:
        stored = load(eval_dir, risk)
        md += _complication(out, risk, stored) if stored else [f"{risk}: no stored evaluation.", ""]
    path = out / "report.md"
    path.write_text("\n".join(md) + "\n", encoding="utf-8")
    return path
