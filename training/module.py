"""LightningModule: the shared SerModel, SpecAugment, mixup, focal loss, Adam + schedule (or
full-batch L-BFGS with L2 and bf16-rounding penalties for heads on cached features), metrics."""

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
from ser.config import feature_config_from, model_config_from, to_plain
from ser.errors import SerError
from ser.labels import EMOTIONS
from ser.model import SerModel
from training.augment import build_spec_augment, mixup
from training.losses import FocalLoss

OPTIMIZERS = ("adam", "lbfgs")


def _stage_metrics(num_classes: int) -> MetricCollection:
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        }
    )


class EmotionClassifier(L.LightningModule):
    """Wraps SerModel (waveform -> logits) for training and evaluation."""

    def __init__(
        self,
        features: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        labels: list[str] | None = None,
        lr: float = 3e-4,
        weight_decay: float = 0.0,
        focal_gamma: float = 2.0,
        label_smoothing: float = 0.0,
        plateau_factor: float = 0.5,
        plateau_patience: int = 3,
        schedule: str = "plateau",
        warmup_epochs: int = 0,
        spec_augment: dict[str, int] | None = None,
        mixup_alpha: float = 0.0,
        tune_layers: int = 0,
        encoder_lr: float | None = None,
        optimizer: str = "adam",
        l2: float = 0.0,
        lbfgs_iterations: int = 50,
        rounding_penalty: float = 0.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.labels = tuple(labels or EMOTIONS)
        family = (model or {}).get("family", "seed")
        feature_cfg = feature_config_from(features or {}, family)
        model_cfg = model_config_from({**(model or {}), "num_classes": len(self.labels)}, family)
        self.model = SerModel(feature_cfg, model_cfg)
        if family == "whisper":
            # Frozen encoder: only the layer weights and the head learn (on cached features),
            # and the top `tune_layers` layers with the final LayerNorm when asked.
            encoder = self.model.net.encoder
            encoder.requires_grad_(False)
            if not 0 <= tune_layers <= len(encoder.layers):
                raise SerError(f"tune_layers must be 0..{len(encoder.layers)}, not {tune_layers}")
            if tune_layers:
                encoder.layers[len(encoder.layers) - tune_layers :].requires_grad_(True)
                encoder.layer_norm.requires_grad_(True)
        if optimizer not in OPTIMIZERS:
            raise SerError(f"training.optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")
        if optimizer == "lbfgs" and (family != "whisper" or tune_layers):
            raise SerError(
                "training.optimizer=lbfgs fits a head on cached frozen-encoder features: "
                "it needs model=whisper and training.tune_layers=0"
            )
        if rounding_penalty and (
            family != "whisper" or tune_layers or model_cfg.head_kinds != ("linear",)
        ):
            raise SerError(
                "training.rounding_penalty weighs a linear head's weights by the bf16 encoder's "
                "rounding: it needs model=whisper, model.head=linear and training.tune_layers=0"
            )
        # Per input feature of the linear head, the variance of its bf16-minus-fp32 error in
        # standardised units (set from cached features by the data set-up).
        self.register_buffer("rounding_variance", torch.zeros(0), persistent=False)
        self.spec_augment = build_spec_augment(spec_augment)
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
        module = cls(
            features=to_plain(checkpoint.features),
            model={**to_plain(checkpoint.model_config), "family": checkpoint.model.family},
            labels=list(checkpoint.labels),
        )
        module.model.load_state_dict(checkpoint.model.state_dict())
        return module

    def set_rounding_error(self, error: torch.Tensor) -> None:
        """From (N, layers + 1, 2 * width) bf16-minus-fp32 features: the rounding's variance in
        the head's standardised units, which the rounding penalty weighs."""
        variance = (error / self.model.net.heads[0].feature_std).square().mean(dim=0)
        self.rounding_variance = variance.flatten().to(self.rounding_variance)

    def set_class_weights(self, weights: torch.Tensor) -> None:
        """Loss weights computed from the training split."""
        self.loss.weight.copy_(weights.to(self.loss.weight))

    def on_fit_start(self) -> None:
        weights = getattr(self.trainer.datamodule, "class_weights", None)
        if weights is not None:
            self.set_class_weights(weights)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Logits from waveforms (B, samples), or from cached encoder features for the Whisper
        family: pooled (B, layers + 1, 2 * width), then the hidden state below the tuned layers
        (B, positions, width) when the top layers train."""
        net = self.model.net
        if inputs[0].ndim == 3 and self.model.family == "whisper":
            if len(inputs) == 1:
                return net.classify(inputs[0])
            first = len(net.encoder.layers) - self.hparams.tune_layers
            return net.classify(net.repooled(*inputs, first=first))
        return self.model(inputs[0])

    def training_step(self, batch: tuple[torch.Tensor, ...], _: int) -> torch.Tensor:
        *inputs, target = batch
        if inputs[0].ndim == 3:  # cached encoder features: nothing to mask or mix
            logits = self(*inputs)
            loss, counted = self.loss(logits, target), target
        else:
            logits, loss, counted = self._augmented_step(inputs[0], target)
        if self.hparams.l2:
            loss = loss + self.hparams.l2 * self._weight_norm()
        if self.hparams.rounding_penalty:
            loss = loss + self.hparams.rounding_penalty * self._rounding_spread()
        self.train_acc(logits, counted)
        self.log("train/loss", loss, prog_bar=True, batch_size=len(target))
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True, batch_size=len(target))
        return loss

    def _weight_norm(self) -> torch.Tensor:
        """Sum of squares of the trainable weight matrices (biases and layer weights left out)."""
        return sum(p.square().sum() for p in self.parameters() if p.requires_grad and p.ndim > 1)

    def _rounding_spread(self) -> torch.Tensor:
        """Expected squared change of the linear head's logits under the bf16 encoder's rounding
        (taken as independent per feature): sum over features of variance x squared weights."""
        weight = self.model.net.heads[0].head[-1].weight
        return (weight.square() * self.rounding_variance).sum()

    def _augmented_step(
        self, waveform: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits, loss and the targets that accuracy counts, with SpecAugment and mixup."""
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
        return logits, loss, target if lam >= 0.5 else partner  # the larger share counts

    def validation_step(self, batch: tuple[torch.Tensor, ...], _: int) -> None:
        *inputs, target = batch
        logits = self(*inputs)
        self.log("val/loss", self.loss(logits, target), sync_dist=True, batch_size=len(target))
        self.val_metrics(logits, target)
        self.log_dict(self.val_metrics, prog_bar=True, batch_size=len(target))

    def test_step(self, batch: tuple[torch.Tensor, ...], _: int) -> None:
        *inputs, target = batch
        logits = self(*inputs)
        self.test_metrics(logits, target)
        self.test_per_class.update(logits, target)
        self.test_confusion.update(logits, target)
        self.log_dict(self.test_metrics, batch_size=len(target))

    def on_test_epoch_end(self) -> None:
        per_class = {k: v.tolist() for k, v in self.test_per_class.compute().items()}
        self.test_results = {
            "per_class": {
                label: {metric: per_class[metric][i] for metric in per_class}
                for i, label in enumerate(self.labels)
            },
            "confusion_matrix": self.test_confusion.compute().tolist(),
        }
        self.test_per_class.reset()
        self.test_confusion.reset()

    def configure_optimizers(self) -> dict[str, Any]:
        """Adam with ReduceLROnPlateau on val macro-F1 (seed), or linear warm-up then cosine;
        tuned encoder layers learn at `encoder_lr`. L-BFGS: `lbfgs_iterations` per batch."""
        hp = self.hparams
        trainable = [p for p in self.parameters() if p.requires_grad]
        if hp.optimizer == "lbfgs":
            lbfgs = torch.optim.LBFGS(
                trainable, lr=hp.lr, max_iter=hp.lbfgs_iterations, line_search_fn="strong_wolfe"
            )
            return {"optimizer": lbfgs}
        encoder = {id(p) for p in self.model.net.encoder.parameters()} if hp.tune_layers else set()
        groups = [{"params": [p for p in trainable if id(p) not in encoder]}]
        if encoder:
            tuned = [p for p in trainable if id(p) in encoder]
            groups.append({"params": tuned, "lr": hp.encoder_lr or hp.lr})
        optimizer = torch.optim.Adam(groups, lr=hp.lr, weight_decay=hp.weight_decay)
        if hp.schedule == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="max", factor=hp.plateau_factor, patience=hp.plateau_patience
            )
            config = {"scheduler": scheduler, "monitor": "val/f1", "interval": "epoch"}
        else:
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
            config = {"scheduler": scheduler, "interval": "step"}
        return {"optimizer": optimizer, "lr_scheduler": config}
