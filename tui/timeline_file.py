"""Saving the screen's timeline: its windows as JSONL and a PNG of the same emotion lanes."""

import os
import time
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ser.output_target import OutputTarget
from ser.records import RecordWriter
from streaming.summary import SILENCE
from tui.history import WindowHistory
from tui.palette import SILENCE_COLOUR, blend, colour


def timeline_folder() -> Path:
    """Where `s` saves without a file --output: $XDG_DATA_HOME/ser/timelines (by default
    ~/.local/share/ser/timelines)."""
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "ser" / "timelines"


def save_timeline(
    history: WindowHistory, labels: tuple[str, ...], directory: Path
) -> tuple[Path, Path]:
    """Write `ser-timeline-<time>.jsonl` and `.png` into `directory` (created if needed);
    returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory.absolute() / time.strftime("ser-timeline-%Y%m%d-%H%M%S")
    jsonl, png = stem.with_suffix(".jsonl"), stem.with_suffix(".png")
    with RecordWriter(str(jsonl), "jsonl") as writer:
        for mark in history.marks:
            writer.write(
                {
                    "type": "window",
                    "span_start": round(mark.span_start, 3),
                    "end": round(mark.end, 3),
                    "speech": mark.speech,
                    "smoothed": mark.smoothed,
                    "probs": None
                    if mark.probs is None
                    else {n: round(p, 4) for n, p in zip(labels, mark.probs, strict=True)},
                }
            )
    image = OutputTarget(png, "timeline image")
    plot_lanes(history, labels, image.write_path)
    image.commit(keep=True)
    return jsonl, png


def _rgb(hex_colour: str) -> list[float]:
    return [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]


def plot_lanes(history: WindowHistory, labels: tuple[str, ...], path: Path) -> Path:
    """The smoothed label as a band above one lane per class and silence (colour intensity =
    probability), as the terminal draws them."""
    marks = history.marks
    rows = [[_rgb(colour(m.smoothed)) for m in marks]]
    for i, name in enumerate(labels):
        rows.append([_rgb(blend(SILENCE_COLOUR, colour(name), m.probs[i] if m.speech else 0))
                     for m in marks])  # fmt: skip
    rows.append([_rgb(blend(SILENCE_COLOUR, "#9aa0a6", 0.0 if m.speech else 1.0)) for m in marks])
    fig, ax = plt.subplots(figsize=(12, 3.6), dpi=110)
    extent = (marks[0].span_start, marks[-1].end, len(rows), 0)
    ax.imshow(np.array(rows), aspect="auto", interpolation="nearest", extent=extent)
    ax.set_yticks(np.arange(len(rows)) + 0.5, ["smoothed", *labels, SILENCE])
    ax.set_xlabel("stream time (s)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
