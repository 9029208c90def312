"""Choose the label smoother's settings on validation streams (never on test speakers).

    python -m training.tune_smoother --checkpoint model.pt [--write]

Replays the validation speakers' streams once through the live worker, then re-smooths the
window probabilities with each setting of the grid and prints smoothed-label macro-F1 beside
the raw window label's (alpha 1 with margin 0 is the raw label, so the best never scores
below it). `--write` stores the best setting in the model file, where every command's
smoother takes it from."""

import argparse
import dataclasses
import itertools
import sys

import numpy as np

from ser.bundle import resolve_checkpoint
from ser.checkpoint import load_checkpoint, update_meta
from ser.cli_support import run_command
from ser.predictor import Predictor
from streaming.events import WindowEvent
from streaming.postprocess import LabelSmoother, SmootherConfig
from streaming.worker import WorkerConfig
from training.evaluate import EvalOptions, build_datamodule
from training.stream_eval import macro_f1, replay_streams, scored_windows
from training.streams import build_streams

PROG = "tune_smoother"
ALPHAS = (0.2, 0.35, 0.5, 0.7, 1.0)
MARGINS = (0.0, 0.04, 0.08, 0.15)


def resmooth(events: list[WindowEvent], labels: tuple[str, ...], config: SmootherConfig) -> list:
    """The smoothed label each event would carry under `config`."""
    smoother = LabelSmoother(labels, config)
    return [
        smoother.update(np.array([e.probs[n] for n in labels]) if e.speech else None)
        for e in events
    ]


def tune(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("--data", default="ravdess", help="data config name: ravdess, cremad")
    parser.add_argument("--root", help="corpus folder (default: the data config's root)")
    parser.add_argument("--hop", type=float, default=1.0, help="window hop, s")
    parser.add_argument(
        "--num-workers", type=int, help="data loader workers (default: the data config's)"
    )
    parser.add_argument("--write", action="store_true", help="store the best setting in the file")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    tuning = parser.parse_args(argv)
    args = EvalOptions(
        tuning.checkpoint,
        tuning.data,
        tuning.root,
        split="val",
        hop=tuning.hop,
        num_workers=tuning.num_workers,
        overrides=tuple(tuning.overrides),
    )
    checkpoint = resolve_checkpoint(args.checkpoint)
    predictor = Predictor(load_checkpoint(checkpoint))
    items = getattr(build_datamodule(args).split, args.split)
    replays = replay_streams(predictor, build_streams(items), WorkerConfig(args.hop))
    labels = predictor.labels
    raw = scored_windows(replays, labels)
    print(
        f"{args.split} streams, raw window label: macro-F1 {macro_f1(raw.truth, raw.label, labels)}"
    )
    best = None
    for alpha, margin in itertools.product(ALPHAS, MARGINS):
        config = SmootherConfig(alpha, margin)
        smoothed = [resmooth(events, labels, config) for _, events in replays]
        scored = scored_windows(replays, labels, smoothed)
        score = macro_f1(scored.truth, scored.smoothed, labels)["macro_f1"]
        print(f"alpha {alpha:<5} switch_margin {margin:<5} smoothed macro-F1 {score}")
        if best is None or score > best[0]:
            best = (score, config)
    print(f"best: {best[1]} (smoothed macro-F1 {best[0]})")
    if tuning.write:
        update_meta(checkpoint, {"smoother": dataclasses.asdict(best[1])})
        print(f"{checkpoint}: smoother settings stored")
    return 0


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_command(PROG, lambda: tune(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
