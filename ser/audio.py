"""Audio file reading: any rate and channel count to 16 kHz mono float32."""

import functools
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from torchaudio.transforms import Resample

from ser.errors import AudioError

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif"})


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file as float32 (frames, channels) at its own rate; AudioError on any failure."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{path}: cannot read audio ({_first_line(exc)})") from exc
    if samples.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not np.isfinite(samples).all():
        raise AudioError(f"{path}: contains NaN or infinite samples")
    return samples, int(rate)


def to_mono(samples: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Average channels of a (frames, channels) array into a 1-D float32 tensor."""
    tensor = torch.as_tensor(samples, dtype=torch.float32)
    return tensor.mean(dim=1) if tensor.ndim == 2 else tensor


def resample(waveform: torch.Tensor, orig_rate: int, target_rate: int) -> torch.Tensor:
    """Band-limited resampling along the last axis (no-op when the rates match); the filter
    of each rate pair is built once."""
    if orig_rate == target_rate:
        return waveform
    return _resampler(orig_rate, target_rate)(waveform)


@functools.lru_cache(maxsize=8)
def _resampler(orig_rate: int, target_rate: int) -> Resample:
    return Resample(orig_rate, target_rate)


def load_waveform(path: str | Path, sample_rate: int = 16000) -> torch.Tensor:
    """A file as a 1-D float32 mono tensor at `sample_rate`."""
    samples, rate = read_audio(path)
    return resample(to_mono(samples), rate, sample_rate)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
