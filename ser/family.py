"""A model family: one front end, one network, their config types and how the fast path
rewrites the network; ser.seed and ser.whisper define one each, ser.model registers them."""

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class ModelFamily:
    """Everything that differs between families; every caller asks this object."""

    name: str
    feature_config: type
    model_config: type
    frontend: Callable[[Any], nn.Module]  # feature config -> (B, samples) waveforms to features
    network: Callable[[Any], nn.Module]  # model config -> features to logits
    # The fast path: a deep copy of the network in eval mode and a compute dtype -> the network
    # ser.predictor runs (and the caches train on).
    fast_network: Callable[[nn.Module, torch.dtype], nn.Module]
    # Whether the fast network takes its input in the compute dtype (else fp32, cast inside).
    input_in_compute_dtype: bool
    # Heads over a frozen encoder's pooled features: trained on cached features, joined into
    # ensembles on one encoder, adapted to a session and calibrated.
    encoder_heads: bool
    # Plain-dict values back to the model config's (e.g. lists to tuples).
    restore_model_fields: Callable[[dict[str, Any]], dict[str, Any]] = dict

    def features_from(self, data: dict[str, Any]) -> Any:
        """The feature config from a plain dict, ignoring unknown keys."""
        return self.feature_config(**_known(self.feature_config, data))

    def model_from(self, data: dict[str, Any]) -> Any:
        """The model config from a plain dict, ignoring unknown keys."""
        return self.model_config(**self.restore_model_fields(_known(self.model_config, data)))


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
