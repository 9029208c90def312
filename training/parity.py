"""A fast path (the CPU's: int8 for Whisper; or bf16, the GPU's) against eager fp32 on a set of
windows: the check before shipping."""

from dataclasses import dataclass

import numpy as np
import torch

from ser.checkpoint import Checkpoint
from ser.predictor import Predictor
from ser.runtime import precision_name


@dataclass(frozen=True)
class Parity:
    """The fast path (near-ties recomputed) against eager fp32 on a set of windows."""

    precision: str  # the fast path's: int8, bf16 or fp32
    windows: int
    agreement: float
    max_delta: float
    wide_flips: int  # flipped labels whose eager top-2 gap is at least the near-tie margin

    @property
    def ok(self) -> bool:
        """Labels agree on >= 99 % of windows, only near-ties flip, probabilities within 0.05
        (the int8 encoder moves a Whisper head's probabilities by up to ~0.05, bf16 ~0.03)."""
        return self.agreement >= 0.99 and self.wide_flips == 0 and self.max_delta <= 0.05


def fast_path_parity(
    checkpoint: Checkpoint, windows: torch.Tensor, precision: str = "auto"
) -> Parity:
    """Compare a fast path on the CPU (by default the one `precision="auto"` runs there) with
    eager fp32, window by window."""
    reference = Predictor(checkpoint, "cpu", "fp32")
    eager = reference.probabilities(windows)
    fast_path = Predictor(checkpoint, "cpu", precision)
    fast = fast_path.probabilities(windows)
    flips = eager.argmax(1) != fast.argmax(1)
    # Near-ties are judged as the fast path judges them: before calibration.
    top2 = np.sort(reference.probabilities(windows, calibrated=False), axis=1)[:, -2:]
    wide = int(np.sum(top2[flips, 1] - top2[flips, 0] >= fast_path.tie_margin))
    return Parity(
        precision_name(fast_path.dtype),
        len(eager),
        float(1 - flips.mean()),
        float(np.abs(eager - fast).max()),
        wide,
    )
