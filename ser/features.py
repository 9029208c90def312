"""Cutting and padding waveforms to a family's window."""

import torch
import torch.nn.functional as F


def fit_length(waveform: torch.Tensor, length: int) -> torch.Tensor:
    """Cut or zero-pad the last axis to exactly `length` samples."""
    current = waveform.shape[-1]
    if current >= length:
        return waveform[..., :length]
    return F.pad(waveform, (0, length - current))
