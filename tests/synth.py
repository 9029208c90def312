"""Synthetic audio and corpus folders for tests (no real data needed)."""

import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

from ser.labels import EMOTIONS
from training.synthetic_audio import SENTENCES, at_level, espeak, join_segments

RAVDESS_EMOTION_CODES = ("05", "07", "06", "03", "01", "04")  # CREMA-D order
CREMAD_EMOTION_CODES = ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")


def tone(
    freq: float, seconds: float, rate: int = 16000, amp: float = 0.3, seed: int = 0
) -> np.ndarray:
    """A sine with a little noise, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def class_clip(label: int, seconds: float = 1.5, rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A clip whose pitch depends on the class, so a tiny model can learn it."""
    return tone(250.0 * (label + 1), seconds, rate, seed=seed)


def write(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, rate)
    return path


def make_cremad(root: Path, actors: int = 10, per_class: int = 2) -> Path:
    """`root/AudioWAV/10AA_SEN_EMO_XX.wav` for `actors` actors."""
    for a in range(actors):
        for label, code in enumerate(CREMAD_EMOTION_CODES):
            for k in range(per_class):
                name = f"{1001 + a}_S{k:02d}_{code}_XX.wav"
                write(root / "AudioWAV" / name, class_clip(label, seed=a * 100 + k))
    return root


def make_ravdess(
    root: Path, actors: int = 24, per_class: int = 1, suffix: str = ".flac", seconds: float = 1.5
) -> Path:
    """`root/Actor_NN/03-01-EE-01-01-RR-NN.flac`, plus unused calm/surprised clips."""
    codes = (*RAVDESS_EMOTION_CODES, "02", "08")
    for a in range(1, actors + 1):
        for index, code in enumerate(codes):
            for rep in range(1, per_class + 1):
                name = f"03-01-{code}-01-01-{rep:02d}-{a:02d}{suffix}"
                write(
                    root / f"Actor_{a:02d}" / name,
                    class_clip(index % len(EMOTIONS), seconds, seed=a + rep),
                )
    return root


SEGMENTS = (("silence", 3.0), ("speech", None), ("silence", 3.0), ("noise", 4.0), ("silence", 2.0))


def speech(rate: int = 16000, sentences: int = 2) -> np.ndarray:
    """espeak-ng sentences at about -22 dBFS; skips the calling test without espeak-ng."""
    import pytest

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (speech for the gate tests)")
    return at_level(np.concatenate([espeak(t, rate=rate) for t in SENTENCES[:sentences]]), -22)


def segments(rate: int = 16000) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """The SEGMENTS stream and its (kind, start, end) spans: silent spans are exact zeros,
    speech is espeak-ng, noise is white at -24 dBFS."""
    rng = np.random.default_rng(1)
    parts = []
    for kind, seconds in SEGMENTS:
        if kind == "silence":
            part = np.zeros(round(seconds * rate), np.float32)
        elif kind == "speech":
            part = speech(rate)
        else:
            part = (0.063 * rng.standard_normal(round(seconds * rate))).astype(np.float32)
        parts.append((kind, part))
    return join_segments(parts, rate)
