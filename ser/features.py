"""The one preprocessing used by training and inference: waveform batch to log-mel image."""

import torch
import torch.nn.functional as F
from torch import nn
from torchaudio.transforms import AmplitudeToDB, MelSpectrogram

from ser.config import FeatureConfig


def fit_length(waveform: torch.Tensor, length: int) -> torch.Tensor:
    """Cut or zero-pad the last axis to exactly `length` samples."""
    current = waveform.shape[-1]
    if current >= length:
        return waveform[..., :length]
    return F.pad(waveform, (0, length - current))


class LogMelFrontend(nn.Module):
    """(batch, samples) at 16 kHz -> (batch, 1, 256, 1024) normalised log-mel images."""

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        super().__init__()
        self.config = config
        self.melspec = MelSpectrogram(
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            win_length=config.win_length,
            hop_length=config.hop_length,
            f_min=config.f_min,
            f_max=config.f_max,
            n_mels=config.n_mels,
            power=2.0,
        )
        self.to_db = AmplitudeToDB(stype="power", top_db=config.top_db)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Features for a batch of waveforms; always computed in float32."""
        if waveform.ndim == 1:
            waveform = waveform.unsqueeze(0)
        with torch.autocast(device_type=waveform.device.type, enabled=False):
            clip = fit_length(waveform.float(), self.config.clip_samples).unsqueeze(1)
            # (B, 1, mels, frames): keeps AmplitudeToDB's top_db clamp per clip, not per batch.
            spec = self.to_db(self.melspec(clip))
            floor = spec.amin(dim=(-2, -1), keepdim=True) + self.config.noise_trim_db
            spec = torch.maximum(spec, floor)
            size = (self.config.image_height, self.config.image_width)
            spec = F.interpolate(spec, size=size, mode="bilinear", align_corners=False)
            mean = spec.mean(dim=(-2, -1), keepdim=True)
            std = spec.std(dim=(-2, -1), keepdim=True)
            return (spec - mean) / (std + 1e-5)
