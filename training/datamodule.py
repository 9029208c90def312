"""LightningDataModule: corpus scan, speaker-independent split, class weights, loaders."""

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader

from ser.config import FeatureConfig
from ser.errors import SerError
from ser.labels import EMOTIONS
from training.augment import build_augment
from training.corpora import Utterance, scan
from training.dataset import Augment, ClipDataset
from training.splits import Split, check_split, split_by_fixed_speakers, split_by_speaker_fraction


def make_split(items: list[Utterance], cfg: dict[str, Any]) -> Split:
    """A Split from config: `kind: fixed` (named speakers) or `kind: fraction`."""
    if cfg["kind"] == "fixed":
        split = split_by_fixed_speakers(
            items, list(cfg["val_speakers"]), list(cfg["test_speakers"])
        )
    else:
        if "seed" not in cfg:
            raise SerError("a data config with split kind 'fraction' needs a split seed")
        split = split_by_speaker_fraction(
            items, cfg["val_fraction"], cfg["test_fraction"], cfg["seed"]
        )
    check_split(split)
    return split


def class_weights(
    labels: list[int] | torch.Tensor, num_classes: int = len(EMOTIONS)
) -> torch.Tensor:
    """Inverse-frequency weights from the training labels, mean 1 over present classes."""
    counts = torch.bincount(torch.as_tensor(labels), minlength=num_classes).float()
    weights = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp(min=1)), 0.0)
    return weights / weights[counts > 0].mean()


class EmotionDataModule(L.LightningDataModule):
    """Train/val/test loaders over one corpus (plus extra training corpora); its settings come
    from the data config (`training/conf/data/`, `datamodule_from_config`)."""

    def __init__(
        self,
        corpus: str,
        root: str,
        split: dict[str, Any],
        *,
        features: FeatureConfig,
        extra_train: list[dict[str, str]],
        augment: dict[str, Any] | None,
        batch_size: int,
        num_workers: int,
    ) -> None:
        super().__init__()
        self.corpus, self.root, self.split_cfg = corpus, root, split
        self.features = features
        self.extra_train = extra_train
        self.augment_cfg = augment
        self.batch_size, self.num_workers = batch_size, num_workers
        self.eval_stage = "test"  # which split test_dataloader serves (ser-test --split val)
        self.eval_noise: Augment | None = None  # added to test clips (robustness evaluation)
        self.split: Split | None = None
        self.train_groups: list[tuple[str, list[Utterance]]] = []
        self.class_weights: torch.Tensor | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.split is not None:
            return
        split = make_split(scan(self.corpus, self.root), self.split_cfg)
        # Training clips per corpus folder (frozen-encoder caches are kept per corpus).
        self.train_groups = [(Path(self.root).name, split.train)]
        for source in self.extra_train:
            self.train_groups.append(
                (Path(source["root"]).name, scan(source["corpus"], source["root"]))
            )
        extra = [u for _, items in self.train_groups[1:] for u in items]
        self.split = Split(split.train + extra, split.val, split.test)
        check_split(self.split)  # all corpora together: extra corpora must not leak speakers
        self.class_weights = class_weights([u.label for u in self.split.train])

    def _loader(
        self, items: list[Utterance], train: bool, augment: Augment | None = None
    ) -> DataLoader:
        dataset = ClipDataset(
            items,
            self.features.sample_rate,
            self.features.clip_samples,
            augment=build_augment(self.augment_cfg) if train else augment,
            random_crop=train,
        )
        # Evaluation under DDP: each clip on exactly one rank (Lightning's own sampler would pad
        # the last rank with repeated clips, and the metrics would count them twice).
        sampler = None
        if not train and torch.distributed.is_available() and torch.distributed.is_initialized():
            sampler = UnrepeatedDistributedSampler(dataset, shuffle=False)
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=train,
            sampler=sampler,
            drop_last=train and len(items) > self.batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.split.train, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.split.val, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(getattr(self.split, self.eval_stage), False, self.eval_noise)
