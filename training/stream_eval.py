"""Stream evaluation, the product's headline metric: each held-out speaker's clips joined into
one long recording (training/streams.py) and played through the live worker, as fast as
possible; the window events lying wholly inside one emotion block are scored."""

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from torchmetrics.functional.classification import multiclass_f1_score
from tqdm import tqdm

from ser.predictor import Predictor
from streaming.events import WindowEvent
from streaming.replay import replay
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from training.corpora import Utterance
from training.noise import NoiseMixer
from training.streams import Stream, StreamSpec, build_streams, window_truth

SAMPLE_RATE = 16000


@dataclass
class ScoredWindows:
    """Per scored window: the true class, the window label and the smoothed label, each a
    class index or -1 for silence (no emotion claimed)."""

    truth: list[int]
    label: list[int]
    smoothed: list[int]


def replay_streams(
    predictor: Predictor,
    items: list[Utterance],
    config: WorkerConfig,
    spec: StreamSpec = StreamSpec(),
    noise: NoiseMixer | None = None,
) -> list[tuple[Stream, list[WindowEvent]]]:
    """Build one stream per speaker of `items` and replay each through the live worker."""
    out = []
    streams = build_streams(items, spec, SAMPLE_RATE)
    progress = tqdm(streams, desc="streams", unit="speaker", disable=not sys.stderr.isatty())
    with tempfile.TemporaryDirectory() as tmp:
        for stream in progress:
            audio = stream.audio
            if noise is not None:
                audio = noise(samples=audio, sample_rate=SAMPLE_RATE)
            path = Path(tmp) / "stream.wav"
            sf.write(path, audio, SAMPLE_RATE, subtype="FLOAT")
            out.append(
                (stream, replay(FileSource(path, realtime=False), predictor, config).windows)
            )
    return out


def scored_windows(
    replays: list[tuple[Stream, list[WindowEvent]]],
    labels: tuple[str, ...],
    smoothed: list[list[str | None]] | None = None,
) -> ScoredWindows:
    """The windows lying wholly inside one block; `smoothed` replaces the events' own smoothed
    labels (one list per stream) when given, e.g. to try other smoother settings."""
    index = {name: i for i, name in enumerate(labels)}
    scored = ScoredWindows([], [], [])
    for k, (stream, events) in enumerate(replays):
        for i, event in enumerate(events):
            truth = window_truth(stream.blocks, event.start, event.end)
            if truth is None:
                continue
            scored.truth.append(truth)
            scored.label.append(index.get(event.label, -1))
            label = event.smoothed if smoothed is None else smoothed[k][i]
            scored.smoothed.append(index.get(label, -1))
    return scored


def macro_f1(truth: list[int], predicted: list[int], labels: tuple[str, ...]) -> dict[str, Any]:
    """Macro-F1 over the classes present in `truth` (silence, -1, is a wrong answer for every
    class), accuracy, and per-class F1."""
    n = len(labels)
    if not truth:
        return {"macro_f1": None, "accuracy": None, "per_class_f1": {}}
    t = torch.tensor(truth)
    p = torch.tensor(predicted).where(torch.tensor(predicted) >= 0, torch.tensor(n))
    per_class = multiclass_f1_score(p, t, num_classes=n + 1, average="none")[:n]
    present = torch.bincount(t, minlength=n)[:n] > 0
    return {
        "macro_f1": round(float(per_class[present].mean()), 4),
        "accuracy": round(float((p == t).float().mean()), 4),
        "per_class_f1": {labels[i]: round(float(per_class[i]), 4) for i in range(n) if present[i]},
    }


def stream_report(scored: ScoredWindows, labels: tuple[str, ...]) -> dict[str, Any]:
    """Window and smoothed-label scores, the score on the windows the gate let through, and
    the share of silent windows inside speech."""
    window = macro_f1(scored.truth, scored.label, labels)
    gated = [(t, p) for t, p in zip(scored.truth, scored.label, strict=True) if p >= 0]
    passed = macro_f1([t for t, _ in gated], [p for _, p in gated], labels)
    silent = float(np.mean([p < 0 for p in scored.label])) if scored.label else None
    return {
        "windows": len(scored.truth),
        "window_macro_f1": window["macro_f1"],
        "window_accuracy": window["accuracy"],
        "smoothed_macro_f1": macro_f1(scored.truth, scored.smoothed, labels)["macro_f1"],
        "gated_macro_f1": passed["macro_f1"],
        "silent_share": None if silent is None else round(silent, 4),
        "per_class_f1": window["per_class_f1"],
    }
