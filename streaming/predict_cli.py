"""`ser-predict`: classify audio files (or folders of them), each played through the same
windows, speech gate and model as `ser-live --file`; a file's label comes from its speech
windows only."""

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ser.audio import AUDIO_EXTENSIONS
from ser.cli_support import first_line, report_error, run_command
from ser.errors import SerError
from ser.predictor import Predictor
from ser.records import FORMATS, RecordWriter
from streaming.events import WindowEvent
from streaming.replay import replay
from streaming.sources import FileSource, narrowband_warning
from streaming.vad import VadConfig
from streaming.worker import WorkerConfig, check_settings

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
    parser.add_argument("--hop", type=float, default=1.0, help="window hop, s (as ser-live --file)")
    parser.add_argument("--vad-threshold", type=float, default=VadConfig.threshold)
    parser.add_argument("--speech-share", type=float, default=VadConfig.min_speech_share)
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    device = parser.add_mutually_exclusive_group()
    device.add_argument("--cpu", dest="device", action="store_const", const="cpu")
    device.add_argument("--gpu", dest="device", action="store_const", const="cuda")
    parser.set_defaults(device="auto")
    return parser.parse_args(argv)


def file_row(path: Path, labels: tuple[str, ...], windows: list[WindowEvent]) -> dict[str, object]:
    """One output row: the file, its label and the mean probabilities of its speech windows;
    with no speech the label and probabilities are empty (null)."""
    speech = [w for w in windows if w.speech]
    row: dict[str, object] = {"path": str(path), "label": None, "speech_windows": len(speech)}
    if not speech:
        row.update(dict.fromkeys(labels))
        return row
    mean = np.mean([[w.probs[n] for n in labels] for w in speech], axis=0)
    row["label"] = labels[int(mean.argmax())]
    row.update({n: round(float(p), 5) for n, p in zip(labels, mean, strict=True)})
    return row


def predict(args: argparse.Namespace) -> int:
    if args.hop <= 0:
        raise SerError("--hop must be positive")
    predictor = Predictor.load(args.checkpoint, args.device, args.precision)
    config = WorkerConfig(args.hop, vad=VadConfig(args.vad_threshold, args.speech_share))
    check_settings(config, predictor)
    if args.format is None and args.output == "-":
        args.format = "csv"
    files = list(expand_paths(args.paths))
    if not files:
        raise SerError("no audio files found in the given paths")
    failures, warned = 0, False
    progress = tqdm(files, desc=PROG, unit="file", disable=not sys.stderr.isatty())
    with RecordWriter(args.output, args.format) as writer:
        for path in progress:
            try:
                source = FileSource(path, realtime=False)
                if not warned and (note := narrowband_warning(source.sample_rate)):
                    print(f"{PROG}: warning: {path.name}: {note}", file=sys.stderr)
                    warned = True  # once per run
                windows = replay(source, predictor, config).windows
            except SerError as exc:  # unreadable, empty, NaN: one line, the rest go on
                report_error(PROG, first_line(exc))
                failures += 1
                continue
            writer.write(file_row(path, predictor.labels, windows))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: predict(parse_args(argv))))
