"""Session adaptation: each speech window's pooled features are re-centred on the session's
causal running mean, blended with the training mean as `prior_windows` pseudo-windows from the
first window on, so a new voice, language, microphone or room is met live without labels."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AdaptationConfig:
    """How strongly the session's own mean replaces the training mean, and when a session is
    over: after `reset_after_silence` seconds without a speech window (a new speaker may
    follow)."""

    prior_windows: float = 30.0
    reset_after_silence: float = 20.0

    @classmethod
    def from_settings(cls, settings: object) -> "AdaptationConfig | None":
        """From a model file's `adaptation` entry; None (no adaptation) when it has none."""
        if not settings:
            return None
        config = cls(**{k: float(v) for k, v in dict(settings).items()})
        if not (config.prior_windows > 0 and config.reset_after_silence > 0):
            raise ValueError(f"invalid adaptation settings {settings!r}")
        return config


def session_mean(
    total: torch.Tensor, windows: torch.Tensor | int, prior_mean: torch.Tensor, prior_windows: float
) -> torch.Tensor:
    """The blended session mean after `windows` speech windows summing to `total`."""
    return (prior_windows * prior_mean + total) / (prior_windows + windows)


def running_means(
    pooled: torch.Tensor, prior_mean: torch.Tensor, prior_windows: float
) -> torch.Tensor:
    """The session mean each row of a whole session (N, ...) sees, itself and those before it
    counted (how training computes what the live adapter computes window by window)."""
    counts = torch.arange(1, len(pooled) + 1, dtype=torch.float32)
    counts = counts.reshape(-1, *([1] * (pooled.ndim - 1)))
    return session_mean(pooled.float().cumsum(dim=0), counts, prior_mean, prior_windows)


def adapt(pooled: torch.Tensor, means: torch.Tensor, prior_mean: torch.Tensor) -> torch.Tensor:
    """Features re-centred from the session means onto the training mean."""
    return pooled.float() - means + prior_mean


class SessionAdapter:
    """The live session's running statistics over its speech windows; a speech window that
    ends more than `reset_after_silence` seconds after the last one starts a new session."""

    def __init__(self, prior_mean: torch.Tensor, config: AdaptationConfig) -> None:
        self.prior_mean = prior_mean.float().cpu()
        self.config = config
        self.reset()

    def reset(self) -> None:
        """Forget the session: the next window starts from the training mean again."""
        self.total = torch.zeros_like(self.prior_mean)
        self.windows = 0
        self.last_speech_end: float | None = None

    def _silence_before(self, end: float | None) -> float:
        """Seconds between the last speech window's end and `end` (0 when either is unknown)."""
        if end is None or self.last_speech_end is None:
            return 0.0
        return end - self.last_speech_end

    def means(
        self, pooled: torch.Tensor, speech: torch.Tensor, ends: list[float] | None = None
    ) -> torch.Tensor:
        """The session mean for each row of `pooled` in order; rows with `speech` False neither
        count nor move it (they see the mean of the speech before them). `ends`: each row's
        end in stream seconds, for the reset after silence."""
        out = torch.empty(pooled.shape, dtype=torch.float32)
        for i, row in enumerate(pooled.float().cpu()):
            if speech[i]:
                end, last = None if ends is None else ends[i], self.last_speech_end
                if (
                    end is not None
                    and last is not None
                    and end - last > self.config.reset_after_silence
                ):
                    self.reset()
                self.total = self.total + row
                self.windows += 1
                self.last_speech_end = end
            out[i] = session_mean(
                self.total, self.windows, self.prior_mean, self.config.prior_windows
            )
        return out
