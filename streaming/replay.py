"""Run a source through the live pipeline to its end and collect what it published: the one
code path that ser-live, ser-predict, stream evaluation and ser-bench share."""

from dataclasses import dataclass, field
from typing import Any

from ser.errors import SerError
from ser.predictor import Predictor
from streaming.events import EndEvent, ErrorEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.sources import AudioSource
from streaming.worker import WorkerConfig


@dataclass
class Replay:
    """Window events in order and the worker's end statistics."""

    windows: list[WindowEvent] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def replay(source: AudioSource, predictor: Predictor, config: WorkerConfig) -> Replay:
    """All window events of `source`; SerError when the source or the worker failed."""
    pipeline = LivePipeline(source, predictor, config)
    result = Replay()
    pipeline.start()
    try:
        for event in pipeline.iter_events():
            if isinstance(event, WindowEvent):
                result.windows.append(event)
            elif isinstance(event, ErrorEvent):
                raise SerError(event.message)
            elif isinstance(event, EndEvent):
                result.stats = event.stats
    finally:
        pipeline.stop()
    return result
