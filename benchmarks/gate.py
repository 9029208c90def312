"""Speech-gate benchmark: held-out speech (RAVDESS actors 19-24 when ../shared/data is there,
and espeak-ng voices) alternating with non-speech at speech-like levels, played through the
live path; misses and false alarms over windows lying wholly inside one segment, per kind.

    python -m benchmarks.gate [--json FILE]   (also part of ser-bench)"""

import argparse
import itertools
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ser.audio import load_waveform
from ser.predictor import Predictor
from ser.vad import CHUNK, SileroVad, SpeechGate, VadConfig
from streaming.replay import replay
from streaming.sources import ArraySource
from streaming.worker import WorkerConfig
from training.synthetic_audio import (
    NON_SPEECH,
    RATE,
    SENTENCES,
    Span,
    at_level,
    espeak,
    inside,
    join_segments,
    non_speech,
)

RAVDESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "ravdess"
TEST_ACTORS = ("19", "20", "21", "22", "23", "24")
LEVELS = (-30.0, -24.0, -18.0)
VOICES = ("en", "en-us+f3", "en+m3", "en-gb+f2")
GRID_THRESHOLDS = (0.5, 0.6, 0.7, 0.8)
GRID_SHARES = (0.05, 0.1, 0.2, 0.3)


def speech_segments(ravdess: Path = RAVDESS) -> list[tuple[str, np.ndarray]]:
    """(source, audio) speech segments: three clips of one test actor with 0.1-0.6 s pauses,
    and espeak-ng voices reading two sentences each."""
    rng = np.random.default_rng(0)
    segments = []
    for actor in TEST_ACTORS if ravdess.is_dir() else ():
        clips = sorted((ravdess / f"Actor_{actor}").glob("03-01-0[1345678]-*.flac"))
        for start in (0, len(clips) // 2):
            parts = []
            for clip in clips[start : start + 3]:
                parts += [np.zeros(int(rng.uniform(0.1, 0.6) * RATE), np.float32)]
                parts += [load_waveform(clip, RATE).numpy()]
            segments.append(("ravdess", np.concatenate(parts[1:])))
    for i, voice in enumerate(VOICES):
        text = SENTENCES[i % len(SENTENCES)] + " " + SENTENCES[(i + 1) % len(SENTENCES)]
        segments.append(("espeak", at_level(espeak(text, voice), -22.0)))
    return segments


def recording(seconds: float = 12.0) -> tuple[np.ndarray, list[Span]]:
    """Speech and non-speech segments alternating; returns the audio and (kind, start, end)."""
    speech = speech_segments()
    others = [(k, lv) for lv in LEVELS for k in NON_SPEECH]
    segments = []
    for i, (kind, level) in enumerate(others):
        source, voice = speech[i % len(speech)]
        segments += [
            (f"speech ({source})", voice),
            (kind, non_speech(kind, seconds, level, seed=i)),
        ]
    return join_segments(segments)


def tally(decisions: list[tuple[str, bool]]) -> dict[str, Any]:
    """Per kind: windows and the share wrongly decided (speech unlabelled / other labelled)."""
    per_kind: dict[str, list[bool]] = defaultdict(list)
    for kind, labelled in decisions:
        per_kind[kind].append(labelled)
    out = {}
    for kind, flags in sorted(per_kind.items()):
        wrong = [not f for f in flags] if kind.startswith("speech") else flags
        out[kind] = {"windows": len(flags), "error_share": round(float(np.mean(wrong)), 4)}
    speech = [not f for k, f in decisions if k.startswith("speech")]
    other = [f for k, f in decisions if not k.startswith("speech")]
    return {
        "misses": round(float(np.mean(speech)), 4) if speech else None,
        "false_alarms": round(float(np.mean(other)), 4) if other else None,
        "per_kind": out,
    }


def grid(audio: np.ndarray, spans: list, window_samples: int, hop: float) -> list[dict]:
    """Misses and false alarms of the speech gate at other (threshold, speech share) settings,
    fed the same VAD chunk probabilities hop by hop, as the worker feeds it (for choosing the
    defaults)."""
    probs = SileroVad().update(audio)
    window = window_samples / RATE
    rows = []
    for threshold, share in itertools.product(GRID_THRESHOLDS, GRID_SHARES):
        gate, fed, decisions = SpeechGate(window_samples, VadConfig(threshold, share)), 0, []
        for end in np.arange(window, audio.size / RATE, hop):
            upto = round(end * RATE) // CHUNK
            gate.add(probs[fed:upto])
            fed = upto
            if (kind := inside(spans, end - window, end)) is not None:
                decisions.append((kind, gate.is_speech))
        t = tally(decisions)
        rows.append({"threshold": threshold, "speech_share": share, **
                     {k: t[k] for k in ("misses", "false_alarms")}})  # fmt: skip
    return rows


def gate_benchmark(predictor: Predictor, hop: float = 1.0) -> dict[str, Any]:
    """The live path's misses and false alarms per kind, the VAD's cost, and the grid."""
    audio, spans = recording()
    started = time.perf_counter()
    SileroVad().update(audio)
    vad_ms_per_s = (time.perf_counter() - started) * 1000 / (audio.size / RATE)
    source = ArraySource(audio, RATE, "gate recording", realtime=False)
    events = replay(source, predictor, WorkerConfig(hop)).windows
    decisions = [
        (kind, e.label is not None)
        for e in events
        if (kind := inside(spans, e.start, e.end)) is not None
    ]
    return {
        "audio_seconds": round(audio.size / RATE, 1),
        "vad": {"threshold": VadConfig.threshold, "min_speech_share": VadConfig.min_speech_share},
        "vad_ms_per_audio_second": round(vad_ms_per_s, 2),
        **tally(decisions),
        "grid": grid(audio, spans, predictor.window_samples, hop),
    }


def print_gate(result: dict[str, Any]) -> None:
    print(
        f"speech gate ({result['audio_seconds']} s, VAD {result['vad']}): misses "
        f"{result['misses']:.1%}, false alarms {result['false_alarms']:.1%}; VAD costs "
        f"{result['vad_ms_per_audio_second']} ms per second of audio"
    )
    for kind, row in result["per_kind"].items():
        what = "missed" if kind.startswith("speech") else "labelled"
        print(f"  {kind:<18} {row['windows']:>4} windows, {row['error_share']:.1%} {what}")
    print("  threshold / speech share -> misses, false alarms:")
    for row in result["grid"]:
        print(
            f"    {row['threshold']:.2f} / {row['speech_share']:.2f} -> "
            f"{row['misses']:.1%}, {row['false_alarms']:.1%}"
        )
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gate", description=__doc__)
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    result = gate_benchmark(Predictor.load(args.checkpoint))
    print_gate(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
