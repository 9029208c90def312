"""`ser-predict`: classify audio files (or folders of them) with the same windows, speech gate
and model as `ser-live --file`; a file's label comes from its speech windows only
(`Predictor.classify_file`). Loader workers read and gate the files while the model scores
their speech windows; `--devices`/`--num-nodes` spread the files over processes, GPUs and nodes
(Lightning DDP), each playing its files through the live worker (streaming/archive.py)."""

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from ser.audio import AUDIO_EXTENSIONS
from ser.bundle import resolve_checkpoint
from ser.checkpoint import load_checkpoint
from ser.cli_support import run_command
from ser.errors import SerError
from ser.predictor import Predictor
from ser.vad import VadConfig
from ser.windowing import Windowing
from ser_commands.options import add_compute, add_gate, add_hop, add_model, add_output, validate
from streaming.archive import default_workers, gated_files
from streaming.predict_output import ResultStore, ScoredFile
from streaming.sources import narrowband_warning
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
    add_output(parser, "-", "output file, or - for stdout", "csv or jsonl (default: from --output)")
    add_model(parser)
    add_hop(parser, 1.0, "seconds between windows (default %(default)s, as ser-live --file)")
    add_gate(parser)
    parser.add_argument(
        "--workers",
        type=int,
        help="loader processes per device that read and gate the files while the model scores "
        "them (default: the cores, up to 8; 0: none)",
    )
    parser.add_argument("--devices", type=int, default=1, help="processes (GPUs) per node")
    parser.add_argument("--num-nodes", type=int, default=1, help="nodes (Lightning DDP)")
    add_compute(parser)
    return parser.parse_args(argv)


def input_files(paths: list[str]) -> list[str]:
    """The audio files named or found, each once, in order."""
    files = list(dict.fromkeys(str(p) for p in expand_paths(paths)))
    if not files:
        raise SerError("no audio files found in the given paths")
    return files


def score_here(
    predictor: Predictor, windowing: Windowing, workers: int, todo: list[str], store: ResultStore
) -> None:
    """Score `todo` in this process, its files read and gated by `workers` loader processes,
    into part file 0."""
    part = store.part(0, PROG, predictor.labels)
    progress = tqdm(total=len(todo), desc=PROG, unit="file", disable=not sys.stderr.isatty())
    try:
        for path, found in gated_files(todo, predictor, windowing, workers):
            if isinstance(found, str):
                part.add(ScoredFile(path, None, found))
            else:
                part.add(ScoredFile(path, predictor.label_speech(found)))
            progress.update()
    finally:
        part.close()
        progress.close()


def warn_narrowband(files: list[str]) -> None:
    """One warning per run for the first file sampled at 8 kHz or less."""
    for path in files:
        try:
            note = narrowband_warning(sf.info(path).samplerate)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, OSError):
            continue  # unreadable: reported when it is scored
        if note:
            print(f"{PROG}: warning: {Path(path).name}: {note}", file=sys.stderr)
            return


def predict(args: argparse.Namespace) -> int:
    validate(args)
    distributed = args.devices * args.num_nodes > 1
    if distributed:
        try:
            from streaming import predict_dist
        except ImportError as exc:
            raise SerError(
                "--devices/--num-nodes above 1 need Lightning, which is not installed: "
                "pip install 'ser[train]'"
            ) from exc
    config = WorkerConfig(args.hop, vad=VadConfig(args.vad_threshold, args.speech_share))
    checkpoint = resolve_checkpoint(args.checkpoint)
    files = input_files(args.paths)
    predictor = None
    if distributed:  # each rank loads the model and refuses the settings itself
        labels = load_checkpoint(checkpoint).labels  # a bad model file fails here, once
    else:
        predictor = Predictor.load(
            checkpoint, args.compute, args.precision, adapt=not args.no_adapt
        )
        check_settings(config, predictor)
    store = ResultStore(args.output, args.format)
    done = store.scored()
    todo = [f for f in files if f not in done]
    warn_narrowband(todo)
    if done & set(files):
        skipped = len(files) - len(todo)
        print(f"{PROG}: {skipped} files already scored in {args.output}", file=sys.stderr)
    workers = default_workers(args.devices) if args.workers is None else args.workers
    if predictor is None:
        run = predict_dist.DistributedRun(
            config, args.compute, args.precision, not args.no_adapt, workers,
            args.devices, args.num_nodes, PROG,
        )  # fmt: skip
        if not predict_dist.score_distributed(run, checkpoint, labels, todo, store):
            return 0  # global rank 0 merges and reports
    else:
        try:
            score_here(predictor, config.windowing, workers, todo, store)
        except KeyboardInterrupt:  # the files scored so far still reach the output
            store.merge(files)
            raise
    return 1 if store.merge(files) else 0


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    sys.exit(run_command(PROG, lambda: predict(parse_args(argv))))
