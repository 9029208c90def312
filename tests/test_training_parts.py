"""Training pieces on their own: focal loss, the warm-up + cosine schedule, precision choice,
splits across corpora, babble sources, and predictors that own their modules."""

from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from ser.checkpoint import load_checkpoint
from ser.config import FeatureConfig
from ser.errors import SerError
from ser.labels import EMOTIONS
from ser.predictor import Predictor
from ser.runtime import select_dtype
from ser.whisper import WHISPER
from training.datamodule import EmotionDataModule
from training.evaluate import noise_mixer
from training.losses import FocalLoss
from training.module import HeadClassifier

RAVDESS_SPLIT = {"kind": "fixed", "val_speakers": ["17", "18"], "test_speakers": ["19", "20"]}


def test_focal_loss_with_gamma_zero_is_cross_entropy() -> None:
    logits, target = torch.randn(16, 6), torch.randint(0, 6, (16,))
    assert torch.allclose(
        FocalLoss(6, gamma=0.0, label_smoothing=0.0)(logits, target),
        F.cross_entropy(logits, target),
    )
    smooth = FocalLoss(6, gamma=0.0, label_smoothing=0.1)(logits, target)
    assert torch.allclose(smooth, F.cross_entropy(logits, target, label_smoothing=0.1))


def test_focal_loss_weights_and_focus() -> None:
    logits, target = torch.randn(32, 6), torch.randint(0, 6, (32,))
    weights = torch.rand(6) + 0.5
    loss = FocalLoss(6, gamma=0.0, label_smoothing=0.0)
    loss.weight.copy_(weights)
    expected = F.cross_entropy(logits, target, weight=weights)  # weighted mean, as documented
    assert torch.allclose(loss(logits, target), expected, atol=1e-6)
    easy = torch.tensor([[8.0, 0, 0, 0, 0, 0]])
    hard = torch.tensor([[0.5, 0, 0, 0, 0, 0]])
    zero = torch.tensor([0])
    focal = FocalLoss(6, gamma=2.0, label_smoothing=0.0)
    # gamma shrinks the loss of a confident correct example far more than a hard one's.
    ratio_easy = focal(easy, zero) / F.cross_entropy(easy, zero)
    ratio_hard = focal(hard, zero) / F.cross_entropy(hard, zero)
    assert ratio_easy < 1e-3 < ratio_hard < 1


def test_warmup_then_cosine_schedule() -> None:
    sizes = {"family": WHISPER.name, "width": 16, "heads": 2, "ff_width": 32, "layers": 2}
    module = HeadClassifier(features={}, model=sizes, labels=list(EMOTIONS), focal_gamma=0.0,
                            label_smoothing=0.0, lr=1e-3, weight_decay=0.0,
                            warmup_epochs=2)  # fmt: skip
    module._trainer = SimpleNamespace(estimated_stepping_batches=100, max_epochs=10)
    config = module.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(1e-5)  # warm-up starts at 1 % of the peak
    assert max(lrs) == pytest.approx(1e-3, rel=1e-3) and lrs.index(max(lrs)) == 20
    assert all(a <= b for a, b in pairwise(lrs[:21]))  # rising
    assert all(a >= b for a, b in pairwise(lrs[20:]))  # then falling
    assert lrs[-1] < 1e-5


def test_bf16_only_where_the_hardware_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setattr("ser.runtime.cpu_has_bf16", lambda: False)
    assert select_dtype(cpu) == torch.float32
    monkeypatch.setattr("ser.runtime.cpu_has_bf16", lambda: True)
    assert select_dtype(cpu) == torch.bfloat16
    assert select_dtype(cpu, "fp32") == torch.float32
    monkeypatch.setattr("ser.runtime.cpu_has_bf16", lambda: False)
    assert select_dtype(cpu, "bf16") == torch.bfloat16  # asked for explicitly


def ravdess_data(root: Path, extra_train: list[dict[str, str]]) -> EmotionDataModule:
    """RAVDESS with the data config's loader settings."""
    return EmotionDataModule(
        "ravdess", str(root), RAVDESS_SPLIT, features=FeatureConfig(), extra_train=extra_train,
        augment=None, batch_size=16, num_workers=2,
    )  # fmt: skip


def test_extra_corpora_cannot_bring_test_speakers(ravdess_root: Path) -> None:
    data = ravdess_data(ravdess_root, [{"corpus": "ravdess", "root": str(ravdess_root)}])
    with pytest.raises(SerError, match="speakers overlap"):
        data.setup("fit")


def test_babble_comes_from_training_speakers_only(ravdess_root: Path) -> None:
    data = ravdess_data(ravdess_root, [])
    data.setup("test")
    mixer = noise_mixer("babble", 10.0, data)
    pool = set(mixer.babble_pool)
    assert pool == {u.path for u in data.split.train}
    held_out = {u.path for u in data.split.val + data.split.test}
    assert held_out and not pool & held_out


def test_each_predictor_owns_its_modules(tiny_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    first = Predictor(checkpoint, "cpu", "fp32")
    second = Predictor(checkpoint, "cpu", "auto")
    assert first.frontend is not checkpoint.model.frontend
    assert first.net is not checkpoint.model.net and first.net is not second.net
    first.frontend.float64 = True  # any change to one stays with it
    assert not hasattr(second.frontend, "float64")
    assert not hasattr(first, "checkpoint")  # no unused fp32 copy kept
