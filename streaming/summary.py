"""Run summary: share of time per smoothed emotion, window count, drops and latency."""

import time
from typing import Any

import numpy as np

from streaming.events import WindowEvent

SILENCE = "silence"


class SummaryBuilder:
    """Accumulates window events; `summary()` can be called at any point (e.g. on Ctrl-C)."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.windows = 0
        self.seconds = dict.fromkeys((*labels, SILENCE), 0.0)
        self.latencies: list[float] = []
        self.audio_seconds = 0.0
        self.started = time.monotonic()

    def add(self, event: WindowEvent) -> None:
        """Count one window; its new span goes to its smoothed label (or silence)."""
        self.windows += 1
        self.seconds[event.smoothed or SILENCE] += max(0.0, event.end - event.span_start)
        self.latencies.append(event.latency_ms)
        self.audio_seconds = max(self.audio_seconds, event.end)

    def summary(self, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """The summary record (type 'summary')."""
        stats = stats or {}
        total = sum(self.seconds.values()) or 1.0
        wall = time.monotonic() - self.started
        audio = max(self.audio_seconds, stats.get("audio_seconds", 0.0))
        lat = np.asarray(self.latencies)
        return {
            "type": "summary",
            "audio_seconds": round(audio, 3),
            "wall_seconds": round(wall, 3),
            "realtime_factor": round(audio / wall, 2) if wall > 0 else None,
            "windows": self.windows,
            "share": {k: round(v / total, 4) for k, v in self.seconds.items()},
            "dropped_blocks": stats.get("dropped_blocks", 0),
            "dropped_seconds": round(stats.get("dropped_seconds", 0.0), 3),
            "input_overflows": stats.get("input_overflows", 0),
            "latency_ms": {  # null when no window was computed
                "mean": round(float(lat.mean()), 1) if lat.size else None,
                "p50": round(float(np.percentile(lat, 50)), 1) if lat.size else None,
                "p95": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
            },
        }


def format_summary(summary: dict[str, Any]) -> str:
    """A few human-readable lines for stderr or the TUI."""
    shares = ", ".join(
        f"{k} {v:.0%}" for k, v in sorted(summary["share"].items(), key=lambda kv: -kv[1]) if v > 0
    )
    lat = summary["latency_ms"]
    return (
        f"{summary['audio_seconds']:.1f} s of audio in {summary['wall_seconds']:.1f} s "
        f"({summary['realtime_factor']}x real time), {summary['windows']} windows, "
        f"{summary['dropped_blocks']} dropped blocks, {summary['input_overflows']} input "
        "overflows\n"
        f"time share: {shares or 'none'}\n"
        f"window latency: mean {_ms(lat['mean'])}, p95 {_ms(lat['p95'])}"
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value} ms"
