"""Additive noise at a fixed SNR for robustness evaluation: white, or babble of other speakers."""

import zlib
from pathlib import Path

import numpy as np

from ser.audio import load_waveform

BABBLE_TALKERS = 4


def _power(x: np.ndarray) -> float:
    return float(np.mean(x.astype(np.float64) ** 2)) + 1e-12


def speech_power(samples: np.ndarray) -> float:
    """Mean power of the non-silent samples (all of them when every sample is silent)."""
    active = samples[np.abs(samples) > 1e-4]
    return _power(active if active.size else samples)


def snr_db(speech: np.ndarray, noise: np.ndarray) -> float:
    """Signal-to-noise ratio of `speech` (its non-silent part) over `noise`, in dB."""
    return 10 * np.log10(speech_power(speech) / _power(noise))


class NoiseMixer:
    """Callable like an audiomentations transform: `mixer(samples=..., sample_rate=...)`.

    The noise is scaled against the power of the clip's non-silent part, so zero padding does
    not lower the effective SNR. The generator is seeded from the clip itself, so a clip gets
    the same noise whatever the loader's worker count or order."""

    def __init__(
        self, kind: str, snr_db: float, babble_pool: list[Path] | None = None, seed: int = 0
    ) -> None:
        if kind not in ("white", "babble"):
            raise ValueError(f"unknown noise kind {kind!r}")
        if kind == "babble" and not babble_pool:
            raise ValueError("babble needs clips of other speakers")
        self.kind, self.snr_db = kind, snr_db
        self.babble_pool = babble_pool or []
        self.seed = seed

    def _babble(self, n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
        mix = np.zeros(n, np.float32)
        for first in rng.choice(len(self.babble_pool), BABBLE_TALKERS, replace=False):
            track = self._talker(int(first), n, rate, rng)
            mix += track / np.sqrt(_power(track))
        return mix

    def _talker(self, first: int, n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
        """One background talker over `n` samples: pool clips back to back, `first` and then
        clips drawn at random (a long recording hears many utterances, not one looped)."""
        pieces, length, index = [], 0, first
        while length < n:
            pieces.append(load_waveform(self.babble_pool[index], rate).numpy())
            length += pieces[-1].size
            index = int(rng.integers(len(self.babble_pool)))
        return np.concatenate(pieces)[:n]

    def __call__(self, samples: np.ndarray, sample_rate: int) -> np.ndarray:
        rng = np.random.default_rng((self.seed, zlib.crc32(samples.tobytes())))
        signal_power = speech_power(samples)
        if self.kind == "white":
            noise = rng.standard_normal(samples.size).astype(np.float32)
        else:
            noise = self._babble(samples.size, sample_rate, rng)
        scale = np.sqrt(signal_power / (_power(noise) * 10 ** (self.snr_db / 10)))
        return (samples + scale * noise).astype(np.float32)
