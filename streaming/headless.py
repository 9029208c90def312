"""Headless run: events to a CSV/JSONL writer, a summary at the end or on Ctrl-C."""

import sys

from ser.cli_support import report_error
from ser.records import RecordWriter
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.summary import SummaryBuilder, format_summary


def run_headless(pipeline: LivePipeline, writer: RecordWriter, prog: str) -> int:
    """Drive the pipeline to its end; 1 when it failed, 0 otherwise (Ctrl-C included)."""
    summary = SummaryBuilder(pipeline.predictor.labels)
    code, stats = 0, {}
    pipeline.start()
    events = pipeline.iter_events()
    try:
        for event in events:
            code, stats = _handle(event, writer, summary, prog, code, stats)
    except KeyboardInterrupt:
        pipeline.stop()
        for event in pipeline.iter_events():  # drain what was already computed
            code, stats = _handle(event, writer, summary, prog, code, stats)
    finally:
        pipeline.stop()
        record = summary.summary(stats)
        if writer.format == "jsonl":
            writer.write(record)
        writer.close()
        print(format_summary(record), file=sys.stderr)
    return code


def _handle(event, writer, summary, prog, code, stats):
    if isinstance(event, WindowEvent):
        summary.add(event)
        writer.write(event.record())
    elif isinstance(event, ChangeEvent):
        if writer.format == "jsonl":
            writer.write(event.record())
    elif isinstance(event, ErrorEvent):
        report_error(prog, event.message)
        code = 1
    elif isinstance(event, EndEvent):
        stats = event.stats
    return code, stats
