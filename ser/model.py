"""The model families in one registry, and SerModel: one family's front end + network."""

import torch
from torch import nn

from ser.config import AnyFeatureConfig, AnyModelConfig, FeatureConfig, ModelConfig
from ser.family import ModelFamily
from ser.seed import SEED
from ser.whisper import WHISPER

FAMILIES: dict[str, ModelFamily] = {family.name: family for family in (SEED, WHISPER)}


def family_named(name: str) -> ModelFamily:
    """The family called `name`; ValueError naming the known ones otherwise."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r} (known: {', '.join(FAMILIES)})")
    return FAMILIES[name]


def family_of(config: AnyFeatureConfig | AnyModelConfig) -> ModelFamily:
    """The family a feature or model config belongs to."""
    kind = type(config)
    return next(f for f in FAMILIES.values() if kind in (f.feature_config, f.model_config))


class SerModel(nn.Module):
    """Front end + network of one family: (B, samples) 16 kHz waveforms -> (B, classes) logits;
    the configs' types pick the family."""

    def __init__(
        self, features: AnyFeatureConfig = FeatureConfig(), model: AnyModelConfig = ModelConfig()
    ) -> None:
        super().__init__()
        self.family = family_of(model)
        if family_of(features) is not self.family:
            raise ValueError("feature and model configs belong to different families")
        self.frontend = self.family.frontend(features)
        self.net = self.family.network(model)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of waveforms."""
        return self.net(self.frontend(waveform))
