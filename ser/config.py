"""Feature and model hyper-parameters; the defaults are the seed design."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class FeatureConfig:
    """Log-mel front end: 16 kHz clips cut/padded to 5 s, resized to a 256 x 1024 image."""

    sample_rate: int = 16000
    clip_seconds: float = 5.0
    n_fft: int = 1024
    win_length: int = 768
    hop_length: int = 64
    n_mels: int = 256
    f_min: float = 60.0
    f_max: float = 8000.0
    top_db: float = 60.0
    noise_trim_db: float = 7.0
    image_height: int = 256
    image_width: int = 1024

    @property
    def clip_samples(self) -> int:
        """Samples in one clip."""
        return round(self.sample_rate * self.clip_seconds)


@dataclass(frozen=True)
class ModelConfig:
    """CNN (1-32-64-128-256-512) + Transformer encoder (d512, 4 heads, ff 1024, 6 layers)."""

    num_classes: int = 6
    conv_channels: tuple[int, ...] = (32, 64, 128, 256, 512)
    first_kernel: int = 7
    kernel: int = 3
    pools: tuple[tuple[int, int], ...] = ((4, 1), (4, 1), (4, 1), (2, 2), (2, 2))
    num_heads: int = 4
    ff_dim: int = 1024
    num_layers: int = 6
    dropout: float = 0.1

    def __post_init__(self) -> None:
        if len(self.pools) != len(self.conv_channels):
            raise ValueError("model config: one pool per conv block is required")
        if self.conv_channels[-1] % self.num_heads:
            raise ValueError("model config: last conv channels must divide by num_heads")


@dataclass(frozen=True)
class WhisperFeatureConfig:
    """Whisper's log-mel front end: 16 kHz, n_fft 400, hop 160, 80 Slaney mels; 5 s windows."""

    sample_rate: int = 16000
    clip_seconds: float = 5.0
    n_fft: int = 400
    hop_length: int = 160
    n_mels: int = 80

    @property
    def clip_samples(self) -> int:
        """Samples in one window."""
        return round(self.sample_rate * self.clip_seconds)


@dataclass(frozen=True)
class WhisperModelConfig:
    """Whisper-base encoder (width 512, 8 heads, ff 2048, 6 layers) and the emotion head."""

    num_classes: int = 6
    n_mels: int = 80
    width: int = 512
    heads: int = 8
    ff_width: int = 2048
    layers: int = 6
    max_positions: int = 1500
    # "mlp": softmax-weighted sum of the layers, then an MLP of `hidden` units; "linear": one
    # linear layer over every layer's statistics (the frozen-encoder probe's shape). Kinds
    # joined by "+" (e.g. "mlp+linear") are an ensemble of trained runs' heads on the one
    # encoder, averaging their probabilities (`python -m training.ensemble`).
    head: str = "mlp"
    hidden: int = 256
    dropout: float = 0.2

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.head_kinds if kind not in ("mlp", "linear")]
        if unknown:
            raise ValueError(f"unknown Whisper head {unknown[0]!r} (known: mlp, linear)")

    @property
    def head_kinds(self) -> tuple[str, ...]:
        """One entry per head: a single head, or an ensemble's members."""
        return tuple(self.head.split("+"))


AnyFeatureConfig = FeatureConfig | WhisperFeatureConfig
AnyModelConfig = ModelConfig | WhisperModelConfig


def to_plain(config: AnyFeatureConfig | AnyModelConfig) -> dict[str, Any]:
    """Dataclass to a dict of JSON/weights_only-safe values (tuples become lists)."""
    return _listify(asdict(config))


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_listify(v) for v in value]
    return value
