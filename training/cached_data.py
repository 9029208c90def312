"""Training data for frozen-encoder models: clips (clean and augmented) and windows cut from
same-speaker streams, as pooled encoder features in memory-resident tensors."""

import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import audiomentations as am
import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from ser.audio import load_waveform
from ser.features import fit_length
from training.augment import build_augment
from training.corpora import Utterance
from training.datamodule import class_weights
from training.dataset import Augment
from training.encoder_cache import EncoderFeatureCache, Example, content_digest, file_digest
from training.splits import Split
from training.streams import Stream, StreamSpec, build_streams, window_truth

Tensors = tuple[torch.Tensor, ...]  # cached features (pooled, maybe a hidden state), then labels

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Part:
    """One cached set: its tensors (features..., labels) and the speaker of each row."""

    tensors: Tensors
    speakers: tuple[str, ...]

    def rows_of(self, speakers: set[str]) -> Tensors:
        """The tensors' rows whose speaker is in `speakers`."""
        keep = torch.tensor([s in speakers for s in self.speakers], dtype=torch.bool)
        return tuple(t[keep] for t in self.tensors)


@dataclass(frozen=True)
class StreamWindows:
    """Windows of `seconds` every `hop` seconds (from a random offset when `jitter`)."""

    seconds: float = 5.0
    hop: float = 1.0
    jitter: bool = False


def stream_windows(
    streams: list[Stream], windows: StreamWindows, seed: int = 0
) -> list[tuple[str, int, int, int]]:
    """(speaker, start sample, end sample, label) of windows lying wholly inside one block."""
    rng = random.Random(seed)
    size, hop = round(windows.seconds * SAMPLE_RATE), round(windows.hop * SAMPLE_RATE)
    out = []
    for stream in streams:
        start = rng.randrange(hop) if windows.jitter else 0
        while start + size <= stream.audio.size:
            label = window_truth(stream.blocks, start / SAMPLE_RATE, (start + size) / SAMPLE_RATE)
            if label is not None:
                out.append((stream.speaker, start, start + size, label))
            start += hop
    return out


@dataclass(frozen=True)
class Augmentation:
    """A named augmentation recipe; `description` (its settings) is part of the cache key."""

    name: str
    transform: Augment  # called as transform(samples=..., sample_rate=...)
    description: str


def room_augmentation(cfg: dict[str, Any]) -> Augmentation:
    """Room reverberation, the seed chain, then a level change of -18..+6 dB."""
    room = am.RoomSimulator(p=cfg["room_p"], leave_length_unchanged=True)
    level = am.Gain(min_gain_db=-18, max_gain_db=6, p=1.0)
    transform = am.Compose([room, build_augment(cfg), level])
    return Augmentation("aug", transform, repr(sorted(cfg.items())))


def babble_augmentation(talkers: list[Path], cfg: dict[str, Any]) -> Augmentation:
    """One or two other training talkers in the background (babble), sometimes white or
    coloured noise too, then a level change."""
    low, high = cfg["babble_snr_db"]
    transform = am.Compose(
        [
            am.AddBackgroundNoise(sounds_path=talkers, min_snr_db=low, max_snr_db=high, p=1.0),
            am.AddBackgroundNoise(sounds_path=talkers, min_snr_db=low + 5, max_snr_db=high, p=0.5),
            am.OneOf(
                [
                    am.AddGaussianSNR(min_snr_db=5, max_snr_db=30),
                    am.AddColorNoise(min_snr_db=5, max_snr_db=30),
                ],
                p=0.3,
            ),
            am.Gain(min_gain_db=-18, max_gain_db=6, p=1.0),
        ]
    )
    pool = f"{len(talkers)} talkers {content_digest(talkers)}"
    return Augmentation("babble", transform, f"babble {low}..{high} dB, {pool}")


def _augmented(make: Example, augment: Augment, seed: int) -> torch.Tensor:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    samples = augment(samples=make().numpy(), sample_rate=SAMPLE_RATE)
    return torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))


def clip_window(path: Path, samples: int) -> torch.Tensor:
    """A clip as one model window: 16 kHz mono, cut or padded to `samples`."""
    return fit_length(load_waveform(path, SAMPLE_RATE), samples)


class CachedFeatures:
    """Builds feature tensors for one split of the data through an EncoderFeatureCache."""

    def __init__(self, cache: EncoderFeatureCache, window_samples: int) -> None:
        self.cache = cache
        self.window_samples = window_samples

    def clips(
        self, tag: str, items: list[Utterance], augment: Augmentation | None = None, copy: int = 0
    ) -> Part:
        """Each clip cut/padded to the window; augmented copy number `copy` when given."""
        makes, keys = self._clip_examples(items)
        name = f"{tag}-clips-clean"
        if augment is not None:
            makes = [partial(_augmented, m, augment.transform, copy * 100003 + i)
                     for i, m in enumerate(makes)]  # fmt: skip
            keys += [f"{augment.name} copy {copy}", augment.description]
            name = f"{tag}-clips-{augment.name}{copy}"
        tensors = (*self.cache.features(name, keys, makes), _labels(items))
        return Part(tensors, tuple(u.speaker for u in items))

    def rounding_error(self, tag: str, items: list[Utterance]) -> torch.Tensor:
        """bf16 minus fp32 encoder features of the clips `items` (see the cache's method)."""
        makes, keys = self._clip_examples(items)
        return self.cache.rounding_error(f"{tag}-clips", keys, makes)

    def _clip_examples(self, items: list[Utterance]) -> tuple[list[Example], list[str]]:
        """Each clip's window, built on demand, and the cache keys that describe them."""
        makes: list[Example] = [partial(clip_window, u.path, self.window_samples) for u in items]
        return makes, [file_digest(u.path) for u in items]

    def streams(
        self,
        tag: str,
        items: list[Utterance],
        spec: StreamSpec,
        windows: StreamWindows,
        augment: Augmentation | None = None,
        noise: Augmentation | None = None,
    ) -> Part:
        """Windows of same-speaker streams built from `items` (one stream per speaker), each
        window augmented by `augment`, or each whole stream mixed with `noise` first (as
        `ser-test --streams` adds noise), when given."""
        streams = {s.speaker: s for s in build_streams(items, spec)}
        cuts = stream_windows(list(streams.values()), windows, seed=spec.seed)
        noisy: dict[str, np.ndarray] = {}  # whole noisy streams, made on first use

        def make(speaker: str, start: int, end: int) -> torch.Tensor:
            audio = streams[speaker].audio
            if noise is not None:
                if speaker not in noisy:
                    noisy[speaker] = noise.transform(samples=audio, sample_rate=SAMPLE_RATE)
                audio = noisy[speaker]
            return torch.from_numpy(audio[start:end])

        makes: list[Example] = [partial(make, s, a, b) for s, a, b, _ in cuts]
        keys = [file_digest(u.path) for u in items] + [repr(spec), repr(windows)]
        name = f"{tag}-streams-{spec.seed}"
        if augment is not None:
            makes = [partial(_augmented, m, augment.transform, spec.seed * 7919 + i)
                     for i, m in enumerate(makes)]  # fmt: skip
            keys.append(augment.description)
            name += f"-{augment.name}"
        if noise is not None:
            keys.append(f"whole-stream noise: {noise.description}")
            name += f"-{noise.name}"
        labels = torch.tensor([label for *_, label in cuts], dtype=torch.long)
        tensors = (*self.cache.features(name, keys, makes), labels)
        return Part(tensors, tuple(speaker for speaker, *_ in cuts))


def _labels(items: list[Utterance]) -> torch.Tensor:
    return torch.tensor([u.label for u in items], dtype=torch.long)


class CachedFeatureDataModule(L.LightningDataModule):
    """Loaders over precomputed (features..., label) tensors: train, val (clips and stream
    windows) and the clips the test loop scores."""

    def __init__(
        self, train: Tensors, val: Tensors, test: Tensors, split: Split, batch_size: int
    ) -> None:
        super().__init__()
        self.sets = {"train": train, "val": val, "test": test}
        self.split = split
        self.batch_size = batch_size
        self.class_weights = class_weights(train[-1])

    def _loader(self, stage: str) -> DataLoader:
        tensors = self.sets[stage]
        return DataLoader(
            TensorDataset(*tensors),
            batch_size=self.batch_size,
            shuffle=stage == "train",
            drop_last=stage == "train" and len(tensors[-1]) > self.batch_size,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train")

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
