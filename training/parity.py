"""The bf16 fast path against eager fp32 on a set of windows: the check before shipping."""

from dataclasses import dataclass

import numpy as np
import torch

from ser.checkpoint import Checkpoint
from ser.predictor import Predictor


@dataclass(frozen=True)
class Parity:
    """The fast path (near-ties recomputed) against eager fp32 on a set of windows."""

    windows: int
    agreement: float
    max_delta: float
    wide_flips: int  # flipped labels whose eager uncalibrated top-2 gap is at least the margin

    @property
    def ok(self) -> bool:
        """Labels agree on >= 99 % of windows, only near-ties flip, probabilities within 0.05
        (the bf16 encoder's rounding moves a Whisper head's probabilities by up to ~0.03)."""
        return self.agreement >= 0.99 and self.wide_flips == 0 and self.max_delta <= 0.05


def fast_path_parity(checkpoint: Checkpoint, windows: torch.Tensor) -> Parity:
    """Compare the bf16 fast path with eager fp32 on the CPU, window by window."""
    reference = Predictor(checkpoint, "cpu", "fp32")
    eager = reference.probabilities(windows)
    fast_path = Predictor(checkpoint, "cpu", "bf16")
    fast = fast_path.probabilities(windows)
    flips = eager.argmax(1) != fast.argmax(1)
    # Near-ties are measured where the fast path measures them: before calibration.
    top2 = np.sort(reference.probabilities(windows, calibrated=False), axis=1)[:, -2:]
    wide = int(np.sum(top2[flips, 1] - top2[flips, 0] >= fast_path.tie_margin))
    return Parity(len(eager), float(1 - flips.mean()), float(np.abs(eager - fast).max()), wide)
