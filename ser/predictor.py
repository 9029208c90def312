"""Batched inference on 16 kHz windows: fast path (channels-last, bf16 autocast) by default."""

import contextlib
from pathlib import Path

import numpy as np
import torch

from ser.bundle import resolve_checkpoint
from ser.checkpoint import Checkpoint, load_checkpoint
from ser.runtime import select_device, select_dtype


class Predictor:
    """Class probabilities for batches of waveform windows, on GPU when there is one."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        device: str = "auto",
        precision: str = "auto",
        max_batch: int = 16,
    ) -> None:
        self.checkpoint = checkpoint
        self.labels = checkpoint.labels
        self.sample_rate = checkpoint.features.sample_rate
        self.window_samples = checkpoint.features.clip_samples
        self.device = select_device(device)
        self.dtype = select_dtype(self.device, precision)
        self.max_batch = max_batch
        self.name = "model"
        self.model = checkpoint.model.to(self.device).eval()
        if self.dtype != torch.float32:
            self.model.net.to(memory_format=torch.channels_last)

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

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    @torch.inference_mode()
    def probabilities(self, windows: torch.Tensor | np.ndarray) -> np.ndarray:
        """(N, samples) 16 kHz windows -> (N, classes) float32 probabilities."""
        batch = torch.as_tensor(windows, dtype=torch.float32)
        if batch.ndim == 1:
            batch = batch.unsqueeze(0)
        out = []
        for chunk in batch.split(self.max_batch):
            with self._autocast():
                logits = self.model(chunk.to(self.device, non_blocking=True))
            out.append(logits.float().softmax(dim=-1).cpu())
        return torch.cat(out).numpy()
