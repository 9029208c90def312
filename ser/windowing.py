"""Where a stream's sliding windows end, and a whole recording's speech windows cut and gated
as the live worker cuts and gates them (one streaming resampler, the VAD fed hop by hop)."""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ser.audio import read_audio
from ser.features import fit_length
from ser.resampled import ResampledStream
from ser.vad import SileroVad, SpeechGate, VadConfig

MIN_START_SECONDS = 1.5  # the first, zero-padded window ends after this much audio


@dataclass(frozen=True)
class Windowing:
    """Seconds between window ends, the first window's end, and the speech gate."""

    hop_seconds: float
    min_start_seconds: float = MIN_START_SECONDS
    vad: VadConfig = field(default_factory=VadConfig)


def first_window(windowing: Windowing, rate: int) -> tuple[int, int]:
    """The hop and the first window's end, in frames at `rate` (a whole number of hops)."""
    hop = max(1, round(windowing.hop_seconds * rate))
    return hop, max(1, math.ceil(windowing.min_start_seconds * rate / hop)) * hop


def window_ends(frames: int, rate: int, windowing: Windowing) -> list[int]:
    """The end frame of each window of a recording of `frames` frames: every hop from the first
    end, then one at the last frame when audio follows the last hop (as a finished stream)."""
    hop, first = first_window(windowing, rate)
    ends = list(range(first, frames + 1, hop))
    if frames > (ends[-1] if ends else 0):
        ends.append(frames)
    return ends


@dataclass
class SpeechWindows:
    """The windows the speech gate passes, in order: the recording at the model's rate, where
    each window starts and stops in it, and where each ends (stream seconds); windows are cut
    from it a batch at a time, so a long recording is held once, not once per window."""

    audio: np.ndarray  # (frames,) float32 at the model's rate
    spans: list[tuple[int, int]]
    ends: list[float]
    window_samples: int

    def __len__(self) -> int:
        return len(self.spans)

    def clips(self, first: int = 0, stop: int | None = None) -> torch.Tensor:
        """(n, window_samples) windows `first` to `stop` (default: to the last)."""
        cut = [
            fit_length(torch.from_numpy(self.audio[a:b].copy()), self.window_samples)
            for a, b in self.spans[first:stop]
        ]
        return torch.stack(cut) if cut else torch.zeros(0, self.window_samples)


def speech_windows(
    samples: np.ndarray, rate: int, target_rate: int, window_samples: int, windowing: Windowing
) -> SpeechWindows:
    """The speech windows of (frames, channels) `samples` at `rate`: down-mixed, resampled to
    `target_rate` by one streaming resampler, each window gated on the VAD of its newest audio."""
    stream = ResampledStream(rate, target_rate)
    stream.add(samples, last=True)
    vad, gate = SileroVad(), SpeechGate(window_samples, windowing.vad)
    spans, ends, fed = [], [], 0
    for end in window_ends(samples.shape[0], rate, windowing):
        stop = stream.index(end)
        start = max(0, stop - window_samples)
        gate.add(vad.update(stream.read(max(start, fed), stop)))
        fed = stop
        if gate.is_speech:
            spans.append((start, stop))
            ends.append(end / rate)
    audio = np.ascontiguousarray(stream.read(0, fed), dtype=np.float32)
    return SpeechWindows(audio, spans, ends, window_samples)


def file_speech_windows(
    path: str | Path, target_rate: int, window_samples: int, windowing: Windowing
) -> SpeechWindows:
    """`speech_windows` of an audio file (AudioError when it cannot be read)."""
    samples, rate = read_audio(path)
    return speech_windows(samples, rate, target_rate, window_samples, windowing)
