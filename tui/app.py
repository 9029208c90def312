"""The live Textual app: emotion lanes, now panel, change log and session panel; inference runs
in the pipeline's worker thread, events arrive through a thread worker."""

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static

from ser.cli_support import ENDINGS
from ser.errors import SerError
from ser.records import RecordWriter
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, Event, GapEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.run_log import RunLog
from streaming.sources import narrowband_warning
from streaming.summary import format_summary
from tui.devices import DeviceChoice, DevicePicker
from tui.history import WindowHistory
from tui.timeline_file import save_timeline, timeline_folder
from tui.widgets import ChangeLog, EmotionLanes, NowPanel, SessionPanel

PipelineFactory = Callable[[int], LivePipeline]


class LiveApp(App[int]):
    """Shows the live session; with no pipeline yet, the device picker comes first. Every way
    out (q, ctrl+q, Ctrl-C, SIGTERM, SIGHUP, the picker's q) goes through `end_run`."""

    CSS_PATH = "app.tcss"
    TITLE = "ser live"
    BINDINGS: ClassVar = [
        ("q", "end_run", "Quit"),
        Binding("ctrl+c", f"end_run({signal.SIGINT.value})", show=False, priority=True),
        ("space", "toggle_pause", "Pause"),
        ("s", "save", "Save"),
        ("r", "reset_session", "New session"),
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
        save_dir: Path | None = None,
        picker: tuple[DeviceChoice, PipelineFactory] | None = None,
    ) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.labels = labels
        # `s` saves beside a file --output, else in the documented timeline folder.
        self.save_dir = save_dir or (writer and writer.folder) or timeline_folder()
        self.picker = picker
        self.history = WindowHistory()
        self.run_log = RunLog(writer, labels)
        self.windows = 0
        self.error: str | None = None
        self.status_code = 0
        self.finished = False
        self.ending: int | None = None  # the signal that ended the run (0: the user quit)

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
        loop = asyncio.get_running_loop()
        for signum in ENDINGS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                loop.add_signal_handler(signum, self.run_end, signum)
        if self.pipeline is None and self.picker is not None:
            self.push_screen(DevicePicker(self.picker[0]), self._start_on_device)
        else:
            self._start()

    def _start_on_device(self, index: int) -> None:
        try:
            self.pipeline = self.picker[1](index)
        except SerError as exc:
            self._abort(str(exc))
            return
        self._start()

    def _start(self) -> None:
        try:
            self.pipeline.start()
        except SerError as exc:
            self._abort(str(exc))
            return
        if note := narrowband_warning(self.pipeline.source.sample_rate):
            self.notify(note, severity="warning", timeout=15)
        self._refresh_status()
        self.consume_events()

    def _abort(self, message: str) -> None:
        """The run could not begin: one error, exit 1, the output left as it was."""
        self.error, self.status_code = message, 1
        self.run_log.discard()
        self.exit(1)

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
        p95 = self.run_log.summary.latency(95)
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
        failed = self.run_log.error
        self.run_log.add(event)
        if self.run_log.error != failed:
            self._fail(f"{self.run_log.error} (events no longer written)")
        if isinstance(event, WindowEvent):
            self._on_window(event)
        elif isinstance(event, ChangeEvent):
            self.history.add_change(event)
            self.query_one(ChangeLog).show(self.history)
        elif isinstance(event, GapEvent):
            self.notify(f"{event.seconds:.2f} s of audio lost at {event.start:.1f} s")
        elif isinstance(event, ErrorEvent):
            self._fail(event.message)
        elif isinstance(event, EndEvent):
            self._finish()

    def _on_window(self, event: WindowEvent) -> None:
        self.windows += 1
        self.history.add(event)
        self.query_one(EmotionLanes).refresh()
        self.query_one(NowPanel).show(event)
        self.query_one(SessionPanel).show(self.run_log.summary.summary(), self._status())
        self._refresh_status()

    def _fail(self, message: str) -> None:
        self.error, self.status_code = message, 1
        self._message(f"error: {message}", error=True)

    def _finish(self) -> None:
        self.finished = True
        record = self.run_log.close()
        if self.error is None:
            first = format_summary(record).splitlines()[0]
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

    def action_reset_session(self) -> None:
        """Forget the session's statistics (adaptation and familiarity): a new speaker, say."""
        if self.pipeline is None or self.pipeline.worker.session is None:
            self.notify("this model keeps no session statistics")
            return
        self.pipeline.worker.reset_session()
        self.notify("session reset: adapting to the voice from here on")

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

    def run_end(self, signum: int) -> None:
        """End the run from a signal handler or a key (see `action_end_run`)."""
        self.run_worker(self.action_end_run(signum), group="end")

    async def action_end_run(self, signum: int = 0) -> None:
        """The one way out: stop capture, let the events already computed arrive (written,
        summarised), exit with 128 + `signum`, or with 0 (1 after an error) when the user quit."""
        if self.ending is not None:
            return
        self.ending = signum
        if signum:
            self.status_code = 128 + signum
        if self.pipeline is None:  # quit in the device picker: no run began, nothing to write
            self.run_log.discard()
        else:
            self.pipeline.stop()
            for _ in range(100):
                if self.finished:
                    break
                await asyncio.sleep(0.05)
        if signum == signal.SIGHUP:  # the terminal is gone: Textual would wait on it forever
            self.run_log.close()
            os._exit(self.status_code)
        self.exit(self.status_code)

    async def action_quit(self) -> None:
        """Textual's own quit (ctrl+q, the command palette) ends the run the same way."""
        await self.action_end_run()
