"""Headless run: events to a CSV/JSONL writer, a summary at the end or on Ctrl-C."""

import sys
from typing import Any

from ser.cli_support import EXIT_INTERRUPTED, report_error
from ser.records import RecordWriter
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, Event, GapEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.summary import SummaryBuilder, format_summary


class HeadlessRun:
    """Writes each event as it arrives; the summary closes the output, whatever happened."""

    def __init__(self, pipeline: LivePipeline, writer: RecordWriter, prog: str) -> None:
        self.pipeline, self.writer, self.prog = pipeline, writer, prog
        self.summary = SummaryBuilder(pipeline.predictor.labels)
        self.code = 0
        self.stats: dict[str, Any] = {}

    def run(self) -> int:
        """Drive the pipeline to its end; 1 when it failed, 130 on Ctrl-C, 0 otherwise."""
        try:
            self.pipeline.start()
            for event in self.pipeline.iter_events():
                self.handle(event)
        except KeyboardInterrupt:
            self.code = self.code or EXIT_INTERRUPTED
            print(f"{self.prog}: interrupted", file=sys.stderr)
            self.pipeline.stop()
            for event in self.pipeline.iter_events():  # what was already computed
                self.handle(event)
        finally:
            self.pipeline.stop()
            record = self.summary.summary(self.stats)
            if self.writer.format == "jsonl":
                self.writer.write(record)
            self.writer.close()
            print(format_summary(record), file=sys.stderr)
        return self.code

    def handle(self, event: Event) -> None:
        if isinstance(event, WindowEvent):
            self.summary.add(event)
            self.writer.write(event.record())
        elif isinstance(event, ChangeEvent | GapEvent):
            if self.writer.format == "jsonl":
                self.writer.write(event.record())
        elif isinstance(event, ErrorEvent):
            report_error(self.prog, event.message)
            self.code = 1
        elif isinstance(event, EndEvent):
            self.stats = event.stats
