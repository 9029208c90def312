"""The seed network: CNN over the log-mel image, Transformer encoder over time, linear head."""

import torch
from torch import nn

from ser.config import AnyFeatureConfig, AnyModelConfig, FeatureConfig, ModelConfig, family_of
from ser.features import LogMelFrontend
from ser.whisper import WhisperEmotionNet, WhisperFrontend


def _conv_block(c_in: int, c_out: int, kernel: int, pool: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=pool, stride=pool),
    )


class EmotionNet(nn.Module):
    """Log-mel image (B, 1, F, T) -> class logits (B, classes); no softmax inside."""

    def __init__(self, config: ModelConfig = ModelConfig()) -> None:
        super().__init__()
        self.config = config
        blocks, c_in = [], 1
        for i, (c_out, pool) in enumerate(zip(config.conv_channels, config.pools, strict=True)):
            kernel = config.first_kernel if i == 0 else config.kernel
            blocks.append(_conv_block(c_in, c_out, kernel, pool))
            c_in = c_out
        self.cnn = nn.Sequential(*blocks)
        layer = nn.TransformerEncoderLayer(
            d_model=c_in,
            nhead=config.num_heads,
            dim_feedforward=config.ff_dim,
            dropout=config.dropout,
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=config.num_layers, enable_nested_tensor=False
        )
        self.head = nn.Linear(c_in, config.num_classes)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of log-mel images."""
        maps = self.cnn(image)  # (B, C, F', T'); F' is 1 for the seed sizes
        sequence = maps.mean(dim=2).transpose(1, 2)  # (B, T', C)
        encoded = self.encoder(sequence)
        return self.head(encoded.mean(dim=1))


class SerModel(nn.Module):
    """Front end + network of one family: (B, samples) 16 kHz waveforms -> (B, classes) logits.

    The configs' types pick the family: the seed CNN + Transformer or the Whisper-base one."""

    def __init__(
        self, features: AnyFeatureConfig = FeatureConfig(), model: AnyModelConfig = ModelConfig()
    ) -> None:
        super().__init__()
        self.family = family_of(model)
        if family_of(features) != self.family:
            raise ValueError("feature and model configs belong to different families")
        if self.family == "whisper":
            self.frontend: nn.Module = WhisperFrontend(features)
            self.net: nn.Module = WhisperEmotionNet(model)
        else:
            self.frontend = LogMelFrontend(features)
            self.net = EmotionNet(model)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of waveforms."""
        return self.net(self.frontend(waveform))
