"""Frozen-encoder features on disk: the pooled hidden states of each clip, augmented clip and
stream window are computed once and reused by every run that trains a head on them."""

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from ser.model import SerModel
from ser.predictor import inference_net
from ser.runtime import select_dtype

Example = Callable[[], torch.Tensor]  # builds one 16 kHz waveform on demand


class EncoderFeatureCache:
    """Pooled features (N, layers + 1, 2 * width) of waveforms, stored per named set under
    `directory` and keyed by the encoder's weights and the set's description."""

    def __init__(
        self, model: SerModel, directory: Path, precision: str = "auto", batch: int = 8
    ) -> None:
        self.frontend = model.frontend.eval()
        dtype = select_dtype(torch.device("cpu"), precision)
        self.net = inference_net(model.net, dtype)
        self.directory = directory
        self.batch = batch
        self.encoder_id = _digest(
            [[k, float(v.double().sum())] for k, v in model.net.encoder.state_dict().items()]
            + [str(dtype)]
        )

    def features(self, name: str, keys: list, examples: list[Example]) -> torch.Tensor:
        """Features of `examples` (described by `keys`), from disk when already computed."""
        path = self.directory / f"{name}-{_digest([self.encoder_id, keys])}.pt"
        if path.is_file():
            return torch.load(path, weights_only=True)
        out = torch.cat(list(self._compute(examples, name))) if examples else torch.zeros(0)
        self.directory.mkdir(parents=True, exist_ok=True)
        torch.save(out, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
        return out

    @torch.inference_mode()
    def _compute(self, examples: list[Example], name: str) -> Iterator[torch.Tensor]:
        from tqdm import tqdm

        print(f"encoder features: {name} ({len(examples)} windows)", file=sys.stderr, flush=True)
        steps = range(0, len(examples), self.batch)
        for i in tqdm(steps, desc=f"encoder {name}", unit="batch", disable=not sys.stderr.isatty()):
            waves = torch.stack([self.frontend(make())[0] for make in examples[i : i + self.batch]])
            yield self.net.pooled(waves).float()


def _digest(value: object) -> str:
    return hashlib.sha1(json.dumps(value, default=str).encode()).hexdigest()[:16]
