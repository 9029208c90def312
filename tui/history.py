"""What the live screen keeps: a bounded window history (the full record goes to --output) and
the latest changes of the smoothed label. Memory and per-frame work stay constant."""

from bisect import bisect_left, bisect_right
from collections import deque
from dataclasses import dataclass

from streaming.events import ChangeEvent, WindowEvent

KEEP_SECONDS = 2 * 3600.0  # how far back the screen can scroll
KEEP_CHANGES = 200


@dataclass(frozen=True)
class WindowMark:
    """One window as the lanes draw it: its new span, class probabilities, flags."""

    span_start: float
    end: float
    probs: tuple[float, ...] | None  # None: a silent window the model did not run on
    speech: bool
    smoothed: str | None
    uncertain: bool = False  # a speech window below the model's confidence threshold


class WindowHistory:
    """Window marks ordered by end time, trimmed to the last KEEP_SECONDS of the stream."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self.keep_seconds = keep_seconds
        self.marks: list[WindowMark] = []
        self.ends: list[float] = []
        self.changes: deque[ChangeEvent] = deque(maxlen=KEEP_CHANGES)

    def add(self, event: WindowEvent) -> None:
        """Keep a window; drop the oldest ones in chunks once past the horizon."""
        self.marks.append(
            WindowMark(
                event.span_start,
                event.end,
                None if event.probs is None else tuple(event.probs.values()),
                event.speech,
                event.smoothed,
                event.uncertain,
            )
        )
        self.ends.append(event.end)
        old = bisect_left(self.ends, event.end - self.keep_seconds)
        if old > 256:  # amortised: one slice per 256 windows
            del self.marks[:old], self.ends[:old]

    def add_change(self, event: ChangeEvent) -> None:
        self.changes.appendleft(event)

    @property
    def first(self) -> float:
        return self.marks[0].span_start if self.marks else 0.0

    @property
    def last(self) -> float:
        return self.ends[-1] if self.ends else 0.0

    def between(self, start: float, end: float) -> list[WindowMark]:
        """Marks whose new span overlaps [start, end): found by bisection, not a scan."""
        lo = bisect_right(self.ends, start)
        hi = bisect_left(self.ends, end)
        return self.marks[lo : min(len(self.marks), hi + 1)]
