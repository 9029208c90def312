"""Training-time augmentations from config: waveform (audiomentations), SpecAugment masks,
mixup."""

from typing import Any

import audiomentations as am
import torch
from torch import nn
from torchaudio.transforms import FrequencyMasking, TimeMasking


def build_augment(cfg: dict[str, Any] | None) -> am.Compose | None:
    """The seed chain: shift, low/high-pass, noise, pitch, gain; None when disabled."""
    if not cfg:
        return None
    return am.Compose(
        [
            am.Shift(
                min_shift=-0.5,
                max_shift=0.5,
                shift_unit="fraction",
                rollover=False,
                p=cfg["shift_p"],
            ),
            am.LowPassFilter(
                min_cutoff_freq=cfg["lowpass_min_hz"], max_cutoff_freq=7500, p=cfg["lowpass_p"]
            ),
            am.HighPassFilter(
                min_cutoff_freq=20, max_cutoff_freq=cfg["highpass_max_hz"], p=cfg["highpass_p"]
            ),
            am.OneOf(
                [
                    am.AddGaussianSNR(min_snr_db=cfg["min_snr_db"], max_snr_db=cfg["max_snr_db"]),
                    am.AddColorNoise(min_snr_db=cfg["min_snr_db"], max_snr_db=cfg["max_snr_db"]),
                ],
                p=cfg["noise_p"],
            ),
            am.PitchShift(
                min_semitones=cfg["min_semitones"],
                max_semitones=cfg["max_semitones"],
                p=cfg["pitch_p"],
            ),
            am.Gain(
                min_gain_db=cfg["min_gain_db"], max_gain_db=cfg["max_gain_db"], p=cfg["gain_p"]
            ),
        ]
    )


class SpecAugment(nn.Module):
    """SpecAugment-style masking of a (B, 1, mels, frames) log-mel image, per example."""

    def __init__(self, freq_mask: int, time_mask: int, masks: int) -> None:
        super().__init__()
        self.masks = nn.Sequential(
            *[
                mask
                for _ in range(masks)
                for mask in (
                    FrequencyMasking(freq_mask, iid_masks=True),
                    TimeMasking(time_mask, iid_masks=True),
                )
            ]
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.masks(image)


def build_spec_augment(cfg: dict[str, Any] | None) -> SpecAugment | None:
    """Masking from `training.spec_augment`; None when disabled."""
    if not cfg:
        return None
    return SpecAugment(cfg["freq_mask"], cfg["time_mask"], cfg["masks"])


def mixup(
    image: torch.Tensor, target: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix each example with a shuffled partner, weight lam ~ Beta(alpha, alpha) per batch.

    Returns the mixed batch, the partners' targets and lam (the weight of the own target)."""
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    partner = torch.randperm(image.shape[0], device=image.device)
    return lam * image + (1.0 - lam) * image[partner], target[partner], lam
