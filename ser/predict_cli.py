"""`ser-predict`: classify audio files (or folders of them) into emotion rows."""

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ser.audio import AUDIO_EXTENSIONS, load_waveform
from ser.cli_support import first_line, report_error, run_command
from ser.errors import AudioError, SerError
from ser.predictor import Predictor
from ser.records import FORMATS, RecordWriter
from ser.windows import slice_windows

PROG = "ser-predict"


def expand_paths(paths: list[str]) -> Iterator[Path]:
    """Files as given, folders searched recursively for audio; missing paths pass through."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
            )
        else:
            yield path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("paths", nargs="+", help="audio files or folders")
    parser.add_argument("--format", choices=FORMATS, help="csv or jsonl (default: from --output)")
    parser.add_argument("--output", "-o", default="-", help="output file, or - for stdout")
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("--hop", type=float, default=2.5, help="window hop for long files, s")
    parser.add_argument(
        "--batch-size", type=int, help="windows per model call (default: 64 on GPU, 1 on CPU)"
    )
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--cpu", dest="device", action="store_const", const="cpu")
    device.add_argument("--gpu", dest="device", action="store_const", const="cuda")
    parser.set_defaults(device="auto")
    return parser.parse_args(argv)


def file_row(path: Path, labels: tuple[str, ...], probs: np.ndarray) -> dict[str, object]:
    """One output row: the file, its label and the mean window probabilities."""
    mean = probs.mean(axis=0)
    row: dict[str, object] = {"path": str(path), "label": labels[int(mean.argmax())]}
    row.update({name: round(float(p), 5) for name, p in zip(labels, mean, strict=True)})
    return row


def predict(args: argparse.Namespace) -> int:
    if args.hop <= 0:
        raise SerError("--hop must be positive")
    predictor = Predictor.load(
        args.checkpoint, args.device, args.precision, max_batch=args.batch_size
    )
    window, hop = predictor.window_samples, round(args.hop * predictor.sample_rate)
    if args.format is None and args.output == "-":
        args.format = "csv"
    failures = 0
    pending: list[tuple[Path, torch.Tensor]] = []
    files = list(expand_paths(args.paths))
    if not files:
        raise SerError("no audio files found in the given paths")
    progress = tqdm(files, desc=PROG, unit="file", disable=not sys.stderr.isatty())
    with RecordWriter(args.output, args.format) as writer:

        def flush() -> None:
            batch = torch.cat([w for _, w in pending])
            probs = predictor.probabilities(batch)
            offset = 0
            for path, windows in pending:
                writer.write(
                    file_row(path, predictor.labels, probs[offset : offset + len(windows)])
                )
                offset += len(windows)
            pending.clear()

        for path in progress:
            try:
                waveform = load_waveform(path, predictor.sample_rate)
            except AudioError as exc:
                report_error(PROG, first_line(exc))
                failures += 1
                continue
            pending.append((path, slice_windows(waveform, window, hop)[0]))
            if sum(len(w) for _, w in pending) >= predictor.max_batch:
                flush()
        if pending:
            flush()
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: predict(parse_args(argv))))
