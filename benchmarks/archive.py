"""Archive scoring benchmark: ser-predict over a folder of generated speech (espeak-ng, 44.1 kHz
files), run as whole commands (model loading included) in rounds, each round every way once:
per-file replays through the live path in one process (how ser-predict scored before the
archive loader), ser-predict's loader of gated files in one process (`--workers 0`) and with
its default workers, and `--devices 2` (the archive loader through the live worker); files/s
and real-time factor of each run, and whether every run wrote the same rows.

    python -m benchmarks.archive [--files 20] [--seconds 30] [--rounds 2] [--json FILE]"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import soundfile as sf
import torch

from ser.audio import resample
from training.synthetic_audio import speech_recording

PREDICT = str(Path(sys.executable).parent / "ser-predict")
WAYS = {
    "replay_per_file": [sys.executable, "-m", "benchmarks.archive", "--replay"],
    "loader_in_process": [PREDICT, "--workers", "0"],
    "loader_workers": [PREDICT],
    "devices_2": [PREDICT, "--devices", "2", "--cpu"],
}


def make_files(folder: Path, count: int, seconds: float) -> list[Path]:
    """`count` different `seconds`-long cuts of one speech recording, at 44.1 kHz."""
    source = folder / "source.wav"
    speech_recording(source, seconds * 2)
    audio, rate = sf.read(source, dtype="float32")
    source.unlink()
    audio = resample(torch.from_numpy(audio), rate, 44100).numpy()
    span, files = round(seconds * 44100), []
    for i in range(count):
        start = (i * 7 * 44100) % (len(audio) - span)
        files.append(folder / f"f{i:03d}.wav")
        sf.write(files[-1], audio[start : start + span], 44100, subtype="PCM_16")
    return files


def replay_rows(paths: list[str], output: str) -> None:
    """ser-predict before the archive loader: each file replayed through the live path."""
    from ser.predictor import Predictor
    from ser.records import RecordWriter
    from streaming.predict_output import file_row, window_label
    from streaming.replay import replay
    from streaming.sources import FileSource
    from streaming.worker import WorkerConfig

    predictor = Predictor.load()
    with RecordWriter(output) as writer:
        for path in paths:
            windows = replay(FileSource(path, realtime=False), predictor, WorkerConfig(1.0))
            writer.write(
                file_row(path, predictor.labels, window_label(predictor.labels, windows.windows))
            )


def bench(count: int, seconds: float, rounds: int) -> dict[str, Any]:
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "audio"
        folder.mkdir()
        files = make_files(folder, count, seconds)
        walls: dict[str, list[float]] = {way: [] for way in WAYS}
        outputs: set[str] = set()
        for r in range(rounds):
            for way, command in WAYS.items():
                out = Path(tmp) / f"{way}-{r}.csv"
                args = [*map(str, files), "-o", str(out)]
                started = time.perf_counter()
                subprocess.run([*command, *args], check=True)
                walls[way].append(round(time.perf_counter() - started, 2))
                outputs.add(out.read_text())
                print(f"{way}: {walls[way][-1]} s", file=sys.stderr, flush=True)
    audio = count * seconds
    return {
        "files": count,
        "seconds_per_file": seconds,
        "same_rows": len(outputs) == 1,
        "ways": {
            way: {
                "wall_s": wall,
                "files_per_s": round(count / min(wall), 2),
                "realtime_factor": round(audio / min(wall), 1),
            }
            for way, wall in walls.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.archive", description=__doc__)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--replay", nargs="+", help=argparse.SUPPRESS)  # internal: one way
    parser.add_argument("-o", dest="output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay:
        replay_rows(args.replay, args.output)
        return
    result = bench(args.files, args.seconds, args.rounds)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
