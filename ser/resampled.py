"""The stream down-mixed and resampled once: a 16 kHz mono array the windows and the VAD read."""

import numpy as np
import soxr

from ser.audio import to_mono


class ResampledStream:
    """Source frames in, in order, down-mixed then resampled by one streaming soxr resampler
    (none when the rates match); keeps the target-rate audio from `start` on."""

    def __init__(self, rate: int, target: int) -> None:
        self.rate, self.target = rate, target
        self._soxr = None if rate == target else soxr.ResampleStream(rate, target, 1, "float32")
        self.fed = 0  # source frames taken
        self.start = 0  # target-rate index of audio[0]
        self.audio = np.zeros(0, np.float32)
        self.ended = False  # the resampler was flushed: the input is over

    @property
    def end(self) -> int:
        """Target-rate index one past the newest sample out."""
        return self.start + self.audio.size

    def index(self, frame: int) -> int:
        """Target-rate index of source frame `frame`."""
        return round(frame * self.target / self.rate)

    def add(self, frames: np.ndarray, last: bool = False) -> None:
        """Take the next source frames ((frames, channels)); `last` flushes the resampler."""
        mono = to_mono(frames).numpy()
        self.fed, self.ended = self.fed + frames.shape[0], last
        out = mono if self._soxr is None else self._soxr.resample_chunk(mono, last=last)
        self.audio = np.concatenate([self.audio, out.astype(np.float32, copy=False)])

    def read(self, start: int, stop: int) -> np.ndarray:
        """Target-rate samples [start, stop) (fewer where not yet out)."""
        return self.audio[max(0, start - self.start) : max(0, stop - self.start)]

    def release(self, index: int) -> None:
        """Forget the samples before target-rate index `index`."""
        drop = min(self.audio.size, max(0, index - self.start))
        self.audio, self.start = self.audio[drop:], self.start + drop
