"""The seed network: shapes, gradient flow, and the shared front end."""

import numpy as np
import pytest
import torch

from ser.config import FeatureConfig, ModelConfig
from ser.features import fit_length
from ser.model import SerModel
from ser.seed import EmotionNet, LogMelFrontend


def test_seed_model_logits_shape_and_gradients() -> None:
    torch.manual_seed(0)
    model = SerModel()
    waveform = torch.randn(2, 80000) * 0.1
    logits = model(waveform)
    assert logits.shape == (2, 6)
    logits.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert not missing, f"parameters without gradient: {missing}"


def test_seed_cnn_gives_256_vectors_of_512() -> None:
    net = EmotionNet(ModelConfig()).eval()
    with torch.no_grad():
        maps = net.cnn(torch.randn(1, 1, 256, 1024))
    assert maps.shape == (1, 512, 1, 256)
    layer = net.encoder.layers[0]
    assert len(net.encoder.layers) == 6
    assert layer.self_attn.num_heads == 4 and layer.linear1.out_features == 1024
    assert net.head.in_features == 512 and net.head.out_features == 6


def test_frontend_output_is_normalised_image() -> None:
    features = LogMelFrontend()(torch.randn(3, 80000) * 0.1)
    assert features.shape == (3, 1, 256, 1024)
    assert torch.allclose(features.mean(dim=(-2, -1)), torch.zeros(3, 1), atol=1e-4)
    assert torch.allclose(features.std(dim=(-2, -1)), torch.ones(3, 1), atol=1e-3)


def test_frontend_is_batch_independent() -> None:
    """Each clip's top_db clamp and normalisation must not depend on its batch-mates."""
    frontend = LogMelFrontend()
    loud, quiet = torch.randn(80000) * 0.5, torch.randn(80000) * 1e-3
    batch = frontend(torch.stack([loud, quiet]))
    alone = frontend(quiet.unsqueeze(0))
    assert torch.allclose(batch[1], alone[0], atol=1e-4)


def test_fit_length_cuts_and_pads() -> None:
    x = torch.arange(10.0)
    assert torch.equal(fit_length(x, 4), x[:4])
    padded = fit_length(x, 12)
    assert padded.shape == (12,) and torch.equal(padded[10:], torch.zeros(2))


def test_silence_gives_finite_features() -> None:
    features = LogMelFrontend()(torch.zeros(1, 80000))
    assert torch.isfinite(features).all()


@pytest.mark.parametrize("seconds", [1.0, 5.0, 7.5])
def test_any_length_becomes_one_clip(seconds: float) -> None:
    n = int(16000 * seconds)
    features = LogMelFrontend(FeatureConfig())(torch.from_numpy(np.random.randn(1, n).astype("f4")))
    assert features.shape == (1, 1, 256, 1024)
