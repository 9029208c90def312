"""Ship a trained run: half-precision weights into ser/assets, evaluated as shipped.

    python -m training.ship runs/<date>/<time>/model.pt

Writes the fp16 candidate beside `ser/assets/ser-whisper-base.pt` (the file every command
loads by default) and first checks its bf16 fast path against eager fp32 on the validation
clips, refusing (the test split unread) when they disagree. Then runs the test-split evaluation
— clips, the noise-robustness table and streams — on that very file, records the clean test
numbers in its metadata, and only then moves it and the card into place (`docs/model-card/`);
on any failure the shipped file and card stay as they were."""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

from ser.bundle import shipped_model_path
from ser.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ser.cli_support import run_command
from ser.errors import SerError
from training.build import load_source
from training.cached_data import clip_window
from training.evaluate import EvalOptions, build_datamodule, evaluate
from training.parity import fast_path_parity

PROG = "ship"


def check_fast_path(candidate: Checkpoint, data_root: str | None) -> None:
    """SerError unless the fast path passes `Parity.ok` on the validation clips."""
    clips = build_datamodule(EvalOptions(root=data_root, split="val")).split.val
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
    """Write a candidate beside the shipped file, check and evaluate it (model card into a
    temporary folder), then move card and file into place; any failure leaves both as they were."""
    model, labels, source_meta = load_source(run_model)
    target = shipped_model_path()
    meta = {**source_meta, "name": target.name, "source": str(run_model)}
    staged = target.with_name(f"{target.name}.candidate")
    card_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix=".card-", dir=card_dir.parent) as tmp:
            outputs = Path(tmp)
            save_checkpoint(staged, model, labels, meta=meta, half=True)
            candidate = load_checkpoint(staged)
            check_fast_path(candidate, data_root)
            probe = torch.randn(4, candidate.features.clip_samples) * 0.1
            with torch.no_grad():
                fp32, fp16 = model.eval()(probe), candidate.model(probe)
                diff = (fp32.softmax(-1) - fp16.softmax(-1)).abs().max()
            size = staged.stat().st_size / 2**20
            print(f"{target}: {size:.1f} MiB, fp16 vs fp32 max |Δp| {diff:.2e}")
            meta["test"] = evaluate_test_split(staged, outputs, data_root)
            save_checkpoint(staged, candidate.model, candidate.labels, meta=meta, half=True)
            publish_card(outputs, card_dir, {str(staged): str(target)})
            os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return 0


def evaluate_test_split(checkpoint: Path, outputs: Path, data_root: str | None) -> dict:
    """Evaluate `checkpoint` on the test split (clips, robustness, streams) into `outputs`; the
    clean clip and per-condition stream scores."""
    evaluate(
        EvalOptions(
            str(checkpoint), root=data_root, output_dir=outputs, robustness=True, streams=True
        )
    )
    report = json.loads((outputs / "report.json").read_text())
    test = {k: report[k] for k in ("accuracy", "macro_f1", "num_clips", "speakers")}
    streams = json.loads((outputs / "streams.json").read_text())["conditions"]
    return {**test, "streams": {row["condition"]: row["window_macro_f1"] for row in streams}}


def publish_card(outputs: Path, card_dir: Path, renames: dict[str, str]) -> None:
    """Move the evaluation's files into `card_dir`, naming the file as shipped in its texts."""
    card_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(outputs.iterdir()):
        if path.suffix in (".json", ".md"):
            text = path.read_text()
            for old, new in renames.items():
                text = text.replace(old, new)
            path.write_text(text)
        os.replace(path, card_dir / path.name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("model", type=Path, help="a run's model.pt, or one of its .ckpt files")
    parser.add_argument("--card-dir", type=Path, default=Path("docs/model-card"))
    parser.add_argument("--root", help="RAVDESS folder (default: the data config's root)")
    args = parser.parse_args(argv)
    sys.exit(run_command(PROG, lambda: ship(args.model, args.card_dir, args.root)))


if __name__ == "__main__":
    main()
