"""Saving a timeline: the window events as JSONL and a PNG plot of probabilities over time."""

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ser.records import RecordWriter
from streaming.events import WindowEvent
from tui.palette import colour


def save_timeline(events: list[WindowEvent], directory: Path) -> tuple[Path, Path]:
    """Write `ser-timeline-<time>.jsonl` and `.png` into `directory`; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / time.strftime("ser-timeline-%Y%m%d-%H%M%S")
    jsonl, png = stem.with_suffix(".jsonl"), stem.with_suffix(".png")
    with RecordWriter(str(jsonl), "jsonl") as writer:
        for event in events:
            writer.write(event.record())
    plot_timeline(events, png)
    return jsonl, png


def plot_timeline(events: list[WindowEvent], path: Path) -> Path:
    """Class probabilities per window (lines) above a band of the smoothed label."""
    fig, (ax, band) = plt.subplots(
        2, 1, figsize=(10, 4), dpi=110, sharex=True, gridspec_kw={"height_ratios": [4, 1]}
    )
    ends = [e.end for e in events]
    labels = list(events[0].probs) if events else []
    for name in labels:
        ax.plot(ends, [e.probs[name] for e in events], color=colour(name), label=name, lw=1.2)
    ax.set_ylabel("probability")
    ax.set_ylim(0, 1)
    if labels:
        ax.legend(ncol=len(labels), fontsize=7, loc="upper center")
    for e in events:
        band.axvspan(e.span_start, e.end, color=colour(e.smoothed), lw=0)
    band.set_yticks([])
    band.set_xlabel("stream time (s)")
    band.set_ylabel("smoothed", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
