"""`ser-test`: evaluate a ser checkpoint on a corpus split; JSON report + confusion PNG."""

import argparse
import sys
from pathlib import Path

import lightning as L
from hydra import compose, initialize_config_module

from ser.bundle import resolve_checkpoint
from ser.checkpoint import load_checkpoint
from ser.cli_support import run_command
from ser.errors import SerError
from training.build import datamodule_from_config
from training.module import EmotionClassifier
from training.report import build_report, format_report, write_report

PROG = "ser-test"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("--data", default="ravdess", help="data config name: ravdess, cremad")
    parser.add_argument("--root", help="corpus folder (default: the data config's root)")
    parser.add_argument("--split", choices=("test", "val"), default="test")
    parser.add_argument("--output-dir", type=Path, default=Path("eval"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--num-workers", type=int, default=2)
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--cpu", dest="accelerator", action="store_const", const="cpu")
    device.add_argument("--gpu", dest="accelerator", action="store_const", const="gpu")
    parser.set_defaults(accelerator="auto")
    parser.add_argument(
        "overrides", nargs="*", help="extra Hydra overrides, e.g. data.split.kind=fraction"
    )
    return parser.parse_args(argv)


def evaluate(args: argparse.Namespace) -> int:
    checkpoint_path = resolve_checkpoint(args.checkpoint)
    checkpoint = load_checkpoint(checkpoint_path)
    overrides = [
        f"data={args.data}",
        f"data.batch_size={args.batch_size}",
        f"data.num_workers={args.num_workers}",
        *args.overrides,
    ]
    if args.root:
        overrides.append(f"data.root={args.root}")
    try:
        with initialize_config_module("training.conf", version_base="1.3"):
            cfg = compose("config", overrides=overrides)
    except Exception as exc:  # Hydra raises several types for a bad override or group name
        raise SerError(f"bad data option: {exc}") from exc
    datamodule = datamodule_from_config(cfg)
    datamodule.eval_stage = args.split
    module = EmotionClassifier.from_checkpoint(checkpoint)
    trainer = L.Trainer(
        accelerator=args.accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    metrics = trainer.test(module, datamodule=datamodule, verbose=False)[0]
    report = build_report(
        metrics,
        module.test_results,
        checkpoint=str(checkpoint_path),
        corpus=cfg.data.corpus,
        split=args.split,
        speakers=sorted(datamodule.split.speakers(args.split)),
    )
    write_report(report, args.output_dir)
    print(format_report(report))
    print(
        f"report: {args.output_dir / 'report.json'}  confusion: "
        f"{args.output_dir / 'confusion_matrix.png'}"
    )
    return 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: evaluate(parse_args(argv))))
