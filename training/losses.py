"""Class-weighted focal loss on logits."""

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """mean over the batch of w[y] * (1 - p_y)^gamma * -log p_y, normalised by sum of w[y]."""

    def __init__(self, num_classes: int, gamma: float, label_smoothing: float) -> None:
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", torch.ones(num_classes))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        ce = F.cross_entropy(logits, target, reduction="none", label_smoothing=self.label_smoothing)
        p_true = logits.softmax(dim=-1).gather(1, target[:, None]).squeeze(1)
        w = self.weight[target]
        return (w * (1.0 - p_true).pow(self.gamma) * ce).sum() / w.sum()
