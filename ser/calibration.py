"""Confidence that means what it says: a temperature that grows with how unfamiliar the input
is (the window's, the session's and the adapted window's distance from the training features),
and the calibrated top probability under which a window is flagged uncertain."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Calibration:
    """log T = w0 + w1 log(window distance) + w2 log(session distance) + w3 log(adapted
    window distance); a window whose calibrated top probability is below `uncertain_below` is
    uncertain."""

    weights: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    uncertain_below: float = 0.0

    @classmethod
    def from_settings(cls, settings: object) -> "Calibration | None":
        """From a model file's `calibration` entry; None when it has none."""
        if not settings:
            return None
        entry = dict(settings)
        weights = tuple(float(w) for w in entry["weights"])
        if len(weights) != 4 or not 0 <= float(entry["uncertain_below"]) < 1:
            raise ValueError(f"invalid calibration settings {settings!r}")
        return cls(weights, float(entry["uncertain_below"]))

    def settings(self) -> dict:
        """The model file's `calibration` entry."""
        return {"weights": list(self.weights), "uncertain_below": self.uncertain_below}

    def temperature(self, familiarity: torch.Tensor) -> torch.Tensor:
        """(N, 3) distances (`distances`) -> (N, 1) temperatures."""
        w = torch.tensor(self.weights, dtype=torch.float32)
        return (w[0] + familiarity.log() @ w[1:]).exp().unsqueeze(-1)


def distances(
    pooled: torch.Tensor,
    session_means: torch.Tensor,
    feature_mean: torch.Tensor,
    feature_std: torch.Tensor,
) -> torch.Tensor:
    """(N, 3): root-mean-square standardised distance from the training mean of each window's
    features, of the session mean it sees, and of the window adapted to that session (in-domain
    windows lie near 1)."""

    def rms(x: torch.Tensor) -> torch.Tensor:
        z = (x.float() - feature_mean) / feature_std
        return z.pow(2).flatten(1).mean(dim=1).sqrt().clamp(min=1e-3)

    adapted = pooled.float() - session_means + feature_mean
    return torch.stack([rms(pooled), rms(session_means), rms(adapted)], dim=1)
