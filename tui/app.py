"""The live Textual app: timeline band, probability bars, level meter and status line."""

import asyncio
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from ser.errors import SerError
from ser.records import RecordWriter
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, Event, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.summary import SummaryBuilder, format_summary
from tui.timeline_file import save_timeline
from tui.widgets import EmotionTimeline, LevelMeter, ProbabilityBars


class LiveApp(App[int]):
    """Shows the live timeline; inference runs in the pipeline's worker thread."""

    CSS_PATH = "app.tcss"
    TITLE = "ser live"
    BINDINGS: ClassVar = [
        ("q", "quit_app", "Quit"),
        ("space", "toggle_pause", "Pause"),
        ("s", "save", "Save timeline"),
    ]

    def __init__(
        self, pipeline: LivePipeline, writer: RecordWriter | None = None, save_dir: Path = Path(".")
    ) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.writer = writer
        self.save_dir = save_dir
        self.summary = SummaryBuilder(pipeline.predictor.labels)
        self.window_events: list[WindowEvent] = []
        self.error: str | None = None
        self.status_code = 0
        self.finished = False
        self.last_summary: dict | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._status(), id="status")
        with Vertical(id="timeline-box"):
            yield EmotionTimeline(id="timeline")
        with Horizontal(id="lower"):
            yield ProbabilityBars("waiting for the first window…", id="probs")
            with Vertical(id="side"):
                yield LevelMeter("level —", id="level")
                yield Static("", id="latency")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.pipeline.start()
        self.consume_events()

    def _status(self, latency: str = "—") -> str:
        p, src = self.pipeline, self.pipeline.source
        state = "PAUSED · " if p.paused else ""
        model = p.predictor.name
        return (
            f"{state}{src.description} · {model} · {p.predictor.description} · "
            f"hop {p.config.hop_seconds:g} s · latency {latency} · "
            f"dropped {src.ring.dropped_blocks} · overflows {src.overflows}"
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
            self._write(event.record(), jsonl_only=True)
        elif isinstance(event, ErrorEvent):
            self.error, self.status_code = event.message, 1
            self._message(f"error: {event.message}", error=True)
        elif isinstance(event, EndEvent):
            self._finish(event.stats)

    def _on_window(self, event: WindowEvent) -> None:
        self.window_events.append(event)
        self.summary.add(event)
        self._write(event.record())
        self.query_one(EmotionTimeline).add(event)
        self.query_one(ProbabilityBars).show(event)
        self.query_one(LevelMeter).show(event.level_db, event.speech)
        self.query_one("#latency", Static).update(
            f"window {event.index}  [{event.start:.1f}–{event.end:.1f} s]\n"
            f"latency {event.latency_ms:.0f} ms"
        )
        self.query_one("#status", Static).update(self._status(f"{event.latency_ms:.0f} ms"))

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
            self._message("finished · " + format_summary(self.last_summary) + "\npress q to quit")

    def _message(self, text: str, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.set_class(error, "error")
        message.update(text)

    def action_toggle_pause(self) -> None:
        self.pipeline.toggle_pause()
        self.query_one("#status", Static).update(self._status())

    def action_save(self) -> None:
        if not self.window_events:
            self.notify("nothing to save yet")
            return
        try:
            jsonl, png = save_timeline(self.window_events, self.save_dir)
        except (OSError, SerError) as exc:
            self.notify(f"cannot save timeline: {exc}", severity="error")
            return
        self.notify(f"saved {jsonl} and {png}")

    async def action_quit_app(self) -> None:
        """Stop capture, let the events already computed arrive (written, summarised), exit."""
        self.pipeline.stop()
        for _ in range(100):
            if self.finished:
                break
            await asyncio.sleep(0.05)
        self.exit(self.status_code)
