"""Batched inference on 16 kHz windows: the fast path (folded BatchNorm, bf16, channels-last)
by default, eager fp32 with `precision="fp32"`."""

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ser.bundle import resolve_checkpoint
from ser.checkpoint import Checkpoint, load_checkpoint
from ser.model import EmotionNet
from ser.runtime import select_device, select_dtype


def inference_net(net: EmotionNet, dtype: torch.dtype) -> EmotionNet:
    """A copy for inference: BatchNorm folded into the convolutions, weights in `dtype`,
    channels-last. fp32 returns the network unchanged (the eager reference path)."""
    if dtype == torch.float32:
        return net
    fast = copy.deepcopy(net).eval()
    for block in fast.cnn:
        block[0] = fuse_conv_bn_eval(block[0], block[1])
        block[1] = nn.Identity()
    return fast.to(dtype=dtype, memory_format=torch.channels_last)


class Predictor:
    """Class probabilities for batches of waveform windows, on GPU when there is one."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        device: str = "auto",
        precision: str = "auto",
        max_batch: int | None = None,
    ) -> None:
        self.checkpoint = checkpoint
        self.labels = checkpoint.labels
        self.sample_rate = checkpoint.features.sample_rate
        self.window_samples = checkpoint.features.clip_samples
        self.device = select_device(device)
        self.dtype = select_dtype(self.device, precision)
        # On CPU one window at a time is fastest per window (feature maps stay in cache).
        self.max_batch = max_batch or (64 if self.device.type == "cuda" else 1)
        self.name = "model"
        model = checkpoint.model.eval()
        self.frontend = model.frontend.to(self.device)
        self.net = inference_net(model.net, self.dtype).to(self.device)

    @classmethod
    def load(
        cls, path: str | Path | None = None, device: str = "auto", precision: str = "auto", **kw
    ) -> "Predictor":
        """From a checkpoint file, or the shipped model when `path` is None."""
        resolved = resolve_checkpoint(path)
        predictor = cls(load_checkpoint(resolved), device, precision, **kw)
        predictor.name = resolved.name
        return predictor

    @property
    def description(self) -> str:
        """Short text for status lines: device and precision."""
        precision = "bf16" if self.dtype == torch.bfloat16 else "fp32"
        return f"{self.device.type.upper()} {precision}"

    @torch.inference_mode()
    def probabilities(self, windows: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, samples) 16 kHz windows -> (N, classes) float32 probabilities."""
        batch = torch.as_tensor(windows, dtype=torch.float32)
        if batch.ndim == 1:
            batch = batch.unsqueeze(0)
        out = []
        for chunk in batch.split(self.max_batch):
            features = self.frontend(chunk.to(self.device, non_blocking=True))  # always fp32
            logits = self.net(features.to(self.dtype))
            out.append(logits.float().softmax(dim=-1).cpu())
        return torch.cat(out).numpy()
