"""Source + worker + event queue: the object the TUI and the headless writer both drive."""

import queue
from collections.abc import Iterator
from pathlib import Path

from ser.predictor import Predictor
from streaming.events import EndEvent, Event
from streaming.recording import Recording
from streaming.sources import AudioSource
from streaming.worker import WindowWorker, WorkerConfig


class LivePipeline:
    """Runs a source into the window worker; events arrive on a queue."""

    def __init__(
        self,
        source: AudioSource,
        predictor: Predictor,
        config: WorkerConfig,
        record_path: str | Path | None = None,
    ) -> None:
        self.source = source
        self.predictor = predictor
        self.config = config
        self.events: queue.Queue[Event] = queue.Queue()
        recorder = None
        if record_path is not None:
            recorder = Recording(Path(record_path), source.sample_rate, source.channels)
        self.worker = WindowWorker(source, predictor, config, self.events.put, recorder)

    def start(self) -> None:
        self.source.start()
        self.worker.start()

    def stop(self) -> None:
        """Stop capture and the worker; an EndEvent still follows on the queue."""
        self.source.stop()
        self.worker.stop()

    @property
    def paused(self) -> bool:
        return self.source.paused

    def toggle_pause(self) -> bool:
        """Pause or resume feeding audio; stream time stands still while paused."""
        self.source.paused = not self.source.paused
        return self.source.paused

    def iter_events(self, poll_seconds: float = 0.1) -> Iterator[Event]:
        """Events until (and including) the EndEvent."""
        while True:
            try:
                event = self.events.get(timeout=poll_seconds)
            except queue.Empty:
                continue
            yield event
            if isinstance(event, EndEvent):
                return
