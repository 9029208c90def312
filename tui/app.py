"""The live Textual app: emotion lanes, now panel, change log and session panel; inference runs
in the pipeline's worker thread, events arrive through a thread worker."""

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from ser.errors import SerError
from ser.records import RecordWriter
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, Event, GapEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.summary import SummaryBuilder, format_summary
from tui.devices import DeviceChoice, DevicePicker
from tui.history import WindowHistory
from tui.timeline_file import save_timeline
from tui.widgets import ChangeLog, EmotionLanes, NowPanel, SessionPanel

PipelineFactory = Callable[[int], LivePipeline]


class LiveApp(App[int]):
    """Shows the live session; with no pipeline yet, the device picker comes first."""

    CSS_PATH = "app.tcss"
    TITLE = "ser live"
    BINDINGS: ClassVar = [
        ("q", "quit_app", "Quit"),
        ("space", "toggle_pause", "Pause"),
        ("s", "save", "Save"),
        ("plus,equals_sign", "zoom(1)", "Zoom out"),
        ("minus", "zoom(-1)", "Zoom in"),
        ("left", "scroll(-0.5)", "Back"),
        ("right", "scroll(0.5)", "Forward"),
        ("end", "live", "Live"),
    ]

    def __init__(
        self,
        pipeline: LivePipeline | None,
        labels: tuple[str, ...],
        writer: RecordWriter | None = None,
        save_dir: Path = Path("."),
        picker: tuple[DeviceChoice, PipelineFactory] | None = None,
    ) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.labels = labels
        self.writer = writer
        self.save_dir = save_dir
        self.picker = picker
        self.history = WindowHistory()
        self.summary = SummaryBuilder(labels)
        self.windows = 0
        self.error: str | None = None
        self.status_code = 0
        self.finished = False
        self.last_summary: dict | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield EmotionLanes(self.history, self.labels, id="lanes")
                yield SessionPanel("", id="session")
            with Vertical(id="right"):
                yield NowPanel("waiting for the first window…", id="now")
                yield ChangeLog("no changes yet", id="changes")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#lanes").border_title = "emotion lanes"
        self.query_one("#now").border_title = "now"
        self.query_one("#changes").border_title = "changes"
        self.query_one("#session").border_title = "session"
        if self.pipeline is None and self.picker is not None:
            self.push_screen(DevicePicker(self.picker[0]), self._start_on_device)
        else:
            self._start()

    def _start_on_device(self, index: int | None) -> None:
        if index is None:
            self.exit(0)
            return
        try:
            self.pipeline = self.picker[1](index)
        except SerError as exc:
            self.error, self.status_code = str(exc), 1
            self.exit(1)
            return
        self._start()

    def _start(self) -> None:
        try:
            self.pipeline.start()
        except SerError as exc:
            self.error, self.status_code = str(exc), 1
            self.exit(1)
            return
        self._refresh_status()
        self.consume_events()

    def _status(self) -> dict:
        p = self.pipeline
        source = p.source
        return {
            "model": p.predictor.name,
            "device": p.predictor.description,
            "dropped": source.ring.dropped_blocks,
            "overflows": source.overflows,
        }

    def _refresh_status(self) -> None:
        p = self.pipeline
        status = self._status()
        state = "PAUSED · " if p.paused else ""
        p95 = self.summary.latency(95)
        latency = "—" if p95 is None else f"{p95:.0f} ms"
        self.query_one("#status", Static).update(
            f"{state}{p.source.description} · {status['model']} · {status['device']} · "
            f"hop {p.config.hop_seconds:g} s · p95 {latency} · dropped {status['dropped']} · "
            f"overflows {status['overflows']}"
        )

    @work(thread=True, exclusive=True, name="events")
    def consume_events(self) -> None:
        """Blocking queue reads stay off the UI thread; results come back via call_from_thread."""
        for event in self.pipeline.iter_events():
            self.call_from_thread(self.handle_event, event)

    def handle_event(self, event: Event) -> None:
        if isinstance(event, WindowEvent):
            self._on_window(event)
        elif isinstance(event, ChangeEvent):
            self.history.add_change(event)
            self.query_one(ChangeLog).show(self.history)
            self._write(event.record(), jsonl_only=True)
        elif isinstance(event, GapEvent):
            self._write(event.record(), jsonl_only=True)
            self.notify(f"{event.seconds:.2f} s of audio lost at {event.start:.1f} s")
        elif isinstance(event, ErrorEvent):
            self.error, self.status_code = event.message, 1
            self._message(f"error: {event.message}", error=True)
        elif isinstance(event, EndEvent):
            self._finish(event.stats)

    def _on_window(self, event: WindowEvent) -> None:
        self.windows += 1
        self.history.add(event)
        self.summary.add(event)
        self._write(event.record())
        self.query_one(EmotionLanes).refresh()
        self.query_one(NowPanel).show(event)
        self.query_one(SessionPanel).show(self.summary.summary(), self._status())
        self._refresh_status()

    def _write(self, record: dict, jsonl_only: bool = False) -> None:
        if self.writer is None or (jsonl_only and self.writer.format != "jsonl"):
            return
        try:
            self.writer.write(record)
        except SerError as exc:
            self.writer = None
            self.error, self.status_code = str(exc), 1
            self._message(f"error: {exc} (events no longer written)", error=True)

    def _finish(self, stats: dict) -> None:
        self.finished = True
        self.last_summary = self.summary.summary(stats)
        self._write(self.last_summary, jsonl_only=True)
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.error is None:
            first = format_summary(self.last_summary).splitlines()[0]
            self._message(f"finished · {first} · q quits")

    def _message(self, text: str, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.set_class(True, "shown")
        message.update(text)

    def action_zoom(self, step: int) -> None:
        self.query_one(EmotionLanes).zoom(step)

    def action_scroll(self, fraction: float) -> None:
        self.query_one(EmotionLanes).scroll(fraction)

    def action_live(self) -> None:
        self.query_one(EmotionLanes).view_end = None

    def action_toggle_pause(self) -> None:
        if self.pipeline is not None:
            self.pipeline.toggle_pause()
            self._refresh_status()

    def action_save(self) -> None:
        if not self.history.marks:
            self.notify("nothing to save yet")
            return
        try:
            jsonl, png = save_timeline(self.history, self.labels, self.save_dir)
        except (OSError, SerError) as exc:
            self.notify(f"cannot save timeline: {exc}", severity="error")
            return
        self.notify(f"saved {jsonl} and {png}")

    async def action_quit_app(self) -> None:
        """Stop capture, let the events already computed arrive (written, summarised), exit."""
        if self.pipeline is not None:
            self.pipeline.stop()
            for _ in range(100):
                if self.finished:
                    break
                await asyncio.sleep(0.05)
        self.exit(self.status_code)
