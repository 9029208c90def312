"""Ship a trained run: half-precision weights into ser/assets, evaluated as shipped.

    python -m training.ship runs/<date>/<time>/model.pt

Writes `ser/assets/ser-whisper-base.pt` (fp16, loaded by default by every command), then runs
the test-split evaluation — clips, the noise-robustness table and streams — on that very file
into `docs/model-card/`, and records the clean test numbers in the file's metadata."""

import argparse
import json
import sys
from pathlib import Path

import torch

from ser.bundle import shipped_model_path
from ser.checkpoint import load_checkpoint, save_checkpoint
from ser.cli_support import run_command
from training.build import load_source
from training.evaluate import evaluate, parse_args

PROG = "ship"


def ship(run_model: Path, card_dir: Path, data_root: str | None) -> int:
    model, labels, source_meta = load_source(run_model)
    target = shipped_model_path()
    meta = {**source_meta, "name": target.name, "source": str(run_model)}
    save_checkpoint(target, model, labels, meta=meta, half=True)
    shipped = load_checkpoint(target)
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
