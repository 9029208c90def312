"""The Textual app driven headlessly: events arrive, keys work, it exits cleanly."""

from pathlib import Path

import pytest
import synth

from ser.predictor import Predictor
from ser.records import RecordWriter
from streaming.pipeline import LivePipeline
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from tui.app import LiveApp
from tui.widgets import EmotionTimeline


async def wait_for(pilot, condition, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def app(tmp_path: Path, tiny_checkpoint: Path, segmented_wav: Path) -> LiveApp:
    predictor = Predictor.load(tiny_checkpoint, device="cpu")
    pipeline = LivePipeline(FileSource(segmented_wav, realtime=False), predictor, WorkerConfig(1.0))
    writer = RecordWriter(str(tmp_path / "events.jsonl"))
    return LiveApp(pipeline, writer=writer, save_dir=tmp_path / "saved")


async def test_file_plays_to_summary_and_keys_work(app: LiveApp, tmp_path: Path) -> None:
    async with app.run_test(size=(110, 30)) as pilot:
        await wait_for(pilot, lambda: app.finished)
        assert len(app.window_events) == 15
        assert app.query_one(EmotionTimeline).segments
        assert "finished" in str(app.query_one("#message").render())
        await pilot.press("s")
        saved = sorted(p.suffix for p in (tmp_path / "saved").iterdir())
        assert saved == [".jsonl", ".png"]
        await pilot.press("space")
        assert app.pipeline.paused
        await pilot.press("space")
        assert not app.pipeline.paused
        svg = app.export_screenshot()
        (tmp_path / "snapshot.svg").write_text(svg)
        for text in ("anger", "sad", "level", "Quit", "Save", "share"):
            assert text in svg, text
        await pilot.press("q")
    assert app.status_code == 0
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert lines[-1].startswith('{"type":"summary"')


async def test_quit_mid_stream_flushes_events(tmp_path: Path, tiny_checkpoint: Path) -> None:
    long_wav = synth.write(tmp_path / "long.wav", synth.tone(300, 60.0))
    predictor = Predictor.load(tiny_checkpoint, device="cpu")
    pipeline = LivePipeline(FileSource(long_wav, realtime=True), predictor, WorkerConfig(0.5))
    out = tmp_path / "events.jsonl"
    app = LiveApp(pipeline, writer=RecordWriter(str(out)))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: len(app.window_events) >= 2)
        await pilot.press("q")
    lines = out.read_text().splitlines()
    assert len([line for line in lines if '"type":"window"' in line]) == len(app.window_events)
    assert lines[-1].startswith('{"type":"summary"')
