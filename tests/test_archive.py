"""Archive scoring (ser-predict, ser-test --streams): loader workers and batched windows give the
live path's events and rows."""

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import synth

from ser.bundle import shipped_model_path
from ser.predictor import Predictor
from streaming.archive import score_files
from streaming.events import WindowEvent
from streaming.replay import replay
from streaming.sources import FileSource
from streaming.worker import WorkerConfig

pytestmark = pytest.mark.skipif(not shipped_model_path().is_file(), reason="no shipped model")


def mixed_files(folder: Path) -> list[Path]:
    """Speech at 22.05 kHz, speech after silence in stereo, a hum without speech."""
    talk = synth.speech(22050, sentences=2)
    late = np.concatenate([np.zeros(2 * 16000, np.float32), synth.speech(16000, sentences=1)])
    return [
        synth.write(folder / "a_talk.wav", talk, 22050),
        synth.write(folder / "b_late.flac", np.stack([late, 0.5 * late], 1)),
        synth.write(folder / "c_hum.wav", synth.tone(100, 6.0)),
    ]


def comparable(event: WindowEvent) -> dict:
    """Everything an event says but when it was computed."""
    return {k: v for k, v in asdict(event).items() if k not in ("wall_time", "latency_ms")}


def test_archive_events_equal_live_replay(tmp_path: Path) -> None:
    files = mixed_files(tmp_path)
    missing = tmp_path / "missing.wav"
    predictor = Predictor.load(None, "cpu")
    config = WorkerConfig(1.0)
    live = [replay(FileSource(f, realtime=False), predictor, config).windows for f in files]
    paths = [str(files[0]), str(missing), *map(str, files[1:])]
    results = {r.path: r for r in score_files(paths, predictor, config, workers=2)}
    assert results[str(missing)].error == f"{missing}: no such file"
    assert sum(w.speech for w in live[0]) > 0 and not any(w.speech for w in live[2])
    for path, windows in zip(files, live, strict=True):
        archived = results[str(path)]
        assert archived.error is None
        assert [comparable(w) for w in archived.windows] == [comparable(w) for w in windows]
