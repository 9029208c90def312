"""Run summary: share of time per smoothed emotion, window count, drops and latency, in
constant memory however long the run."""

import time
from typing import Any

import numpy as np

from streaming.events import WindowEvent

SILENCE = "silence"
LATENCY_STEP_MS = 0.1  # latency histogram resolution
LATENCY_MAX_MS = 10000.0  # slower windows share the last bin


class SummaryBuilder:
    """Accumulates window events; `summary()` can be called at any point (e.g. on Ctrl-C)."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.windows = 0
        self.seconds = dict.fromkeys((*labels, SILENCE), 0.0)
        self._latency_bins = np.zeros(round(LATENCY_MAX_MS / LATENCY_STEP_MS) + 1, np.int64)
        self._latency_sum = 0.0
        self.audio_seconds = 0.0
        self.started = time.monotonic()

    def add(self, event: WindowEvent) -> None:
        """Count one window; its new span goes to its smoothed label (or silence)."""
        self.windows += 1
        self.seconds[event.smoothed or SILENCE] += max(0.0, event.end - event.span_start)
        index = min(round(event.latency_ms / LATENCY_STEP_MS), self._latency_bins.size - 1)
        self._latency_bins[index] += 1
        self._latency_sum += event.latency_ms
        self.audio_seconds = max(self.audio_seconds, event.end)

    def latency(self, percentile: float) -> float | None:
        """The latency percentile in ms (0.1 ms resolution), None before any window."""
        if not self.windows:
            return None
        rank = np.searchsorted(np.cumsum(self._latency_bins), percentile / 100 * self.windows)
        return round(float(rank) * LATENCY_STEP_MS, 1)

    def summary(self, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        """The summary record (type 'summary'); latencies are null when no window was run."""
        stats = stats or {}
        total = sum(self.seconds.values()) or 1.0
        wall = time.monotonic() - self.started
        audio = max(self.audio_seconds, stats.get("audio_seconds", 0.0))
        mean = round(self._latency_sum / self.windows, 1) if self.windows else None
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
            "latency_ms": {"mean": mean, "p50": self.latency(50), "p95": self.latency(95)},
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
