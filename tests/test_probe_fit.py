"""The linear probe: one plain torch.optim.LBFGS fit of a convex objective."""

import pytest
import torch
import torch.nn.functional as F

from ser.config import WhisperModelConfig
from ser.errors import SerError
from ser.whisper import WhisperHead
from training.probe_fit import fit_probe, head_probe, set_head


def separable_set() -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed-seed (60, 2, 4) features of three classes that one feature tells apart."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(60) % 3
    features = torch.randn(60, 2, 4, generator=generator) * 0.1
    features[:, 0, 0] += labels.float() * 2
    return features, labels


def test_probe_fit_reaches_the_minimum_of_its_convex_objective() -> None:
    features, labels = separable_set()
    row_weights = torch.ones(60)
    row_weights[labels == 0] = 2.0
    l2 = 1e-2
    probe = fit_probe(features, labels, row_weights, features.mean(0), l2, None, 0.0, 3, 200)
    assert (probe.logits(features).argmax(1) == labels).all()
    # The objective is strictly convex (L2): its one minimum is where the gradient vanishes.
    weight, bias = probe.weight.clone().requires_grad_(), probe.bias.clone().requires_grad_()
    z = ((features - probe.mean) / probe.std).flatten(1)
    nll = F.cross_entropy(z @ weight.T + bias, labels, reduction="none")
    w = row_weights / row_weights.mean()
    loss = (nll * w).mean() + l2 * weight.square().sum()
    loss.backward()
    assert weight.grad.abs().max() < 1e-4 and bias.grad.abs().max() < 1e-4
    # The outer classes lean on the separating feature, opposite ways.
    assert probe.weight[0, 0] < -1 and probe.weight[2, 0] > 1


def test_a_probe_goes_into_a_linear_head_and_back() -> None:
    features, labels = separable_set()
    probe = fit_probe(features, labels, torch.ones(60), features.mean(0), 1e-3, None, 0.0, 3, 50)
    config = WhisperModelConfig(num_classes=3, width=2, layers=1, head="linear", dropout=0.0)
    head = WhisperHead(config, "linear").eval()
    set_head(head, probe)
    with torch.no_grad():
        assert torch.allclose(head(features), probe.logits(features), atol=1e-5)
    assert torch.equal(head_probe(head).weight, probe.weight)
    with pytest.raises(SerError, match="linear head"):
        set_head(WhisperHead(config, "mlp"), probe)
