"""Slicing a long waveform into fixed windows at a hop, covering it to the end."""

import math

import torch


def window_starts(num_samples: int, window: int, hop: int) -> list[int]:
    """Start samples of windows that cover [0, num_samples); one window for short input."""
    if num_samples <= window:
        return [0]
    count = math.ceil((num_samples - window) / hop) + 1
    return [min(i * hop, num_samples - window) for i in range(count)]


def slice_windows(waveform: torch.Tensor, window: int, hop: int) -> tuple[torch.Tensor, list[int]]:
    """(samples,) -> (N, window) windows (the last ends at the end) and their start samples."""
    starts = window_starts(waveform.shape[-1], window, hop)
    if waveform.shape[-1] < window:
        waveform = torch.nn.functional.pad(waveform, (0, window - waveform.shape[-1]))
    return torch.stack([waveform[s : s + window] for s in starts]), starts
