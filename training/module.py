"""LightningModules, one per way of training: `WaveformClassifier` trains a family end to end on
waveforms (the seed), `HeadClassifier` trains a head on a frozen encoder's cached pooled
features (Whisper); both score like `EmotionClassifier`, which ser-test runs on any model file.
The linear probe is no module: training.probe_fit fits it."""

from typing import Any

import lightning as L
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassPrecision,
    MulticlassRecall,
)

from ser.checkpoint import Checkpoint
from ser.config import to_plain
from ser.model import SerModel, family_named
from training.augment import build_spec_augment, mixup
from training.losses import FocalLoss
from training.report import class_results


def _stage_metrics(num_classes: int) -> MetricCollection:
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        }
    )


class EmotionClassifier(L.LightningModule):
    """A SerModel (waveform -> logits) with its loss and metrics: what validation and test
    steps share; ser-test scores a model file through it."""

    def __init__(
        self,
        features: dict[str, Any],
        model: dict[str, Any],
        labels: list[str],
        focal_gamma: float,
        label_smoothing: float,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.labels = tuple(labels)
        family = family_named(model["family"])
        self.model = SerModel(
            family.features_from(features),
            family.model_from({**model, "num_classes": len(self.labels)}),
        )
        n = len(self.labels)
        self.loss = FocalLoss(n, focal_gamma, label_smoothing)
        self.train_acc = MulticlassAccuracy(n, average="micro")
        self.val_metrics = _stage_metrics(n).clone(prefix="val/")
        self.test_metrics = _stage_metrics(n).clone(prefix="test/")
        self.test_per_class = MetricCollection(
            {
                "precision": MulticlassPrecision(n, average="none"),
                "recall": MulticlassRecall(n, average="none"),
                "f1": MulticlassF1Score(n, average="none"),
            }
        )
        self.test_confusion = MulticlassConfusionMatrix(n)
        self.test_results: dict[str, Any] = {}

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint) -> "EmotionClassifier":
        """A module around the weights of a ser checkpoint (for ser-test)."""
        module = EmotionClassifier(
            features=to_plain(checkpoint.features),
            model={**to_plain(checkpoint.model_config), "family": checkpoint.model.family.name},
            labels=list(checkpoint.labels),
            focal_gamma=0.0,
            label_smoothing=0.0,
        )
        module.model.load_state_dict(checkpoint.model.state_dict())
        return module

    def set_class_weights(self, weights: torch.Tensor) -> None:
        """Loss weights computed from the training split."""
        self.loss.weight.copy_(weights.to(self.loss.weight))

    def on_fit_start(self) -> None:
        weights = getattr(self.trainer.datamodule, "class_weights", None)
        if weights is not None:
            self.set_class_weights(weights)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of waveforms (B, samples)."""
        return self.model(inputs)

    def _log_train(self, logits: torch.Tensor, loss: torch.Tensor, counted: torch.Tensor) -> None:
        self.train_acc(logits, counted)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(counted))
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, batch_size=len(counted))

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        inputs, target = batch
        logits = self(inputs)
        self.log("val/loss", self.loss(logits, target), sync_dist=True, batch_size=len(target))
        self.val_metrics(logits, target)
        self.log_dict(self.val_metrics, prog_bar=True, batch_size=len(target))

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
        inputs, target = batch
        logits = self(inputs)
        self.test_metrics(logits, target)
        self.test_per_class.update(logits, target)
        self.test_confusion.update(logits, target)
        self.log_dict(self.test_metrics, batch_size=len(target))

    def on_test_epoch_end(self) -> None:
        per_class = {k: v.tolist() for k, v in self.test_per_class.compute().items()}
        confusion = self.test_confusion.compute().tolist()
        self.test_results = class_results(per_class, confusion, self.labels)
        self.test_per_class.reset()
        self.test_confusion.reset()


class WaveformClassifier(EmotionClassifier):
    """End to end on waveforms: SpecAugment and mixup on the features, focal loss, Adam with
    ReduceLROnPlateau on validation macro-F1."""

    def __init__(
        self,
        features: dict[str, Any],
        model: dict[str, Any],
        labels: list[str],
        focal_gamma: float,
        label_smoothing: float,
        lr: float,
        weight_decay: float,
        plateau_factor: float,
        plateau_patience: int,
        spec_augment: dict[str, int] | None,
        mixup_alpha: float,
    ) -> None:
        super().__init__(features, model, labels, focal_gamma, label_smoothing)
        self.save_hyperparameters()
        self.spec_augment = build_spec_augment(spec_augment)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        waveform, target = batch
        image = self.model.frontend(waveform)
        if self.spec_augment is not None:
            image = self.spec_augment(image)
        partner, lam = target, 1.0
        if self.hparams.mixup_alpha > 0:
            image, partner, lam = mixup(image, target, self.hparams.mixup_alpha)
        logits = self.model.net(image)
        loss = self.loss(logits, target)
        if lam < 1.0:
            loss = lam * loss + (1.0 - lam) * self.loss(logits, partner)
        self._log_train(logits, loss, target if lam >= 0.5 else partner)  # the larger share
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        optimizer = torch.optim.Adam(self.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=hp.plateau_factor, patience=hp.plateau_patience
        )
        config = {"scheduler": scheduler, "monitor": "val/f1", "interval": "epoch"}
        return {"optimizer": optimizer, "lr_scheduler": config}


class HeadClassifier(EmotionClassifier):
    """A head on a frozen encoder, trained on cached pooled features (B, layers + 1, 2 * width):
    cross-entropy (focal, smoothed, class-weighted), Adam, linear warm-up then cosine."""

    def __init__(
        self,
        features: dict[str, Any],
        model: dict[str, Any],
        labels: list[str],
        focal_gamma: float,
        label_smoothing: float,
        lr: float,
        weight_decay: float,
        warmup_epochs: int,
    ) -> None:
        super().__init__(features, model, labels, focal_gamma, label_smoothing)
        self.save_hyperparameters()
        self.model.net.encoder.requires_grad_(False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits from pooled features (B, layers + 1, 2 * width)."""
        return self.model.net.classify(inputs)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        pooled, target = batch
        logits = self(pooled)
        loss = self.loss(logits, target)
        self._log_train(logits, loss, target)
        return loss

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        trainable = [p for p in self.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=hp.lr, weight_decay=hp.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = min(total - 1, hp.warmup_epochs * total // max(1, self.trainer.max_epochs))
        scheduler = torch.optim.lr_scheduler.SequentialLR(
            optimizer,
            [
                torch.optim.lr_scheduler.LinearLR(optimizer, 0.01, 1.0, max(1, warmup)),
                torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, total - warmup)),
            ],
            milestones=[max(1, warmup)],
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
