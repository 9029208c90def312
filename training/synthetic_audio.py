"""Synthetic audio for benchmarks and tests: espeak-ng speech, speech-like harmonic bursts, and
non-speech at speech-like levels (white, pink and brown noise, a music loop, keyboard clicks,
mains hum, silence), joined into recordings with known segments."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from ser.audio import load_waveform

RATE = 16000
NON_SPEECH = ("white", "pink", "brown", "music", "clicks", "hum", "silence")
Span = tuple[str, float, float]  # a segment's kind, start and end in seconds
SENTENCES = (
    "The weather was lovely today and we walked along the river for hours.",
    "I told you three times already, put the keys back where they belong!",
    "Nobody called me back, and now the whole trip is ruined.",
    "Could you please pass the salt and the pepper to the other end of the table?",
)


def espeak(text: str, voice: str = "en", rate: int = RATE) -> np.ndarray:
    """Speech from espeak-ng at `rate`; RuntimeError when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        return load_waveform(path, rate).numpy()


def speech_like(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Harmonic bursts with pauses and noise: exercises the gate and the model."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.3 * t)
    voice = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / rate) / k for k in range(1, 6))
    envelope = (np.sin(2 * np.pi * 0.25 * t) > -0.3).astype(np.float32)
    return (0.2 * voice * envelope + 0.003 * rng.standard_normal(t.size)).astype(np.float32)


def at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    """`x` scaled to an RMS level of `dbfs`."""
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12
    return (x * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def _coloured(seconds: float, exponent: float, rng: np.random.Generator) -> np.ndarray:
    n = round(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0)
    return np.fft.irfft(spectrum / freqs ** (exponent / 2), n)


def non_speech(kind: str, seconds: float, dbfs: float = -24.0, seed: int = 0) -> np.ndarray:
    """One non-speech segment of `kind` (see NON_SPEECH) at about `dbfs` RMS."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    if kind == "silence":
        return np.zeros(n, np.float32)
    if kind in ("white", "pink", "brown"):
        x = _coloured(seconds, {"white": 0, "pink": 1, "brown": 2}[kind], rng)
    elif kind == "music":  # a chord loop (I-vi-IV-V) with tremolo
        chords = ((261.6, 329.6, 392.0), (220.0, 261.6, 329.6), (174.6, 220.0, 261.6),
                  (196.0, 246.9, 293.7))  # fmt: skip
        step = (t // 1.0).astype(int) % len(chords)
        x = sum(np.sin(2 * np.pi * np.array(chords)[step, k] * t) for k in range(3))
        x = x * (0.75 + 0.25 * np.sin(2 * np.pi * 5 * t))
    elif kind == "clicks":  # key presses: short decaying bursts at irregular times
        x = np.zeros(n)
        for start in np.cumsum(rng.uniform(0.08, 0.3, size=int(seconds * 8))):
            i = int(start * RATE)
            if i + 160 < n:
                x[i : i + 160] += rng.standard_normal(160) * np.exp(-np.arange(160) / 30)
    elif kind == "hum":  # mains hum with harmonics and a little air noise
        x = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 2, 3, 5))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        raise ValueError(f"unknown non-speech kind {kind!r}")
    return at_level(np.asarray(x, np.float64), dbfs)


def join_segments(
    segments: list[tuple[str, np.ndarray]], rate: int = RATE
) -> tuple[np.ndarray, list[Span]]:
    """(kind, audio) segments one after another: the float32 audio and each segment's span."""
    spans, t = [], 0.0
    for kind, audio in segments:
        spans.append((kind, t, t + audio.size / rate))
        t += audio.size / rate
    return np.concatenate([a for _, a in segments]).astype(np.float32), spans


def inside(spans: list[Span], start: float, end: float) -> str | None:
    """The kind of the segment that wholly contains [start, end], if one does."""
    return next((k for k, s, e in spans if s <= start and end <= e), None)


def speech_recording(path: Path, seconds: float) -> None:
    """Speech (four espeak-ng sentences and voices at -22 dBFS, each followed by 1.5-4.5 s of
    faint room noise) repeated to `seconds`, written to `path`."""
    cycle = []
    for i, text in enumerate(SENTENCES):
        cycle += [at_level(espeak(text, ("en", "en+f3", "en+m3", "en-us")[i]), -22.0)]
        cycle += [non_speech("pink", 1.5 + i, -55.0, seed=i)]
    loop = np.concatenate(cycle)
    total = round(seconds * RATE)
    with sf.SoundFile(str(path), "w", RATE, 1, subtype="PCM_16") as out:
        for start in range(0, total, loop.size):
            out.write(loop[: min(loop.size, total - start)])
