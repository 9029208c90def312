"""Sliding-window worker: boundaries, timestamps, the silence gate, smoothing, file sources."""

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import synth

from ser.predictor import Predictor
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.postprocess import EnergyGate, LabelSmoother
from streaming.sources import FileSource
from streaming.worker import WorkerConfig


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint: Path) -> Predictor:
    return Predictor.load(tiny_checkpoint, device="cpu")


def run_file(path: Path, predictor: Predictor, hop: float = 1.0, **kw: float) -> list:
    pipeline = LivePipeline(FileSource(path, realtime=False), predictor, WorkerConfig(hop, **kw))
    pipeline.start()
    return list(pipeline.iter_events())


def windows(events: list) -> list[WindowEvent]:
    return [e for e in events if isinstance(e, WindowEvent)]


def test_window_boundaries_and_timestamps(tmp_path: Path, predictor: Predictor) -> None:
    path = synth.write(tmp_path / "x.wav", synth.tone(300, 12.3))
    events = run_file(path, predictor, hop=1.0, min_start_seconds=1.5)
    w = windows(events)
    assert [e.end for e in w] == [*[float(t) for t in range(2, 13)], pytest.approx(12.3)]
    assert [e.start for e in w[:4]] == [0.0, 0.0, 0.0, 0.0]  # short start: padded windows
    assert all(e.end - e.start == pytest.approx(5.0) for e in w[3:])
    assert [e.index for e in w] == list(range(len(w)))
    assert w[0].span_start == 0 and all(b.span_start == a.end for a, b in pairwise(w))
    assert isinstance(events[-1], EndEvent) and events[-1].stats["dropped_blocks"] == 0
    assert all(abs(sum(e.probs.values()) - 1) < 1e-3 for e in w)


def test_short_file_still_gives_one_window(tmp_path: Path, predictor: Predictor) -> None:
    path = synth.write(tmp_path / "short.wav", synth.tone(300, 0.7))
    w = windows(run_file(path, predictor))
    assert len(w) == 1 and w[0].start == 0 and w[0].end == pytest.approx(0.7)


def test_silence_gate_marks_exactly_the_silent_spans(
    segmented_wav: Path, predictor: Predictor
) -> None:
    hop = 0.5
    w = windows(run_file(segmented_wav, predictor, hop=hop))
    silent = synth.silent_spans()
    for e in w:
        inside_silence = any(s + hop <= e.span_start and e.end <= t for s, t in silent)
        inside_sound = not any(e.span_start < t and s < e.end for s, t in silent)
        if inside_silence:  # spans within one hop of an edge may go either way
            assert not e.speech and e.label is None and e.smoothed is None, e
        if inside_sound:
            assert e.speech and e.label is not None, e


def test_gate_hysteresis_ignores_short_clicks() -> None:
    gate = EnergyGate(16000)
    quiet = np.zeros(16000, np.float32)
    click = quiet.copy()
    click[8000:8160] = 0.5  # 10 ms click
    assert not gate.update(click).any()
    assert gate.update(synth.tone(300, 0.5)).any()


def test_smoother_holds_label_against_flicker() -> None:
    labels = ("a", "b", "c")
    smoother = LabelSmoother(labels)
    rng = np.random.default_rng(0)
    out = []
    for i in range(40):
        p = np.array([0.45, 0.40, 0.15]) if i % 2 else np.array([0.40, 0.45, 0.15])
        p = p + rng.normal(0, 0.01, 3)
        out.append(smoother.update(p / p.sum()))
    changes = sum(a != b for a, b in pairwise(out))
    assert changes == 0
    for _ in range(6):
        last = smoother.update(np.array([0.05, 0.05, 0.9]))
    assert last == "c"
    assert smoother.update(None) is None


def test_change_events_follow_smoothed_label(segmented_wav: Path, predictor: Predictor) -> None:
    events = run_file(segmented_wav, predictor, hop=0.5)
    smoothed = None
    for e in events:
        if isinstance(e, WindowEvent):
            current = e.smoothed
        elif isinstance(e, ChangeEvent):
            assert e.previous == smoothed and e.label == current
            smoothed = e.label


@pytest.mark.parametrize(
    ("name", "rate", "channels"),
    [("a.wav", 16000, 1), ("b.flac", 44100, 2), ("c.wav", 8000, 2), ("d.flac", 48000, 1)],
)
def test_file_source_formats(
    tmp_path: Path, predictor: Predictor, name: str, rate: int, channels: int
) -> None:
    tone = synth.tone(300, 6.5, rate)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    path = synth.write(tmp_path / name, data, rate)
    events = run_file(path, predictor)
    w = windows(events)
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    assert w[-1].end == pytest.approx(6.5, abs=1e-3)
    assert all(e.speech for e in w)


def test_nan_in_stream_is_an_error_event(tmp_path: Path, predictor: Predictor) -> None:
    import soundfile as sf

    data = synth.tone(300, 8.0)
    data[16000 * 6] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    events = run_file(path, predictor)
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and "NaN" in errors[0].message
    assert windows(events), "windows computed before the bad block are kept"
