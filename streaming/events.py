"""Timeline events published by the worker, and their JSON records."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WindowEvent:
    """One analysed window: [start, end] in stream seconds, its class probabilities and flags."""

    index: int
    start: float
    end: float
    wall_time: float
    probs: dict[str, float] | None  # None for silence: the model does not run on it
    label: str | None  # None for silence: no emotion is claimed
    confidence: float | None  # None for silence
    speech: bool  # the speech gate: enough of the window is speech to claim an emotion
    speech_share: float  # share of the window's VAD chunks that are speech
    speaking: bool  # the newest hop holds speech ("speaking now")
    smoothed: str | None
    latency_ms: float
    level_db: float
    span_start: float  # start of the new audio this window adds (end - hop, or 0)
    gap: bool = False  # audio inside the window was lost (dropped blocks): it is spliced
    uncertain: bool = False  # a speech window whose calibrated confidence is below the model's
    # threshold: its label is shown as unsure and the smoothed label holds

    def record(self) -> dict[str, Any]:
        return {
            "type": "window",
            "index": self.index,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "wall_time": round(self.wall_time, 3),
            "label": self.label,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "uncertain": self.uncertain,
            "speech": self.speech,
            "speech_share": round(self.speech_share, 3),
            "speaking": self.speaking,
            "smoothed": self.smoothed,
            "latency_ms": round(self.latency_ms, 1),
            "level_db": round(self.level_db, 1),
            "gap": self.gap,
            "probs": None
            if self.probs is None
            else {k: round(v, 4) for k, v in self.probs.items()},
        }


@dataclass(frozen=True)
class ChangeEvent:
    """The smoothed label changed at stream time `time` (None means silence)."""

    time: float
    wall_time: float
    previous: str | None
    label: str | None

    def record(self) -> dict[str, Any]:
        return {
            "type": "change",
            "time": round(self.time, 3),
            "wall_time": round(self.wall_time, 3),
            "from": self.previous,
            "to": self.label,
        }


@dataclass(frozen=True)
class GapEvent:
    """Audio the device delivered was lost (the ring buffer was full) at stream time `start`."""

    start: float
    seconds: float
    wall_time: float

    def record(self) -> dict[str, Any]:
        return {
            "type": "gap",
            "start": round(self.start, 3),
            "seconds": round(self.seconds, 3),
            "wall_time": round(self.wall_time, 3),
        }


@dataclass(frozen=True)
class ErrorEvent:
    """The run cannot go on: the source or the worker failed."""

    message: str


@dataclass(frozen=True)
class EndEvent:
    """The worker finished; nothing follows."""

    stats: dict[str, Any] = field(default_factory=dict)


Event = WindowEvent | ChangeEvent | GapEvent | ErrorEvent | EndEvent
