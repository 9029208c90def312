"""Voice-activity gate and label smoother (knobs named after NeMo's VAD post-processing)."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GateConfig:
    """Energy gate: frame level in dBFS with onset/offset hysteresis and minimum durations."""

    onset_db: float = -42.0
    offset_db: float = -48.0
    frame_seconds: float = 0.02
    min_duration_on: float = 0.06
    min_duration_off: float = 0.3


class EnergyGate:
    """Stateful speech/silence decision over a stream of mono samples at any rate."""

    def __init__(self, sample_rate: int, config: GateConfig = GateConfig()) -> None:
        self.config = config
        self.frame = max(1, round(config.frame_seconds * sample_rate))
        self._min_on = max(1, round(config.min_duration_on / config.frame_seconds))
        self._min_off = max(1, round(config.min_duration_off / config.frame_seconds))
        self._rest = np.zeros(0, dtype=np.float32)
        self._speech = False
        self._run = 0  # consecutive frames arguing for a state change

    def update(self, samples: np.ndarray) -> np.ndarray:
        """Feed mono samples; returns one speech flag per completed frame."""
        data = np.concatenate([self._rest, samples.astype(np.float32, copy=False)])
        count = data.size // self.frame
        self._rest = data[count * self.frame :]
        frames = data[: count * self.frame].reshape(count, self.frame)
        levels = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        flags = np.empty(count, dtype=bool)
        for i, level in enumerate(levels):
            flags[i] = self._step(level)
        return flags

    def _step(self, level: float) -> bool:
        cfg = self.config
        arguing = level < cfg.offset_db if self._speech else level > cfg.onset_db
        self._run = self._run + 1 if arguing else 0
        if self._run >= (self._min_off if self._speech else self._min_on):
            self._speech, self._run = not self._speech, 0
        return self._speech


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of a block in dBFS (-120 for silence)."""
    if samples.size == 0:
        return -120.0
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12))


@dataclass(frozen=True)
class SmootherConfig:
    """Exponential smoothing of probabilities; a new label must lead by `switch_margin`."""

    alpha: float = 0.35
    switch_margin: float = 0.08


class LabelSmoother:
    """Smoothed label over speech windows with hysteresis; None during silence."""

    def __init__(self, labels: tuple[str, ...], config: SmootherConfig = SmootherConfig()) -> None:
        self.labels = labels
        self.config = config
        self._ema: np.ndarray | None = None
        self._current: int | None = None

    def update(self, probs: np.ndarray | None) -> str | None:
        """Feed one window's probabilities (None for silence); returns the smoothed label."""
        if probs is None:
            self._ema, self._current = None, None
            return None
        alpha = self.config.alpha
        self._ema = probs.copy() if self._ema is None else (1 - alpha) * self._ema + alpha * probs
        best = int(self._ema.argmax())
        if self._current is None or (
            best != self._current
            and self._ema[best] - self._ema[self._current] >= self.config.switch_margin
        ):
            self._current = best
        return self.labels[self._current]
