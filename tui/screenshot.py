"""Render the live screen for a file at a given terminal size and save it as SVG (and PNG when
rsvg-convert is installed); the screenshots in the README and docs/screens come from here.

    python -m tui.screenshot ser/assets/demo-ravdess.opus --size 80x24 \
        -o docs/screens/live-80x24.svg"""

import argparse
import asyncio
import shutil
import subprocess
from pathlib import Path

from ser.predictor import Predictor
from streaming.pipeline import LivePipeline
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from tui.app import LiveApp


async def screenshot(path: Path, size: tuple[int, int], checkpoint: str | None, out: Path) -> None:
    predictor = Predictor.load(checkpoint)
    pipeline = LivePipeline(FileSource(path, realtime=False), predictor, WorkerConfig(0.5))
    app = LiveApp(pipeline, predictor.labels)
    async with app.run_test(size=size) as pilot:
        while not app.finished:
            await pilot.pause(0.2)
        await pilot.pause(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(app.export_screenshot())
        await pilot.press("q")
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", str(out), "-o", str(out.with_suffix(".png"))], check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tui.screenshot", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--size", default="80x24", help="columns x rows")
    parser.add_argument("--checkpoint", help="model file (default: the shipped model)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="SVG to write")
    args = parser.parse_args(argv)
    columns, rows = (int(v) for v in args.size.lower().split("x"))
    asyncio.run(screenshot(args.file, (columns, rows), args.checkpoint, args.output))


if __name__ == "__main__":
    main()
