"""PNG plots of a report: throughput bars with ratios, and the latency CDF."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: no display on a CI machine
import matplotlib.pyplot as plt
import numpy as np

if TYPE_CHECKING:
    from load_tests.report import Section

_ORDER = (("raw", "raw aiokafka"), ("faust-empty", "empty Faust"), ("faust-table", "naive table"))


def throughput_bars(sections: Mapping[str, Section], path: Path) -> None:
    """Messages/s of the worker and each baseline per workload (log scale), ratios on top."""
    fig, axes = plt.subplots(1, len(sections), figsize=(5.5 * len(sections), 4.2), squeeze=False)
    for ax, (label, s) in zip(axes[0], sections.items(), strict=True):
        names = [name for _, name in _ORDER] + ["pipeline"]
        rates = [s.baselines[m].rate for m, _ in _ORDER] + [s.worker.rate]
        colors = ["#9e9e9e", "#6a9fd8", "#8fbf7f", "#d9534f"]
        bars = ax.bar(names, rates, color=colors)
        ax.set_yscale("log")
        ax.set_ylabel("messages/s (log)")
        ax.set_title(f"{label}: pipeline {s.worker.obs_rate:,.0f} obs/s")
        for bar, (mode, _) in zip(bars, _ORDER, strict=False):
            ratio = s.ratio(mode)
            ax.annotate(
                f"{bar.get_height():,.0f}\npipeline = {ratio:.2g}x",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.annotate(
            f"{s.worker.rate:,.0f}",
            (bars[-1].get_x() + bars[-1].get_width() / 2, bars[-1].get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylim(top=max(rates) * 8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def latency_cdf(latencies_ms: Sequence[float], path: Path, *, title: str = "") -> None:
    """Empirical CDF of event-to-output latency with p50/p95/p99 marked."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    if latencies_ms:
        data = np.sort(np.asarray(latencies_ms, dtype=np.float64))
        ax.plot(data, np.arange(1, len(data) + 1) / len(data))
        for q in (50, 95, 99):
            v = float(np.percentile(data, q))
            ax.axvline(v, linestyle=":", color="grey")
            ax.annotate(f"p{q} {v:,.0f} ms", (v, q / 100), fontsize=8)
        ax.set_xscale("log")
    ax.axvline(250, color="#d9534f", linewidth=1)
    ax.set_xlabel("event time -> output read (ms, log)")
    ax.set_ylabel("share of messages")
    ax.set_title(f"Latency CDF {title}".strip())
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
