"""The seed family: a normalised log-mel image, a CNN over it, a Transformer encoder over time
and a linear head."""

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torchaudio.transforms import AmplitudeToDB, MelSpectrogram

from ser.config import FeatureConfig, ModelConfig
from ser.family import ModelFamily
from ser.features import fit_length


class LogMelFrontend(nn.Module):
    """(batch, samples) at 16 kHz -> (batch, 1, 256, 1024) normalised log-mel images."""

    def __init__(self, config: FeatureConfig = FeatureConfig()) -> None:
        super().__init__()
        self.config = config
        self.melspec = MelSpectrogram(
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            win_length=config.win_length,
            hop_length=config.hop_length,
            f_min=config.f_min,
            f_max=config.f_max,
            n_mels=config.n_mels,
            power=2.0,
        )
        self.to_db = AmplitudeToDB(stype="power", top_db=config.top_db)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Features for a batch of waveforms; always computed in float32."""
        if waveform.ndim == 1:
            waveform = waveform.unsqueeze(0)
        with torch.autocast(device_type=waveform.device.type, enabled=False):
            clip = fit_length(waveform.float(), self.config.clip_samples).unsqueeze(1)
            # (B, 1, mels, frames): keeps AmplitudeToDB's top_db clamp per clip, not per batch.
            spec = self.to_db(self.melspec(clip))
            floor = spec.amin(dim=(-2, -1), keepdim=True) + self.config.noise_trim_db
            spec = torch.maximum(spec, floor)
            size = (self.config.image_height, self.config.image_width)
            spec = F.interpolate(spec, size=size, mode="bilinear", align_corners=False)
            mean = spec.mean(dim=(-2, -1), keepdim=True)
            std = spec.std(dim=(-2, -1), keepdim=True)
            return (spec - mean) / (std + 1e-5)


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


class ChannelsLastMaxPool(nn.Module):
    """Non-overlapping max-pool as a reshape + amax over a channels-last map: the same values
    as nn.MaxPool2d, and several times faster than it on CPU for these shapes."""

    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        size = pool.kernel_size
        self.kh, self.kw = size if isinstance(size, tuple) else (size, size)
        if pool.stride not in (size, (self.kh, self.kw)) or pool.padding not in (0, (0, 0)):
            raise ValueError("only non-overlapping, unpadded pools are supported")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        h, w = h // self.kh * self.kh, w // self.kw * self.kw
        nhwc = x[:, :, :h, :w].permute(0, 2, 3, 1)
        blocks = nhwc.reshape(b, h // self.kh, self.kh, w // self.kw, self.kw, c)
        return blocks.amax(dim=(2, 4)).permute(0, 3, 1, 2)


def fast_network(net: EmotionNet, dtype: torch.dtype) -> EmotionNet:
    """BatchNorm folded into the convolutions, a channels-last max-pool moved before the ReLU
    (they commute, so fewer elements), weights in `dtype`, channels-last."""
    for i, (conv, norm, relu, pool) in enumerate(net.cnn):
        net.cnn[i] = nn.Sequential(fuse_conv_bn_eval(conv, norm), ChannelsLastMaxPool(pool), relu)
    return net.to(dtype=dtype, memory_format=torch.channels_last)


def _model_fields(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Lists from a plain dict back to the config's tuples."""
    if "conv_channels" in kwargs:
        kwargs["conv_channels"] = tuple(int(c) for c in kwargs["conv_channels"])
    if "pools" in kwargs:
        kwargs["pools"] = tuple((int(a), int(b)) for a, b in kwargs["pools"])
    return kwargs


SEED = ModelFamily(
    name="seed",
    feature_config=FeatureConfig,
    model_config=ModelConfig,
    frontend=LogMelFrontend,
    network=EmotionNet,
    fast_network=fast_network,
    input_in_compute_dtype=True,
    encoder_heads=False,
    restore_model_fields=_model_fields,
)
