"""Narrowband input: the RAVDESS test streams (`ser-test --streams`' clean condition) played
through the live path as recorded (16 kHz) and again as 8 kHz audio (telephone band), which the
worker resamples back to 16 kHz; window accuracy and macro-F1 of each. The figures behind the
warning `ser-live` and `ser-predict` give for input at 8 kHz or less.

    python -m benchmarks.narrowband [--checkpoint FILE] [--json FILE]"""

import argparse
import json
from pathlib import Path

import torch

from benchmarks.gate import RAVDESS, TEST_ACTORS
from ser.audio import resample
from ser.predictor import Predictor
from streaming.replay import replay
from streaming.sources import ArraySource
from streaming.worker import WorkerConfig
from training.corpora import scan_ravdess
from training.stream_eval import SAMPLE_RATE, scored_windows, stream_report
from training.streams import build_streams


def stream_scores(predictor: Predictor, rate: int) -> dict:
    """Window scores of the test streams played at `rate` Hz (hop 1 s, as ser-test)."""
    items = [u for u in scan_ravdess(RAVDESS) if u.speaker in TEST_ACTORS]
    replays = []
    for stream in build_streams(items):
        audio = resample(torch.from_numpy(stream.audio), SAMPLE_RATE, rate).numpy()
        windows = replay(ArraySource(audio, rate, realtime=False), predictor, WorkerConfig(1.0))
        replays.append((stream, windows.windows))
    return stream_report(scored_windows(replays, predictor.labels), predictor.labels)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.narrowband", description=__doc__)
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    predictor = Predictor.load(args.checkpoint)
    results = {}
    for rate in (SAMPLE_RATE, 8000):
        report = stream_scores(predictor, rate)
        results[rate] = {k: report[k] for k in ("windows", "window_accuracy", "window_macro_f1")}
        print(f"{rate} Hz: {results[rate]}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
