"""Headless run: events to a CSV/JSONL writer, a summary at the end or when a signal ends it."""

from ser.cli_support import ending_signal, hold_signals, report_ending, report_error, say
from ser.errors import SerError
from ser.records import RecordWriter
from streaming.events import ErrorEvent
from streaming.pipeline import LivePipeline
from streaming.run_log import RunLog
from streaming.summary import format_summary


class HeadlessRun:
    """Writes each event as it arrives; the summary closes the output, whatever happened."""

    def __init__(self, pipeline: LivePipeline, writer: RecordWriter, prog: str) -> None:
        self.pipeline, self.prog = pipeline, prog
        self.log = RunLog(writer, pipeline.predictor.labels)
        self.code = 0

    def run(self) -> int:
        """Drive the pipeline to its end: 0 done, 1 failed, 128 + the signal that ended it
        (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP); what was computed is written either way."""
        try:
            self._start()
            self._drain()
        except KeyboardInterrupt as exc:
            hold_signals()
            self.code = report_ending(self.prog, ending_signal(exc))
            self.pipeline.stop()
            self._drain()  # what was already computed
        finally:
            hold_signals()
            self.pipeline.stop()
            record = self.log.close()
            say(format_summary(record))
        return self.code

    def _start(self) -> None:
        """Start capture; when it cannot start, the output is left as it was."""
        try:
            self.pipeline.start()
        except SerError:
            self.log.discard()
            raise

    def _drain(self) -> None:
        for event in self.pipeline.iter_events():
            self.log.add(event)
            if isinstance(event, ErrorEvent):
                report_error(self.prog, event.message)
                self.code = 1
            if self.log.error is not None and self.code == 0:
                report_error(self.prog, self.log.error)
                self.code = 1
                self.pipeline.stop()
