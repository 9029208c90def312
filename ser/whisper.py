"""Whisper-base family: Whisper's log-mel front end, its encoder built from torch.nn layers, and
an emotion head over a learned softmax-weighted sum of the pooled hidden states."""

import math
from contextlib import AbstractContextManager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from torchaudio.transforms import MelSpectrogram

from ser.config import WhisperFeatureConfig, WhisperModelConfig
from ser.family import ModelFamily
from ser.features import fit_length


class WhisperFrontend(nn.Module):
    """(batch, samples) at 16 kHz, cut/zero-padded to the 5 s window (not to Whisper's 30 s) ->
    (batch, 80, 500) log-mel: Slaney mel of the power STFT, log10, clamp at max - 8, (x + 4) / 4."""

    def __init__(self, config: WhisperFeatureConfig = WhisperFeatureConfig()) -> None:
        super().__init__()
        self.config = config
        self.melspec = MelSpectrogram(
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            n_mels=config.n_mels,
            f_min=0.0,
            f_max=config.sample_rate / 2,
            power=2.0,
            norm="slaney",
            mel_scale="slaney",
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Log-mel frames of each window; always float32, the clamp per window."""
        if waveform.ndim == 1:
            waveform = waveform.unsqueeze(0)
        with torch.autocast(device_type=waveform.device.type, enabled=False):
            waveform = fit_length(waveform.float(), self.config.clip_samples)
            mel = self.melspec(waveform)[..., :-1]  # Whisper drops the last STFT frame
            log_mel = mel.clamp(min=1e-10).log10()
            peak = log_mel.amax(dim=(-2, -1), keepdim=True)
            return (torch.maximum(log_mel, peak - 8.0) + 4.0) / 4.0


class WhisperEncoder(nn.Module):
    """Whisper's audio encoder: two GELU convolutions, sinusoid positions, pre-LayerNorm blocks.

    Returns every hidden state, (layers + 1, batch, positions, width); the last one after the
    final LayerNorm, as Whisper's own output."""

    def __init__(self, config: WhisperModelConfig = WhisperModelConfig()) -> None:
        super().__init__()
        width = config.width
        self.conv1 = nn.Conv1d(config.n_mels, width, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(width, width, kernel_size=3, stride=2, padding=1)
        self.register_buffer("positions", torch.zeros(config.max_positions, width))
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                width,
                config.heads,
                config.ff_width,
                dropout=0.0,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(config.layers)
        )
        self.layer_norm = nn.LayerNorm(width)

    def embed(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Hidden state 0: the convolutions' output plus the sinusoid positions."""
        x = F.gelu(self.conv1(log_mel))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        if x.shape[1] > self.positions.shape[0]:
            raise ValueError(f"input longer than {self.positions.shape[0]} encoder positions")
        return x + self.positions[: x.shape[1]].to(x.dtype)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        x = self.embed(log_mel)
        states = [x]
        for layer in self.layers:
            x = layer(x)
            states.append(x)
        states[-1] = self.layer_norm(x)
        return torch.stack(states)


class WhisperHead(nn.Module):
    """Pooled statistics (B, layers + 1, 2 * width) -> logits: standardised with training-set
    statistics, then a softmax-weighted sum over layers and a small MLP ("mlp"), or one linear
    layer over every layer's statistics ("linear")."""

    def __init__(self, config: WhisperModelConfig, kind: str) -> None:
        super().__init__()
        self.kind = kind
        states, stats = config.layers + 1, 2 * config.width
        # Training-set statistics of the pooled features, so that layers weigh alike.
        self.register_buffer("feature_mean", torch.zeros(states, stats))
        self.register_buffer("feature_std", torch.ones(states, stats))
        if kind == "linear":
            self.head = nn.Sequential(
                nn.Flatten(),
                nn.Dropout(config.dropout),
                nn.Linear(states * stats, config.num_classes),
            )
            return
        self.layer_logits = nn.Parameter(torch.zeros(states))
        self.head = nn.Sequential(
            nn.LayerNorm(stats),
            nn.Dropout(config.dropout),
            nn.Linear(stats, config.hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.num_classes),
        )

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        normed = (pooled.float() - self.feature_mean) / self.feature_std
        if self.kind == "mlp":
            normed = torch.einsum("bls,l->bs", normed, self.layer_logits.softmax(dim=0))
            return self.head(normed)
        # A product and a sum per row, not a matrix product (whose kernel depends on the batch
        # size): a window's logits never depend on the batch it is scored in.
        flat, linear = self.head[:-1](normed), self.head[-1]
        return (flat.unsqueeze(1) * linear.weight).sum(dim=-1) + linear.bias


class WhisperEmotionNet(nn.Module):
    """Log-mel (B, 80, frames) -> logits: encoder, mean+std of each hidden state over time, then
    one head per `config.head_kinds`; several heads (an ensemble of trained runs) average their
    probabilities, returned as log-probabilities."""

    def __init__(self, config: WhisperModelConfig = WhisperModelConfig()) -> None:
        super().__init__()
        self.config = config
        self.encoder = WhisperEncoder(config)
        self.heads = nn.ModuleList(WhisperHead(config, kind) for kind in config.head_kinds)
        # Set by the fast path (fast_network below): the encoder's matrices are held in
        # this dtype and its products autocast to it; the residual stream stays fp32.
        self.compute_dtype: torch.dtype | None = None

    def _compute_precision(self, device: torch.device) -> AbstractContextManager:
        """Autocast to `compute_dtype` on `device`, or nothing (fp32) when it is unset."""
        if self.compute_dtype is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=self.compute_dtype)

    def states(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Every hidden state (layers + 1, B, positions, width), fp32."""
        with self._compute_precision(log_mel.device):
            return self.encoder(log_mel.float())

    def pooled(self, log_mel: torch.Tensor) -> torch.Tensor:
        """(B, layers + 1, 2 * width) mean and standard deviation of each hidden state."""
        return statistics(self.states(log_mel))

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits from pooled features (what training on cached features calls)."""
        if len(self.heads) == 1:
            return self.heads[0](pooled)
        log_probs = torch.stack([head(pooled).log_softmax(dim=-1) for head in self.heads])
        return torch.logsumexp(log_probs, dim=0) - math.log(len(self.heads))

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pooled(log_mel))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object) -> None:
        # Files written before heads became a list hold one head's tensors at the top level.
        for key in [k for k in state_dict if k.startswith(prefix)]:
            name = key[len(prefix) :]
            if name.split(".")[0] in ("feature_mean", "feature_std", "layer_logits", "head"):
                state_dict[f"{prefix}heads.0.{name}"] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args)


def statistics(states: torch.Tensor) -> torch.Tensor:
    """Hidden states (L, B, positions, width) -> (B, L, 2 * width) fp32 mean and std over time."""
    states = states.float()
    mean = states.mean(dim=2, keepdim=True)
    # Squared deviations by hand: torch.std over the middle dimension is ~20x slower.
    std = (states - mean).square_().mean(dim=2).sqrt_()
    return torch.cat([mean.squeeze(2), std], dim=-1).transpose(0, 1)


def fast_network(net: WhisperEmotionNet, dtype: torch.dtype) -> WhisperEmotionNet:
    """The encoder's weight matrices in `dtype` and its products autocast to it; biases,
    LayerNorms, positions, the residual stream, pooling and head stay fp32 (rounding those too
    moved probabilities 30 % further from fp32 at no gain in speed)."""
    if dtype != torch.float32:
        for param in net.encoder.parameters():
            if param.ndim > 1:
                param.data = param.data.to(dtype)
        net.compute_dtype = dtype
    return net


WHISPER = ModelFamily(
    name="whisper",
    feature_config=WhisperFeatureConfig,
    model_config=WhisperModelConfig,
    frontend=WhisperFrontend,
    network=WhisperEmotionNet,
    fast_network=fast_network,
    input_in_compute_dtype=False,
    encoder_heads=True,
)
