"""Ship a trained run: half-precision weights into ser/assets, evaluated as shipped.

    python -m training.ship runs/<date>/<time>/model.pt

First checks the fp16 file's bf16 fast path against eager fp32 on the validation clips and
refuses (leaving the shipped file as it was, the test split unread) when they disagree. Then
writes `ser/assets/ser-whisper-base.pt` (fp16, loaded by default by every command), runs the
test-split evaluation — clips, the noise-robustness table and streams — on that very file
into `docs/model-card/`, and records the clean test numbers in the file's metadata."""

import argparse
import json
import os
import sys
from pathlib import Path

import torch

from ser.bundle import shipped_model_path
from ser.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ser.cli_support import run_command
from ser.errors import SerError
from ser.predictor import fast_path_parity
from training.build import load_source
from training.cached_data import clip_window
from training.evaluate import build_datamodule, evaluate, parse_args

PROG = "ship"


def check_fast_path(candidate: Checkpoint, data_root: str | None) -> None:
    """SerError unless the fast path passes `Parity.ok` on the validation clips."""
    args = parse_args(["--split", "val", *(["--root", data_root] if data_root else [])])
    clips = build_datamodule(args).split.val
    size = candidate.features.clip_samples
    windows = torch.stack([clip_window(u.path, size) for u in clips])
    parity = fast_path_parity(candidate, windows)
    print(f"fast path vs fp32 on {parity.windows} validation clips: {parity}")
    if not parity.ok:
        raise SerError(
            f"not shipped: the bf16 fast path disagrees with fp32 on the validation clips "
            f"(labels agree on {parity.agreement:.1%}, {parity.wide_flips} label flip(s) beyond a "
            f"near-tie, max |Δp| {parity.max_delta:.3f}); the shipped model is unchanged"
        )


def ship(run_model: Path, card_dir: Path, data_root: str | None) -> int:
    model, labels, source_meta = load_source(run_model)
    target = shipped_model_path()
    meta = {**source_meta, "name": target.name, "source": str(run_model)}
    staged = target.with_name(f"{target.name}.candidate")
    try:
        save_checkpoint(staged, model, labels, meta=meta, half=True)
        shipped = load_checkpoint(staged)
        check_fast_path(shipped, data_root)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    probe = torch.randn(4, shipped.features.clip_samples) * 0.1
    with torch.no_grad():
        diff = (model.eval()(probe).softmax(-1) - shipped.model(probe).softmax(-1)).abs().max()
    print(f"{target}: {target.stat().st_size / 2**20:.1f} MiB, fp16 vs fp32 max |Δp| {diff:.2e}")
    argv = ["--checkpoint", str(target), "--output-dir", str(card_dir), "--robustness", "--streams"]
    if data_root:
        argv += ["--root", data_root]
    evaluate(parse_args(argv))
    report = json.loads((card_dir / "report.json").read_text())
    meta["test"] = {k: report[k] for k in ("accuracy", "macro_f1", "num_clips", "speakers")}
    streams = json.loads((card_dir / "streams.json").read_text())["conditions"]
    meta["test"]["streams"] = {row["condition"]: row["window_macro_f1"] for row in streams}
    save_checkpoint(target, shipped.model, shipped.labels, meta=meta, half=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("model", type=Path, help="a run's model.pt, or one of its .ckpt files")
    parser.add_argument("--card-dir", type=Path, default=Path("docs/model-card"))
    parser.add_argument("--root", help="RAVDESS folder (default: the data config's root)")
    args = parser.parse_args(argv)
    sys.exit(run_command(PROG, lambda: ship(args.model, args.card_dir, args.root)))


if __name__ == "__main__":
    main()
