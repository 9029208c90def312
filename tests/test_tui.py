"""The Textual app driven headlessly at the common terminal sizes: lanes, now panel, change
log, session panel, zoom/scroll keys, saving, quitting, and the device picker."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import synth
from textual.app import App

from ser.bundle import shipped_model_path
from ser.checkpoint import load_checkpoint, save_checkpoint
from ser.predictor import Predictor
from ser.records import RecordWriter
from streaming.events import WindowEvent
from streaming.pipeline import LivePipeline
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from tui.app import LiveApp
from tui.devices import DeviceChoice, DevicePicker
from tui.history import WindowHistory
from tui.timeline_file import save_timeline
from tui.widgets import EmotionLanes, NowPanel

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


def window(end: float, probs: dict | None, speech: bool, smoothed: str | None) -> WindowEvent:
    """A window event as the worker publishes it; a silent one may carry no probabilities."""
    top = max(probs, key=probs.get) if probs and speech else None
    return WindowEvent(
        index=int(end), start=max(0.0, end - 5), end=end, wall_time=0.0, probs=probs,
        label=top, confidence=probs[top] if top else None, speech=speech,
        speech_share=1.0 if speech else 0.0, speaking=speech, smoothed=smoothed,
        latency_ms=50.0, level_db=-20.0 if speech else -70.0, span_start=end - 1,
    )  # fmt: skip


class PanelsApp(App):
    """The now panel and the lanes alone, fed by hand."""

    def compose(self):
        yield NowPanel(id="now")
        yield EmotionLanes(WindowHistory(), CLASSES, id="lanes")


async def test_now_panel_tells_this_window_from_the_smoothed_label(tmp_path: Path) -> None:
    fear = dict(zip(CLASSES, (0.02, 0.03, 0.84, 0.05, 0.04, 0.02), strict=True))
    app = PanelsApp()
    async with app.run_test(size=(60, 24)) as pilot:
        now, lanes = app.query_one(NowPanel), app.query_one(EmotionLanes)
        now.show(window(6.0, fear, speech=True, smoothed="happy"))
        text = now.content.plain
        assert "FEAR" in text and "this window 84%" in text and "smoothed happy" in text
        assert "HAPPY" not in text and "sure" not in text  # the smoothed label claims no score
        assert "fear    █" in text
        silent = window(7.0, None, speech=False, smoothed="happy")  # the model did not run
        for event in (window(6.0, fear, True, "happy"), silent):
            lanes.history.add(event)
        now.show(silent)
        lanes.refresh()
        await pilot.pause(0.1)
        text = now.content.plain
        assert "SILENCE" in text and "this window: no emotion" in text
        assert "█" not in text and not any(line.startswith(CLASSES) for line in text.split("\n"))
        jsonl, _ = save_timeline(lanes.history, CLASSES, tmp_path)
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert rows[1]["probs"] is None and rows[0]["probs"]["fear"] == 0.84


async def test_s_saves_beside_the_output_else_in_the_timeline_folder(
    tmp_path: Path, tiny_checkpoint: Path, segmented_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "out").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    predictor = Predictor.load(tiny_checkpoint, device="cpu")
    for output, folder in (("out/events.jsonl", "out"), (None, "data/ser/timelines")):
        pipeline = LivePipeline(
            FileSource(segmented_wav, realtime=False), predictor, WorkerConfig()
        )
        writer = RecordWriter(str(tmp_path / output)) if output else None
        app = LiveApp(pipeline, predictor.labels, writer=writer)
        async with app.run_test() as pilot:
            await wait_for(pilot, lambda app=app: app.finished)
            await pilot.press("s", "q")
        saved = sorted(p.suffix for p in (tmp_path / folder).glob("ser-timeline-*"))
        assert saved == [".jsonl", ".png"], folder
    assert list((tmp_path / "cwd").iterdir()) == []


async def test_uncertain_windows_read_as_unsure_in_the_now_panel_and_the_lanes() -> None:
    fear = dict(zip(CLASSES, (0.10, 0.15, 0.38, 0.12, 0.15, 0.10), strict=True))
    event = replace(window(6.0, fear, speech=True, smoothed="sad"), uncertain=True)
    app = PanelsApp()
    async with app.run_test(size=(60, 24)) as pilot:
        now, lanes = app.query_one(NowPanel), app.query_one(EmotionLanes)
        now.show(event)
        text = now.content.plain
        assert "FEAR?" in text and "unsure: this window 38%" in text and "smoothed sad" in text
        lanes.history.add(event)
        lanes.refresh()
        await pilot.pause(0.1)
        band = lanes.render().plain.splitlines()[0]
        assert band.startswith("smoothed") and "?" in band
        now.show(replace(event, uncertain=False))
        assert "unsure" not in now.content.plain and "FEAR?" not in now.content.plain


async def test_r_starts_a_new_session(
    tmp_path: Path, segmented_wav: Path, tiny_checkpoint: Path
) -> None:
    checkpoint = load_checkpoint(shipped_model_path())
    adapting = save_checkpoint(tmp_path / "adapting.pt", checkpoint.model, checkpoint.labels,
                               meta={"adaptation": {"prior_windows": 30.0,
                                                    "reset_after_silence": 20.0}})  # fmt: skip
    app = file_app(tmp_path, adapting, segmented_wav, realtime=True)
    async with app.run_test(size=(100, 30)) as pilot:

        def heard() -> int:
            return sum(mark.speech for mark in app.history.marks)

        await wait_for(pilot, lambda: heard() >= 2)
        await pilot.press("r")
        pressed = heard()
        await wait_for(pilot, lambda: heard() >= pressed + 2)
        shown = heard()
        await pilot.press("q")
    # Without the reset the session would count every speech window shown (and any in flight);
    # with it, only those after the press: the two or more before it are forgotten.
    assert 0 < app.pipeline.worker.session.windows < shown
    plain = file_app(tmp_path, tiny_checkpoint, segmented_wav)
    async with plain.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: plain.finished)
        await pilot.press("r")
        await pilot.pause(0.1)
        assert any("keeps no session" in str(n.message) for n in plain._notifications)
        await pilot.press("q")
