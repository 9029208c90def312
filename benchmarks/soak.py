"""Soak benchmark: an hour (or more) of speech streamed as fast as possible through the worker
and the live screen (Textual's App.run_test); peak memory after 10 minutes of stream and at
the end must stay within 5 % of each other.

    python -m benchmarks.soak [--minutes 60] [--json FILE]"""

import argparse
import asyncio
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ser.predictor import Predictor
from streaming.pipeline import LivePipeline
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from training.synthetic_audio import speech_recording
from tui.app import LiveApp

CHECKPOINT_MINUTES = 10.0


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class MemoryWatch(threading.Thread):
    """Samples RSS every half second: the peak so far, and the peak when the stream passed
    CHECKPOINT_MINUTES."""

    def __init__(self, app: LiveApp) -> None:
        super().__init__(daemon=True)
        self.app, self.peak, self.at_checkpoint = app, 0.0, None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.peak = max(self.peak, rss_mb())
            if self.at_checkpoint is None and self.app.history.last >= CHECKPOINT_MINUTES * 60:
                self.at_checkpoint = self.peak


async def soak(predictor: Predictor, path: Path) -> dict[str, Any]:
    pipeline = LivePipeline(FileSource(path, realtime=False), predictor, WorkerConfig(1.0))
    app = LiveApp(pipeline, predictor.labels)
    watch = MemoryWatch(app)
    started = time.monotonic()
    async with app.run_test(size=(160, 45)) as pilot:
        watch.start()
        while not app.finished:
            await pilot.pause(0.5)
        watch.done.set()
        watch.join()
        await pilot.press("q")
    wall = time.monotonic() - started
    return {
        "audio_minutes": round(app.history.last / 60, 1),
        "windows": app.windows,
        "wall_seconds": round(wall, 1),
        "kept_windows": len(app.history.marks),
        "peak_rss_mb_at_10_min": round(watch.at_checkpoint or float("nan"), 1),
        "peak_rss_mb_at_end": round(watch.peak, 1),
        "growth": round(watch.peak / watch.at_checkpoint - 1, 4) if watch.at_checkpoint else None,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    predictor = Predictor.load(args.checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "soak.wav"
        speech_recording(path, args.minutes * 60)
        result = asyncio.run(soak(predictor, path))
    print(
        f"soak: {result['audio_minutes']} min of audio, {result['windows']} windows in "
        f"{result['wall_seconds']} s through the worker and the TUI; peak RSS "
        f"{result['peak_rss_mb_at_10_min']} MB at 10 min, {result['peak_rss_mb_at_end']} MB at "
        f"the end (growth {result['growth']}, target ≤ 0.05); the screen keeps "
        f"{result['kept_windows']} windows"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
