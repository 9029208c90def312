"""Cut the bundled demo recording from RAVDESS (CC BY-NC-SA 4.0, Livingstone & Russo 2018):
one test-split actor saying both statements in four emotions, three clips per emotion, each
trimmed to its speech, joined with short pauses and written as 16 kHz mono Ogg/Opus.

    python tools/make_demo.py ../shared/data/ravdess ser/assets/demo-ravdess.opus"""

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
ACTOR = 20  # the first female actor of the test split (19-24): never seen in training
# (RAVDESS emotion code, intensity) in the order played; neutral has no strong intensity.
BLOCKS = (("01", "01"), ("03", "02"), ("05", "02"), ("04", "02"))
CLIPS = (("01", "01"), ("02", "01"), ("01", "02"))  # (statement, repetition) per block
PAUSE_SECONDS = 0.25


def speech_span(audio: np.ndarray, floor_db: float = -30.0, pad_seconds: float = 0.1) -> slice:
    """From the first to the last 20 ms frame within `floor_db` of the loudest, padded."""
    frame = RATE // 50
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = np.flatnonzero(level > level.max() + floor_db)
    pad = round(pad_seconds * RATE)
    return slice(max(0, loud[0] * frame - pad), min(len(audio), (loud[-1] + 1) * frame + pad))


def clip_path(root: Path, emotion: str, intensity: str, statement: str, repetition: str) -> Path:
    name = f"03-01-{emotion}-{intensity}-{statement}-{repetition}-{ACTOR:02d}.flac"
    return root / f"Actor_{ACTOR:02d}" / name


def make_demo(root: Path) -> np.ndarray:
    """The demo's samples, 16 kHz mono float32."""
    pause = np.zeros(round(PAUSE_SECONDS * RATE), np.float32)
    parts = []
    for emotion, intensity in BLOCKS:
        for statement, repetition in CLIPS:
            audio, rate = sf.read(clip_path(root, emotion, intensity, statement, repetition),
                                  dtype="float32")  # fmt: skip
            assert rate == RATE and audio.ndim == 1, "the shared RAVDESS copy is 16 kHz mono"
            parts += [audio[speech_span(audio)], pause]
    return np.concatenate(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ravdess", type=Path, help="the RAVDESS folder (Actor_NN/*.flac)")
    parser.add_argument("output", type=Path, help="the .opus file to write")
    args = parser.parse_args()
    audio = make_demo(args.ravdess)
    sf.write(args.output, audio, RATE, format="OGG", subtype="OPUS")
    size = args.output.stat().st_size
    print(f"{args.output}: {len(audio) / RATE:.1f} s, {size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
