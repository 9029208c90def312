"""Level meter and label smoother (knobs named after NeMo's VAD post-processing)."""

from dataclasses import dataclass

import numpy as np

from ser.errors import CheckpointError


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of a block in dBFS (-120 for silence)."""
    if samples.size == 0:
        return -120.0
    return float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12))


@dataclass(frozen=True)
class SmootherConfig:
    """Exponential smoothing of probabilities; a new label must lead by `switch_margin`.

    A model file carries its own, chosen on validation streams (python -m
    training.tune_smoother --write); these defaults serve files without: no averaging (windows
    1 s apart already overlap by 80 %) and a small margin, at or above the raw label on the
    validation streams of each model tuned so far."""

    alpha: float = 1.0
    switch_margin: float = 0.04

    @classmethod
    def from_settings(cls, settings: object, source: str) -> "SmootherConfig":
        """From a model file's `smoother` entry (the defaults when it has none); CheckpointError
        naming `source` when the entry is invalid."""
        if settings is None:
            return cls()
        try:
            config = cls(**{k: float(v) for k, v in settings.items()})
        except (AttributeError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{source}: invalid smoother settings {settings!r}") from exc
        if not (0 < config.alpha <= 1 and 0 <= config.switch_margin < 1):
            raise CheckpointError(f"{source}: invalid smoother settings {settings!r}")
        return config


class LabelSmoother:
    """Smoothed label over speech windows with hysteresis; None during silence."""

    def __init__(self, labels: tuple[str, ...], config: SmootherConfig = SmootherConfig()) -> None:
        self.labels = labels
        self.config = config
        self._ema: np.ndarray | None = None
        self._current: int | None = None

    def update(self, probs: np.ndarray | None, hold: bool = False) -> str | None:
        """Feed one window's probabilities (None for silence); returns the smoothed label.
        With `hold` (an uncertain window) the average moves but the label does not switch."""
        if probs is None:
            self._ema, self._current = None, None
            return None
        alpha = self.config.alpha
        self._ema = probs.copy() if self._ema is None else (1 - alpha) * self._ema + alpha * probs
        best = int(self._ema.argmax())
        if self._current is None or (
            not hold
            and best != self._current
            and self._ema[best] - self._ema[self._current] >= self.config.switch_margin
        ):
            self._current = best
        return self.labels[self._current]
