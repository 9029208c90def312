"""Batched inference on 16 kHz windows: the fast path (folded BatchNorm, channels-last, bf16
where the hardware has it, near-ties recomputed in fp32) by default, eager fp32 with
`precision="fp32"`; session adaptation and calibrated confidence where the model file has
them."""

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ser.adaptation import AdaptationConfig, SessionAdapter, adapt
from ser.audio import resample, to_mono
from ser.bundle import resolve_checkpoint
from ser.calibration import Calibration, distances
from ser.checkpoint import Checkpoint, load_checkpoint
from ser.errors import AudioError, CheckpointError
from ser.features import fit_length
from ser.model import family_of
from ser.runtime import precision_name, select_device, select_dtype
from ser.windowing import SpeechWindows, Windowing, file_speech_windows


def inference_net(net: nn.Module, dtype: torch.dtype) -> nn.Module:
    """A copy for inference: the fast path of the network's family in `dtype`."""
    return family_of(net.config).fast_network(copy.deepcopy(net).eval(), dtype)


LABEL_BATCH = 256  # windows cut from a recording at once (80 MB of 5 s windows)


class Predictor:
    """Class probabilities for batches of waveform windows, on GPU when there is one.

    In bf16, a window whose two best classes lie within `tie_margin` (uncalibrated
    probabilities) is recomputed in fp32, so its label is the fp32 reference's (only for speech
    windows: a gated-out window has no label); `recomputed` counts those windows. A model file
    with `adaptation` re-centres each window on its session's running mean (`adapt=False` turns
    it off); one with `calibration` divides the logits by a temperature that grows with the
    session's unfamiliarity."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        device: str = "auto",
        precision: str = "auto",
        max_batch: int | None = None,
        tie_margin: float = 0.01,
        adapt: bool = True,
        name: str = "model",
    ) -> None:
        self.labels = checkpoint.labels
        self.sample_rate = checkpoint.features.sample_rate
        self.window_samples = checkpoint.features.clip_samples
        self.device = select_device(device)
        self.dtype = select_dtype(self.device, precision)
        # CPU: batches of 4 are fastest per window (docs/performance.md); rows never depend
        # on their batch (tests/test_fast_path.py).
        self.max_batch = max_batch or (64 if self.device.type == "cuda" else 4)
        self.name = name
        # The label smoother's settings chosen for this model (training.tune_smoother --write).
        self.smoother_settings = checkpoint.meta.get("smoother")
        model = checkpoint.model.eval()
        self.family = model.family
        # Own copies: the checkpoint's modules are never moved or shared.
        self.frontend = copy.deepcopy(model.frontend).to(self.device)
        # precision="fp32" is the eager reference; otherwise the fast copy (fp32 on CPUs
        # without bf16).
        eager = precision == "fp32"
        net = copy.deepcopy(model.net).eval() if eager else inference_net(model.net, self.dtype)
        self.net = net.to(self.device)
        self.tie_margin = tie_margin if self.dtype != torch.float32 else 0.0
        self.reference_net = (
            inference_net(model.net, torch.float32).to(self.device) if self.tie_margin else None
        )
        self._input_dtype = self.dtype if self.family.input_in_compute_dtype else torch.float32
        self.windows = self.recomputed = 0
        self._session_settings(checkpoint, adapt)

    def _session_settings(self, checkpoint: Checkpoint, adapt: bool) -> None:
        """Adaptation and calibration from the model file (CheckpointError when invalid)."""
        meta = checkpoint.meta
        try:
            adaptation = AdaptationConfig.from_settings(meta.get("adaptation"))
            self.calibration = Calibration.from_settings(meta.get("calibration"))
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{self.name}: invalid adaptation or calibration") from exc
        if (adaptation or self.calibration) and not self.family.encoder_heads:
            raise CheckpointError(
                f"{self.name}: session settings need a model with heads on encoder features"
            )
        self.adapting = adapt and adaptation is not None
        # Familiarity is measured with the default prior where the file does not adapt.
        self.session_config = adaptation or AdaptationConfig()
        self.uncertain_below = self.calibration.uncertain_below if self.calibration else 0.0
        head = checkpoint.model.net.heads[0] if adaptation or self.calibration else None
        self._standard = None if head is None else (head.feature_mean, head.feature_std)

    def new_session(self) -> SessionAdapter | None:
        """The running statistics one stream needs (None when the model file uses none)."""
        if self._standard is None:
            return None
        return SessionAdapter(self._standard[0], self.session_config)

    @classmethod
    def load(
        cls, path: str | Path | None = None, device: str = "auto", precision: str = "auto", **kw
    ) -> "Predictor":
        """From a checkpoint file, or the shipped model when `path` is None."""
        resolved = resolve_checkpoint(path)
        return cls(load_checkpoint(resolved), device, precision, name=resolved.name, **kw)

    @property
    def description(self) -> str:
        """Short text for status lines: device and precision."""
        return f"{self.device.type.upper()} {precision_name(self.dtype)}"

    @torch.inference_mode()
    def probabilities(
        self,
        windows: torch.Tensor | np.ndarray,
        speech: np.ndarray | None = None,
        sessions: list[SessionAdapter | None] | None = None,
        ends: list[float] | None = None,
        calibrated: bool = True,
    ) -> np.ndarray:
        """(N, samples) 16 kHz windows -> (N, classes) float32 probabilities. `speech` (N bools,
        default all): the windows the gate passes, whose near-ties are recomputed in fp32 and
        which count in their session; `sessions` (one per row; default: each window a session
        of its own, as a clip is) with `ends` (stream seconds) for the reset after silence;
        `calibrated=False`: the plain softmax of the logits, without the file's calibration."""
        batch = torch.as_tensor(windows, dtype=torch.float32)
        if batch.ndim == 1:
            batch = batch.unsqueeze(0)
        wanted = torch.ones(len(batch), dtype=torch.bool)
        if speech is not None:
            wanted = torch.as_tensor(speech, dtype=torch.bool)
        out = []
        for first in range(0, len(batch), self.max_batch):
            rows = slice(first, first + self.max_batch)
            chunk, chunk_wanted = batch[rows], wanted[rows]
            features = self.frontend(chunk.to(self.device, non_blocking=True))  # always fp32
            means = None
            if self._standard is None:
                logits, temperature = self.net(features.to(self._input_dtype)).float(), None
            else:
                pooled = self.net.pooled(features)
                means = self._session_means(
                    pooled, chunk_wanted, sessions and sessions[rows], ends and ends[rows]
                )
                logits, temperature = self._session_logits(self.net, pooled, means)
            if self.reference_net is not None:
                # Near-ties are judged before calibration: the fast path's rounding moves the
                # logits, and a high temperature would make every unfamiliar window a "tie".
                best, second = logits.softmax(dim=-1).topk(2, dim=-1).values.unbind(dim=-1)
                ties = (best - second < self.tie_margin) & chunk_wanted.to(logits.device)
                if ties.any():
                    seen = means[ties] if sessions and means is not None else None
                    logits[ties], reference_temperature = self._reference_logits(
                        features[ties], seen
                    )
                    if temperature is not None:
                        temperature[ties] = reference_temperature
                    self.recomputed += int(ties.sum())
            if calibrated and temperature is not None:
                logits = logits / temperature
            self.windows += len(chunk)
            out.append(logits.softmax(dim=-1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.labels)), np.float32)

    def _session_means(
        self,
        pooled: torch.Tensor,
        speech: torch.Tensor,
        sessions: list[SessionAdapter | None] | None,
        ends: list[float] | None,
    ) -> torch.Tensor:
        """Each row's session mean, its session's statistics moved on by the row."""
        means = torch.empty(pooled.shape, dtype=torch.float32)
        for i in range(len(pooled)):
            session = sessions[i] if sessions else None
            session = session or self.new_session()
            row_end = None if ends is None else [ends[i]]
            means[i] = session.means(pooled[i : i + 1], speech[i : i + 1], row_end)[0]
        return means.to(pooled.device)

    def _session_logits(
        self, net: nn.Module, pooled: torch.Tensor, means: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits from pooled features adapted to the session, and the calibration's
        temperature for each row (None without calibration)."""
        mean, std = (t.to(pooled.device) for t in self._standard)
        adapted = adapt(pooled, means, mean) if self.adapting else pooled
        logits = net.classify(adapted).float()
        if self.calibration is None:
            return logits, None
        familiarity = distances(pooled, means, mean, std).cpu()
        return logits, self.calibration.temperature(familiarity).to(logits.device)

    def _reference_logits(
        self, features: torch.Tensor, means: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fp32 reference's logits and temperatures of some rows, with the session means
        they saw (None: each window a session of its own, its means from the reference's
        features)."""
        if self._standard is None:
            return self.reference_net(features).float(), None
        pooled = self.reference_net.pooled(features)
        if means is None:
            speech = torch.ones(len(pooled), dtype=torch.bool)
            means = self._session_means(pooled, speech, None, None)
        return self._session_logits(self.reference_net, pooled, means)

    def classify(self, waveform: np.ndarray | torch.Tensor, sample_rate: int) -> "Classification":
        """One clip at any rate, (samples,) or (samples, channels), as ser-test scores a clip:
        down-mixed, resampled to the model's rate, its first window cut or zero-padded."""
        samples = torch.as_tensor(waveform, dtype=torch.float32)
        if samples.ndim not in (1, 2) or samples.numel() == 0:
            shape = tuple(samples.shape)
            raise AudioError(f"a clip is (samples,) or (samples, channels) audio, not {shape}")
        if not torch.isfinite(samples).all():
            raise AudioError("the clip contains NaN or infinite samples")
        if sample_rate <= 0:
            raise AudioError(f"sample rate must be positive, not {sample_rate}")
        mono = resample(to_mono(samples), int(sample_rate), self.sample_rate)
        probs = self.probabilities(fit_length(mono, self.window_samples))[0]
        return Classification.of(probs, self.labels, self.uncertain_below)

    def classify_file(self, path: str | Path, windowing: Windowing) -> "FileLabel":
        """A recording's label, as ser-predict gives it: from the mean probabilities of its
        speech windows (cut and gated as the live worker does), scored in one session
        (AudioError when it cannot be read)."""
        found = file_speech_windows(path, self.sample_rate, self.window_samples, windowing)
        return self.label_speech(found)

    def label_speech(self, found: SpeechWindows) -> "FileLabel":
        """A recording's label from its speech windows (`classify_file`'s second half)."""
        session, parts = self.new_session(), [np.zeros((0, len(self.labels)), np.float32)]
        for first in range(0, len(found), LABEL_BATCH):  # a long recording, a batch at a time
            clips = found.clips(first, first + LABEL_BATCH)
            speech = np.ones(len(clips), bool)
            ends = found.ends[first : first + LABEL_BATCH]
            parts.append(self.probabilities(clips, speech, [session] * len(clips), ends))
        probs = np.concatenate(parts)
        uncertain = probs.max(axis=1, initial=0) < self.uncertain_below
        return FileLabel.of(probs, uncertain, self.labels)


@dataclass(frozen=True)
class Classification:
    """A clip's answer: the top label, each class's probability, the top probability, and
    whether it lies below the model's uncertainty threshold (a calibrated model's)."""

    label: str
    probabilities: dict[str, float]
    confidence: float
    uncertain: bool

    @classmethod
    def of(
        cls, probs: np.ndarray, labels: tuple[str, ...], uncertain_below: float
    ) -> "Classification":
        top = int(probs.argmax())
        return cls(
            labels[top],
            {name: float(p) for name, p in zip(labels, probs, strict=True)},
            float(probs[top]),
            bool(probs[top] < uncertain_below),
        )


@dataclass(frozen=True)
class FileLabel:
    """A recording's answer: the top label of its speech windows' mean probabilities and those
    probabilities (None when no window is speech), how many windows are speech and how many of
    them uncertain."""

    label: str | None
    probabilities: dict[str, float] | None
    speech_windows: int
    uncertain_windows: int

    @classmethod
    def of(cls, probs: np.ndarray, uncertain: np.ndarray, labels: tuple[str, ...]) -> "FileLabel":
        """From the speech windows' (n, classes) probabilities and their n uncertain flags."""
        count, doubtful = len(probs), int(np.sum(uncertain))
        if not count:
            return cls(None, None, 0, doubtful)
        mean = np.asarray(probs, np.float64).mean(axis=0)
        named = {name: float(p) for name, p in zip(labels, mean, strict=True)}
        return cls(labels[int(mean.argmax())], named, count, doubtful)
