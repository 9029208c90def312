"""Silero VAD (the `silero-vad` wheel's ONNX model through onnxruntime), run incrementally on
16 kHz audio, and the speech gate built on its chunk probabilities."""

from collections import deque
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np

from ser.errors import SerError

SAMPLE_RATE = 16000
CHUNK = 512  # samples per VAD step at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous chunk the model sees before each new one


@dataclass(frozen=True)
class VadConfig:
    """A chunk is speech when its probability exceeds `threshold`; a window is speech when at
    least `min_speech_share` of its chunks are (chosen on data: docs/performance.md)."""

    threshold: float = 0.7
    min_speech_share: float = 0.1


def silero_model_path() -> Path:
    """`silero_vad.onnx` inside the installed wheel (the package itself is never imported:
    its import sets torch's thread count)."""
    try:
        path = Path(str(distribution("silero-vad").locate_file("silero_vad/data/silero_vad.onnx")))
    except PackageNotFoundError as exc:
        raise SerError("the silero-vad package is not installed (pip install silero-vad)") from exc
    if not path.is_file():
        raise SerError(f"silero-vad is installed but {path} is missing")
    return path


class SileroVad:
    """Speech probability per 512-sample chunk, carrying the model state and a 64-sample
    context across calls, so feeding audio in pieces equals feeding it whole."""

    def __init__(self, model_path: Path | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path or silero_model_path()), options, providers=["CPUExecutionProvider"]
        )
        self._rate = np.array(SAMPLE_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Forget all audio seen so far."""
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._rest = np.zeros(0, np.float32)

    def update(self, samples: np.ndarray) -> np.ndarray:
        """Feed 16 kHz mono samples; returns the probabilities of the chunks they complete."""
        data = np.concatenate([self._rest, np.asarray(samples, np.float32)])
        count = data.size // CHUNK
        self._rest = data[count * CHUNK :]
        probs = np.empty(count, np.float32)
        for i in range(count):
            chunk = data[i * CHUNK : (i + 1) * CHUNK]
            frame = np.concatenate([self._context, chunk])[None, :]
            out, self._state = self._session.run(
                None, {"input": frame, "state": self._state, "sr": self._rate}
            )
            probs[i] = out.item()
            self._context = chunk[-CONTEXT:]
        return probs


class SpeechGate:
    """The speech gate on Silero's chunk probabilities (like silero-vad's VADIterator, fed one
    hop at a time): a window is speech when at least `min_speech_share` of its chunks lie above
    `threshold`; `speaking` when the newest hop's chunks pass the same share."""

    def __init__(self, window_samples: int, config: VadConfig = VadConfig()) -> None:
        self.config = config
        self._flags: deque[bool] = deque(maxlen=max(1, window_samples // CHUNK))
        self.speaking = False

    def add(self, probs: np.ndarray) -> None:
        """Record the chunk probabilities of the newest hop (no chunks: `speaking` holds)."""
        flags = np.asarray(probs) > self.config.threshold
        self._flags.extend(flags.tolist())
        if flags.size:
            self.speaking = self._passes(float(flags.mean()))

    @property
    def speech_share(self) -> float:
        """Share of the window's chunks that are speech (a window not yet full counts its
        missing chunks as non-speech)."""
        return sum(self._flags) / self._flags.maxlen

    @property
    def is_speech(self) -> bool:
        """The window's verdict: enough speech anywhere in it."""
        return self._passes(self.speech_share)

    def _passes(self, share: float) -> bool:
        return share >= self.config.min_speech_share
