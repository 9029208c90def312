"""Stream evaluation, the product's headline metric: each held-out speaker's clips joined into
one long recording (training/streams.py) and played through the live worker, as fast as
possible; the window events lying wholly inside one emotion block are scored."""

import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torchmetrics.functional.classification import multiclass_f1_score
from tqdm import tqdm

from ser.errors import SerError
from ser.labels import EMOTIONS
from ser.predictor import Predictor
from streaming.archive import default_workers, score_files
from streaming.events import WindowEvent
from streaming.sources import AudioArray
from streaming.worker import WorkerConfig
from training.noise import NoiseMixer, snr_db
from training.streams import Stream, window_truth

SAMPLE_RATE = 16000


@dataclass
class ScoredWindows:
    """Per scored window: the true class, the window label and the smoothed label, each a
    class index or -1 for silence (no emotion claimed)."""

    truth: list[int]
    label: list[int]
    smoothed: list[int]


def with_noise(streams: list[Stream], noise: NoiseMixer) -> list[Stream]:
    """The streams with noise mixed into each whole recording, at the mixer's SNR against the
    recording's speech (quiet blocks end up below it, loud ones above)."""
    return [replace(s, audio=noise(samples=s.audio, sample_rate=SAMPLE_RATE)) for s in streams]


def block_snrs(clean: list[Stream], heard: list[Stream]) -> dict[str, Any]:
    """Each emotion block's own SNR in noisy streams: median and share under 5 dB, overall
    and per class (the emotions spoken quietly are the ones the noise drowns)."""
    by_label: dict[int, list[float]] = defaultdict(list)
    for speech, noisy in zip(clean, heard, strict=True):
        for block in speech.blocks:
            span = slice(round(block.start * SAMPLE_RATE), round(block.end * SAMPLE_RATE))
            noise = noisy.audio[span] - speech.audio[span]
            by_label[block.label].append(snr_db(speech.audio[span], noise))
    every = np.concatenate([np.asarray(v) for v in by_label.values()])
    return {
        "median_db": round(float(np.median(every)), 1),
        "below_5db_share": round(float(np.mean(every < 5.0)), 4),
        "median_db_per_class": {
            EMOTIONS[k]: round(float(np.median(v)), 1) for k, v in sorted(by_label.items())
        },
    }


def replay_streams(
    predictor: Predictor, streams: list[Stream], config: WorkerConfig
) -> list[tuple[Stream, list[WindowEvent]]]:
    """Replay each stream through the live worker, as fast as possible: loader workers play
    the streams from memory while the model takes their windows in batches (streaming.archive)."""
    items = [AudioArray(f"stream{k}", s.audio, SAMPLE_RATE) for k, s in enumerate(streams)]
    scored = score_files(items, predictor, config, default_workers())
    progress = tqdm(
        scored, desc="streams", total=len(items), unit="speaker", disable=not sys.stderr.isatty()
    )
    results = {r.path: r for r in progress}
    out = []
    for item, stream in zip(items, streams, strict=True):
        if results[item.name].error is not None:
            raise SerError(results[item.name].error)
        out.append((stream, results[item.name].windows))
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
