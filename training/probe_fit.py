"""The linear probe: multinomial logistic regression over standardised pooled features, fitted
full-batch by a plain `torch.optim.LBFGS` loop with per-row weights, an L2 penalty and a
penalty on the fast path's rounding."""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ser.errors import SerError
from ser.whisper import WhisperHead


@dataclass(frozen=True)
class Probe:
    """Standardisation and the linear layer: logits = ((x - mean) / std) @ weight.T + bias."""

    mean: torch.Tensor  # (layers + 1, 2 * width)
    std: torch.Tensor
    weight: torch.Tensor  # (classes, (layers + 1) * 2 * width)
    bias: torch.Tensor

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """(N, layers + 1, 2 * width) pooled (or adapted) features -> (N, classes)."""
        z = ((features.float() - self.mean) / self.std).flatten(1)
        return z @ self.weight.T + self.bias


def floored_std(features: torch.Tensor) -> torch.Tensor:
    """Per-feature spread floored at a tenth of its layer's median: a few statistics barely
    vary, and dividing by their spread would turn bf16 rounding into label flips."""
    std = features.float().std(dim=0)
    return std.clamp(min=0.1 * std.median(dim=-1, keepdim=True).values)


def fit_probe(
    features: torch.Tensor,
    labels: torch.Tensor,
    row_weights: torch.Tensor,
    mean: torch.Tensor,
    l2: float,
    rounding_variance: torch.Tensor | None,
    rounding_penalty: float,
    classes: int,
    iterations: int,
) -> Probe:
    """Fit on (N, layers + 1, 2 * width) features standardised around `mean`: weighted
    cross-entropy (weights normalised to mean 1) + l2 * |W|^2 + rounding_penalty * sum_j
    var_j |W_j|^2, where var_j is the fast path's rounding variance of feature j in standardised
    units; `rounding_variance` is per feature in raw units, bf16-minus-fp32 squared."""
    std = floored_std(features)
    z = ((features.float() - mean) / std).flatten(1)
    w_rows = row_weights.float() / row_weights.float().mean()
    penalty = torch.full((z.shape[1],), l2)
    if rounding_variance is not None and rounding_penalty:
        penalty = penalty + rounding_penalty * (rounding_variance / std.pow(2)).flatten()
    weight = torch.zeros(classes, z.shape[1], requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        nll = F.cross_entropy(z @ weight.T + bias, labels, reduction="none")
        value = (nll * w_rows).mean() + (weight.pow(2) * penalty).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return Probe(mean.float(), std, weight.detach(), bias.detach())


def head_probe(head: WhisperHead) -> Probe:
    """A linear head (WhisperHead of kind "linear") as a probe."""
    if head.kind != "linear":
        raise SerError("only a linear head is a probe")
    linear = head.head[-1]
    return Probe(
        head.feature_mean.float(),
        head.feature_std.float(),
        linear.weight.detach().float(),
        linear.bias.detach().float(),
    )


@torch.no_grad()
def set_head(head: WhisperHead, probe: Probe) -> None:
    """Write a fitted probe into a linear head."""
    if head.kind != "linear":
        raise SerError("a probe is fitted into a linear head (model.head=linear)")
    head.feature_mean.copy_(probe.mean)
    head.feature_std.copy_(probe.std)
    head.head[-1].weight.copy_(probe.weight)
    head.head[-1].bias.copy_(probe.bias)
