"""Evaluation of a ser checkpoint (ser-test) on a corpus split; JSON report + confusion PNG,
optionally with added white or babble noise, or the whole noise-robustness table."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from hydra import compose, initialize_config_module

from ser.bundle import resolve_checkpoint
from ser.checkpoint import load_checkpoint
from ser.errors import SerError
from ser.predictor import Predictor
from streaming.predict_dist import ACCELERATORS
from streaming.worker import WorkerConfig
from training.build import datamodule_from_config
from training.datamodule import EmotionDataModule
from training.module import EmotionClassifier
from training.noise import NoiseMixer
from training.report import build_report, format_report, write_report
from training.stream_eval import (
    block_snrs,
    replay_streams,
    scored_windows,
    stream_report,
    with_noise,
)
from training.streams import build_streams

ROBUSTNESS_SNRS = (20.0, 10.0, 5.0)


@dataclass(frozen=True)
class EvalOptions:
    """What ser-test scores and how (its options, one field each)."""

    checkpoint: str | None = None
    data: str = "ravdess"
    root: str | None = None
    split: str = "test"  # test, val or all (the whole corpus)
    streams: bool = False
    hop: float = 1.0
    adapt: bool = True
    output_dir: Path = Path("eval")
    noise: str | None = None  # white or babble
    snr: float = 10.0
    robustness: bool = False
    batch_size: int | None = None  # None: the data config's
    num_workers: int | None = None
    compute: str = "auto"  # auto, cpu or cuda
    overrides: tuple[str, ...] = ()


def build_datamodule(args: EvalOptions) -> EmotionDataModule:
    """The data module of the named data config, with the user's root and loader sizes."""
    overrides = [f"data={args.data}", *args.overrides]
    for name in ("batch_size", "num_workers"):
        if getattr(args, name) is not None:
            overrides.append(f"data.{name}={getattr(args, name)}")
    if args.root:
        overrides.append(f"data.root={args.root}")
    try:
        with initialize_config_module("training.conf", version_base="1.3"):
            cfg = compose("config", overrides=overrides)
    except Exception as exc:  # Hydra raises several types for a bad override or group name
        raise SerError(f"bad data option: {exc}") from exc
    datamodule = datamodule_from_config(cfg)
    datamodule.eval_stage = args.split
    datamodule.setup("test")
    return datamodule


def noise_mixer(kind: str, snr: float, datamodule: EmotionDataModule) -> NoiseMixer:
    """White noise, or babble from training-split speakers (never the evaluated ones)."""
    pool = [u.path for u in datamodule.split.train]
    return NoiseMixer(kind, snr, babble_pool=pool)


def run_condition(
    args: EvalOptions,
    checkpoint: Path,
    datamodule: EmotionDataModule,
    module: EmotionClassifier,
    noise: tuple[str, float] | None,
) -> dict[str, Any]:
    """One evaluation pass; returns its report."""
    datamodule.eval_noise = noise_mixer(*noise, datamodule) if noise else None
    trainer = L.Trainer(
        accelerator=ACCELERATORS[args.compute],
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=sys.stderr.isatty(),
    )
    metrics = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    return build_report(
        metrics,
        module.test_results,
        checkpoint=str(checkpoint),
        corpus=datamodule.corpus,
        split=args.split,
        speakers=sorted(datamodule.split.speakers(args.split)),
        noise=None if noise is None else {"kind": noise[0], "snr_db": noise[1]},
    )


def robustness_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: condition, accuracy, macro-F1."""
    lines = ["| condition | accuracy | macro-F1 |", "| --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['condition']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} |")
    return "\n".join(lines)


def streams_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of the stream conditions."""
    lines = [
        "| condition | windows | window macro-F1 | window acc | smoothed macro-F1 "
        "| gated macro-F1 | silent windows | blocks' SNR: median, share < 5 dB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = ("window_macro_f1", "window_accuracy", "smoothed_macro_f1", "gated_macro_f1")
    for r in rows:
        scores = " | ".join("—" if r[k] is None else f"{r[k]:.3f}" for k in keys)
        silent = "—" if r["silent_share"] is None else f"{r['silent_share']:.1%}"
        snr = r["block_snr"]
        snr = "—" if snr is None else f"{snr['median_db']:.1f} dB, {snr['below_5db_share']:.0%}"
        lines.append(f"| {r['condition']} | {r['windows']} | {scores} | {silent} | {snr} |")
    return "\n".join(lines)


def evaluate_streams(
    args: EvalOptions, checkpoint: Path, datamodule: EmotionDataModule
) -> list[dict[str, Any]]:
    """Stream scores per condition, through the live worker path; streams.json + .md."""
    predictor = Predictor(load_checkpoint(checkpoint), args.compute, adapt=args.adapt)
    items = getattr(datamodule.split, args.split)
    conditions: list[tuple[str, float] | None] = [None]
    if args.split != "all":
        conditions += [("babble", 10.0), ("white", 10.0)]
    rows = []
    clean = build_streams(items)
    for noise in conditions:
        heard = with_noise(clean, noise_mixer(*noise, datamodule)) if noise else clean
        replays = replay_streams(predictor, heard, WorkerConfig(args.hop))
        scored = scored_windows(replays, predictor.labels)
        name = "clean" if noise is None else f"{noise[0]} {noise[1]:g} dB"
        snrs = block_snrs(clean, heard) if noise else None
        rows.append(
            {"condition": name, **stream_report(scored, predictor.labels), "block_snr": snrs}
        )
        print(f"streams {name}: window macro-F1 {rows[-1]['window_macro_f1']}", flush=True)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    meta = {"checkpoint": str(checkpoint), "corpus": datamodule.corpus, "split": args.split}
    (args.output_dir / "streams.json").write_text(
        json.dumps({**meta, "conditions": rows}, indent=2)
    )
    (args.output_dir / "streams.md").write_text(streams_table(rows) + "\n")
    print(streams_table(rows))
    return rows


def evaluate(args: EvalOptions) -> int:
    checkpoint = resolve_checkpoint(args.checkpoint)
    module = EmotionClassifier.from_checkpoint(load_checkpoint(checkpoint))
    datamodule = build_datamodule(args)
    if args.robustness:
        evaluate_robustness(args, checkpoint, datamodule, module)
    else:
        noise = (args.noise, args.snr) if args.noise else None
        report = run_condition(args, checkpoint, datamodule, module, noise)
        write_report(report, args.output_dir)
        print(format_report(report))
        print(
            f"report: {args.output_dir / 'report.json'}  confusion: "
            f"{args.output_dir / 'confusion_matrix.png'}"
        )
    if args.streams:
        evaluate_streams(args, checkpoint, datamodule)
    return 0


def evaluate_robustness(
    args: EvalOptions,
    checkpoint: Path,
    datamodule: EmotionDataModule,
    module: EmotionClassifier,
) -> None:
    """Clean, white and babble at each SNR: report.json (clean) and robustness.json/.md."""
    rows = []
    conditions = [None] + [(k, s) for k in ("white", "babble") for s in ROBUSTNESS_SNRS]
    for noise in conditions:
        report = run_condition(args, checkpoint, datamodule, module, noise)
        name = "clean" if noise is None else f"{noise[0]} {noise[1]:g} dB"
        rows.append(
            {"condition": name, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"]}
        )
        if noise is None:
            write_report(report, args.output_dir)
        print(
            f"{name:<16} accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}",
            flush=True,
        )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "robustness.json").write_text(json.dumps(rows, indent=2))
    (args.output_dir / "robustness.md").write_text(robustness_table(rows) + "\n")
    print(robustness_table(rows))
