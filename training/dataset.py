"""A map-style dataset of fixed-length 16 kHz clips, augmented in the loader workers."""

from collections.abc import Callable

import numpy as np
import torch
from torch.utils.data import Dataset

from ser.audio import load_waveform
from ser.features import fit_length
from training.corpora import Utterance

Augment = Callable[..., np.ndarray]


class ClipDataset(Dataset):
    """(waveform of `clip_samples`, label) pairs; random crop of long clips when training."""

    def __init__(
        self,
        items: list[Utterance],
        sample_rate: int,
        clip_samples: int,
        augment: Augment | None = None,
        random_crop: bool = False,
    ) -> None:
        self.items = items
        self.sample_rate = sample_rate
        self.clip_samples = clip_samples
        self.augment = augment
        self.random_crop = random_crop

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        item = self.items[index]
        waveform = load_waveform(item.path, self.sample_rate)
        excess = waveform.shape[0] - self.clip_samples
        if excess > 0 and self.random_crop:
            start = int(np.random.randint(0, excess + 1))
            waveform = waveform[start:]
        clip = fit_length(waveform, self.clip_samples).numpy()
        if self.augment is not None:
            clip = self.augment(samples=clip, sample_rate=self.sample_rate)
        return torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)), item.label
