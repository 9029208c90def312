"""Frozen-encoder features on disk: the pooled hidden states of each clip, augmented clip and
stream window are computed once and reused by every run that trains a head on them."""

import copy
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from ser.features import fit_length
from ser.model import SerModel
from ser.predictor import inference_net
from ser.runtime import select_device, select_dtype
from ser.whisper import statistics

Example = Callable[[], torch.Tensor]  # builds one 16 kHz waveform on demand
Features = tuple[torch.Tensor, ...]


class _Examples(Dataset):
    """Waveforms built on demand (in DataLoader workers when there are any)."""

    def __init__(self, examples: list[Example]) -> None:
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.examples[index]()


def _stack(waves: list[torch.Tensor], samples: int) -> torch.Tensor:
    return torch.stack([fit_length(w, samples) for w in waves])


class EncoderFeatureCache:
    """Per named set of waveforms, stored under `directory` and keyed by a hash of the encoder's
    weights and the set's description (its audio files' content digests, see `file_digest`):
    pooled features (N, layers + 1, 2 * width)."""

    def __init__(
        self,
        model: SerModel,
        directory: Path,
        precision: str = "auto",
        batch: int = 8,
        workers: int = 0,
    ) -> None:
        self.device = select_device()
        self.frontend = copy.deepcopy(model.frontend).eval().to(self.device)
        dtype = select_dtype(self.device, precision)
        self.net = inference_net(model.net, dtype).to(self.device)
        self.model_net = model.net
        self.samples = model.frontend.config.clip_samples
        self.directory = directory
        self.batch = batch
        self.workers = workers
        self.encoder_id = _digest(
            [weights_digest(model.net.encoder), str(dtype), "autocast"]  # the fast path's numerics
        )

    def features(self, name: str, keys: list, examples: list[Example]) -> Features:
        """Features of `examples` (described by `keys`), from disk when already computed."""
        return self._stored(name, keys, lambda: self._compute(examples, name))

    def rounding_error(self, name: str, keys: list, examples: list[Example]) -> torch.Tensor:
        """How the bf16 fast path moves the pooled features of `examples`: bf16 encoder minus
        fp32 encoder, (N, layers + 1, 2 * width), whatever precision the cache itself uses."""

        @torch.inference_mode()
        def compute() -> Iterator[Features]:
            bf16, fp32 = (
                inference_net(self.model_net, dtype).to(self.device)
                for dtype in (torch.bfloat16, torch.float32)
            )
            for log_mel in self._batches(examples, name):
                error = statistics(bf16.states(log_mel)) - statistics(fp32.states(log_mel))
                yield (error.cpu(),)

        return self._stored(f"{name}-rounding", [*keys, "bf16 - fp32"], compute)[0]

    def _stored(self, name: str, keys: list, compute: Callable[[], Iterator[Features]]) -> Features:
        """The tensors stored for (`name`, `keys`), computed batch by batch and saved first
        when absent."""
        path = self.directory / f"{name}-{_digest([self.encoder_id, keys])}.pt"
        if path.is_file():
            stored = torch.load(path, weights_only=True)
            return tuple(stored) if isinstance(stored, list) else (stored,)
        parts = list(zip(*compute(), strict=True))
        out = tuple(torch.cat(p) for p in parts) or (torch.zeros(0),)
        self.directory.mkdir(parents=True, exist_ok=True)
        torch.save(list(out) if len(out) > 1 else out[0], path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
        return out

    @torch.inference_mode()
    def _compute(self, examples: list[Example], name: str) -> Iterator[Features]:
        for log_mel in self._batches(examples, name):
            yield (statistics(self.net.states(log_mel)).cpu(),)

    @torch.inference_mode()
    def _batches(self, examples: list[Example], name: str) -> Iterator[torch.Tensor]:
        """Log-mel batches of `examples` on the cache's device, with a progress line."""
        from tqdm import tqdm

        if not examples:
            return
        print(f"encoder features: {name} ({len(examples)} windows)", file=sys.stderr, flush=True)
        loader = DataLoader(
            _Examples(examples),
            batch_size=self.batch,
            num_workers=self.workers,
            collate_fn=partial(_stack, samples=self.samples),
        )
        for waves in tqdm(loader, desc=f"encoder {name}", disable=not sys.stderr.isatty()):
            yield self.frontend(waves.to(self.device))


def file_digest(path: Path) -> str:
    """sha1 of a file's bytes: a cache key that changes with the audio, not with its name."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


def content_digest(paths: list[Path]) -> str:
    """sha1 over every file's content digest, in order: a key that changes with the audio."""
    return hashlib.sha1("".join(file_digest(p) for p in paths).encode()).hexdigest()


def weights_digest(module: torch.nn.Module) -> str:
    """sha1 over a module's parameter and buffer names, shapes, dtypes and bytes."""
    digest = hashlib.sha1()
    for name, tensor in module.state_dict().items():
        digest.update(f"{name} {tuple(tensor.shape)} {tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _digest(value: object) -> str:
    return hashlib.sha1(json.dumps(value, default=str).encode()).hexdigest()[:16]
