"""Training-time waveform augmentations (audiomentations), built from config."""

from typing import Any

import audiomentations as am


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
