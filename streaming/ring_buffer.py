"""Single-producer single-consumer audio ring buffer; the writer never blocks or allocates."""

import threading
import time
from collections.abc import Callable

import numpy as np


class RingBuffer:
    """Fixed-capacity float32 (frames, channels) ring addressed by absolute frame indices.

    The writer (an audio callback) copies into free space only; a block that does not fit is
    dropped whole and counted, so the reader's unreleased frames are never overwritten. Each
    drop is kept in `gaps` as (ring index where the audio was cut, frames lost), so the reader
    can keep a stream clock that counts every frame the device delivered. Cuts more than one
    ring length behind the released index are folded into a running total (a long session's
    list stays bounded), so gap queries hold for indices from `released - capacity` on.
    """

    def __init__(self, capacity: int, channels: int) -> None:
        self.capacity = capacity
        self.channels = channels
        self._data = np.zeros((capacity, channels), dtype=np.float32)
        self._written = 0
        self._released = 0
        # (frames written, when the last of them arrived), replaced as one tuple so that a
        # reader never pairs a new count with an old time (or the reverse).
        self._progress = (0, time.monotonic())
        self.dropped_blocks = 0
        self.dropped_frames = 0
        # (frames lost at folded cuts, the recent cuts), replaced by the writer as one tuple.
        self._gaps: tuple[int, tuple[tuple[int, int], ...]] = (0, ())
        self._data_event = threading.Event()
        self._space_event = threading.Event()

    @property
    def written(self) -> int:
        """Frames written since the start (absolute index of the next frame)."""
        return self._written

    @property
    def progress(self) -> tuple[int, float]:
        """Frames written and the monotonic time the last block arrived, read together."""
        return self._progress

    @property
    def released(self) -> int:
        """Frames before this index may be overwritten."""
        return self._released

    @property
    def gaps(self) -> tuple[tuple[int, int], ...]:
        """The recent cuts: (ring index where audio was cut, frames lost), oldest first."""
        return self._gaps[1]

    @property
    def free(self) -> int:
        """Frames the writer can add without dropping."""
        return self.capacity - (self._written - self._released)

    def write(self, block: np.ndarray) -> bool:
        """Copy a (frames, channels) block in; False (and counted) when it does not fit."""
        frames = block.shape[0]
        if frames > self.free:
            self._add_gap(frames)
            self.dropped_blocks += 1
            self.dropped_frames += frames
            return False
        start = self._written % self.capacity
        first = min(frames, self.capacity - start)
        self._data[start : start + first] = block[:first]
        if first < frames:
            self._data[: frames - first] = block[first:]
        self._written += frames
        self._progress = (self._written, time.monotonic())
        self._data_event.set()
        return True

    def _add_gap(self, frames: int) -> None:
        """Record `frames` lost at the write index, folding cuts a ring length behind release."""
        folded, recent = self._gaps
        horizon = self._released - self.capacity
        old = [f for at, f in recent if at < horizon]
        kept = recent[len(old) :]
        if kept and kept[-1][0] == self._written:  # the same cut grows
            kept = (*kept[:-1], (self._written, kept[-1][1] + frames))
        else:
            kept = (*kept, (self._written, frames))
        self._gaps = (folded + sum(old), kept)

    def lost_before(self, index: int, inclusive: bool = True) -> int:
        """Frames dropped before ring index `index` (add them to get stream frames); a gap cut
        exactly at `index` counts only when `inclusive`. `index` >= `released - capacity`."""
        folded, recent = self._gaps
        return folded + sum(f for at, f in recent if at < index or (inclusive and at == index))

    def read(self, start: int, stop: int) -> np.ndarray:
        """A copy of frames [start, stop); they must be written and not yet released."""
        if start < self._released or stop > self._written or start > stop:
            raise IndexError(f"frames [{start}, {stop}) not available")
        out = np.empty((stop - start, self.channels), dtype=np.float32)
        first_index = start % self.capacity
        first = min(stop - start, self.capacity - first_index)
        out[:first] = self._data[first_index : first_index + first]
        out[first:] = self._data[: stop - start - first]
        return out

    def release(self, index: int) -> None:
        """The reader no longer needs frames before `index`."""
        self._released = max(self._released, min(index, self._written))
        self._space_event.set()

    def wait_written(self, index: int, timeout: float) -> bool:
        """Wait until frame `index` has been written (or the timeout passes)."""
        return self._wait(lambda: self._written >= index, self._data_event, timeout)

    def wait_free(self, frames: int, timeout: float) -> bool:
        """Wait until `frames` fit (for producers that may block, such as file readers)."""
        return self._wait(lambda: self.free >= frames, self._space_event, timeout)

    @staticmethod
    def _wait(ready: Callable[[], bool], event: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not ready():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event.clear()
            if not ready():  # re-check after clear: a set() may have landed in between
                event.wait(remaining)
        return True
