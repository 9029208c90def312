"""A run's record: its events written to the output as they arrive and its summary kept beside
them; closing writes the summary line once, however the run ended. The TUI and the headless
run share it."""

from typing import Any

from ser.errors import SerError
from ser.records import RecordWriter
from streaming.events import ChangeEvent, EndEvent, Event, GapEvent, WindowEvent
from streaming.summary import SummaryBuilder


class RunLog:
    """Window rows (and, in JSON Lines, changes, gaps and the final summary) to `writer`. A
    failed write is kept as `error` and ends the writing, keeping the rows already written."""

    def __init__(self, writer: RecordWriter | None, labels: tuple[str, ...]) -> None:
        self.writer = writer
        self.labels = labels
        self.summary = SummaryBuilder(labels)
        self.stats: dict[str, Any] = {}
        self.error: str | None = None
        self.record: dict[str, Any] | None = None  # the summary, once closed
        self.closed = False

    def add(self, event: Event) -> None:
        """Take one event from the pipeline (errors are the caller's to report)."""
        if isinstance(event, WindowEvent):
            self.summary.add(event)
            record = event.record()
            if record["probs"] is None:  # silence: every class column, empty
                record["probs"] = dict.fromkeys(self.labels)
            self._write(record)
        elif isinstance(event, ChangeEvent | GapEvent):
            self._write(event.record(), jsonl_only=True)
        elif isinstance(event, EndEvent):
            self.stats = event.stats

    def _write(self, record: dict[str, Any], jsonl_only: bool = False) -> None:
        if self.writer is None or (jsonl_only and self.writer.format != "jsonl"):
            return
        try:
            self.writer.write(record)
        except SerError as exc:
            self.error = str(exc)
            self._close_writer()

    def _close_writer(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()

    def close(self) -> dict[str, Any]:
        """Write the summary line (JSON Lines) and move the output into place; once."""
        if self.record is None:
            self.record = self.summary.summary(self.stats)
            if not self.closed:
                self._write(self.record, jsonl_only=True)
        self.discard()
        return self.record

    def discard(self) -> None:
        """Close without a summary: a run that never started leaves no output behind."""
        self.closed = True
        self._close_writer()
