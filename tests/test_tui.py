"""The Textual app driven headlessly at the common terminal sizes: lanes, now panel, change
log, session panel, zoom/scroll keys, saving, quitting, and the device picker."""

from pathlib import Path

import pytest
import synth

from ser.predictor import Predictor
from ser.records import RecordWriter
from streaming.pipeline import LivePipeline
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from tui.app import LiveApp
from tui.devices import DeviceChoice, DevicePicker
from tui.widgets import EmotionLanes

CLASSES = ("anger", "disgust", "fear", "happy", "neutral", "sad")


async def wait_for(pilot, condition, seconds: float = 60.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not met in time")


def file_app(tmp_path: Path, checkpoint: Path, wav: Path, realtime: bool = False) -> LiveApp:
    predictor = Predictor.load(checkpoint, device="cpu")
    source = FileSource(wav, realtime=realtime)
    pipeline = LivePipeline(source, predictor, WorkerConfig(0.5 if realtime else 1.0))
    writer = RecordWriter(str(tmp_path / "events.jsonl"))
    return LiveApp(pipeline, predictor.labels, writer=writer, save_dir=tmp_path / "saved")


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_every_panel_fits_and_keys_work(
    tmp_path: Path, tiny_checkpoint: Path, segmented_wav: Path, size: tuple[int, int]
) -> None:
    app = file_app(tmp_path, tiny_checkpoint, segmented_wav)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.finished)
        await pilot.pause(0.2)
        svg = app.export_screenshot()
        (tmp_path / f"screen-{size[0]}x{size[1]}.svg").write_text(svg)
        for text in (*CLASSES, "silence", "smoothed", "changes", "session", "now", "p95"):
            assert text in svg, (size, text)
        assert "→" in svg  # at least one change of the smoothed label is listed
        lanes = app.query_one(EmotionLanes)
        assert lanes.size.height >= 9  # band + 7 lanes + axis, never cut
        start, end = lanes.visible()
        await pilot.press("plus")
        assert lanes.span > end - start
        await pilot.press("minus", "minus")
        assert lanes.span < end - start
        await pilot.press("left")
        assert lanes.view_end is not None and lanes.visible()[1] < end
        await pilot.press("end")
        assert lanes.view_end is None
        await pilot.press("s")
        assert sorted(p.suffix for p in (tmp_path / "saved").iterdir()) == [".jsonl", ".png"]
        await pilot.press("q")
    assert app.status_code == 0
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert lines[-1].startswith('{"type":"summary"')


async def test_quit_mid_stream_flushes_events(tmp_path: Path, tiny_checkpoint: Path) -> None:
    long_wav = synth.write(tmp_path / "long.wav", synth.tone(300, 60.0))
    app = file_app(tmp_path, tiny_checkpoint, long_wav, realtime=True)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.windows >= 2)
        await pilot.press("q")
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert len([line for line in lines if '"type":"window"' in line]) == app.windows
    assert lines[-1].startswith('{"type":"summary"')


class FakeProbe:
    def __init__(self, index: int) -> None:
        self.index, self.closed = index, False

    def level(self) -> float:
        return -20.0 - self.index

    def close(self) -> None:
        self.closed = True


async def test_device_picker_starts_a_session_on_enter(
    tmp_path: Path, tiny_checkpoint: Path, segmented_wav: Path
) -> None:
    devices = [
        {"index": 3, "name": "USB Mic", "channels": 1, "default_samplerate": 48000.0,
         "default": False},
        {"index": 7, "name": "Laptop Array", "channels": 2, "default_samplerate": 44100.0,
         "default": True},
    ]  # fmt: skip
    predictor = Predictor.load(tiny_checkpoint, device="cpu")
    opened: list[int] = []

    def open_device(index: int) -> LivePipeline:
        opened.append(index)  # a file stands in for the chosen microphone
        return LivePipeline(FileSource(segmented_wav, realtime=False), predictor, WorkerConfig())

    app = LiveApp(None, predictor.labels, picker=(DeviceChoice(devices, FakeProbe), open_device))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        assert isinstance(app.screen, DevicePicker)
        svg = app.export_screenshot().replace("&#160;", " ")
        for text in ("USB Mic", "Laptop Array", "48000 Hz", "★", "dBFS"):
            assert text in svg, text
        assert app.screen.selected() == 7  # the default device is highlighted
        await pilot.press("up", "enter")
        await wait_for(pilot, lambda: app.finished)
        assert opened == [3] and app.windows > 0
        await pilot.press("q")
