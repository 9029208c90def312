"""Run a source through the live pipeline to its end and collect what it published: the one
code path that ser-live, ser-predict, stream evaluation and ser-bench share."""

from collections.abc import Iterator
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


def iter_windows(
    source: AudioSource, predictor: Predictor, config: WorkerConfig, stats: dict[str, Any]
) -> Iterator[WindowEvent]:
    """The window events of `source` as the worker publishes them, its end statistics into
    `stats`; SerError when the source or the worker failed."""
    pipeline = LivePipeline(source, predictor, config)
    pipeline.start()
    try:
        for event in pipeline.iter_events():
            if isinstance(event, WindowEvent):
                yield event
            elif isinstance(event, ErrorEvent):
                raise SerError(event.message)
            elif isinstance(event, EndEvent):
                stats.update(event.stats)
    finally:
        pipeline.stop()


def replay(source: AudioSource, predictor: Predictor, config: WorkerConfig) -> Replay:
    """All window events of `source`; SerError when the source or the worker failed."""
    result = Replay()
    result.windows = list(iter_windows(source, predictor, config, result.stats))
    return result
