"""Sliding-window worker: boundaries, timestamps, the silence gate, smoothing, file sources."""

import shutil
import subprocess
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import synth
import torch
from conftest import cli_env

from ser.checkpoint import load_checkpoint, update_meta
from ser.errors import CheckpointError
from ser.predictor import Predictor
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, GapEvent, WindowEvent
from streaming.pipeline import LivePipeline
from streaming.postprocess import LabelSmoother, SmootherConfig
from streaming.ring_buffer import RingBuffer
from streaming.sources import AudioSource, FileSource
from streaming.worker import WindowWorker, WorkerConfig


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
    assert all(e.probs is None or abs(sum(e.probs.values()) - 1) < 1e-3 for e in w)


class CountingPredictor:
    """The predictor, counting the windows it is asked to score."""

    def __init__(self, predictor: Predictor) -> None:
        self.inner, self.rows = predictor, 0

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def probabilities(self, windows: torch.Tensor, *args: object) -> np.ndarray:
        self.rows += len(windows)
        return self.inner.probabilities(windows, *args)


def test_silent_windows_skip_the_model(segmented_wav: Path, predictor: Predictor) -> None:
    """The model scores only the windows the gate calls speech; silent ones carry no figures."""
    counting = CountingPredictor(predictor)
    w = windows(run_file(segmented_wav, counting, hop=0.5))  # type: ignore[arg-type]
    speech = [e for e in w if e.speech]
    assert 0 < len(speech) < len(w) and counting.rows == len(speech)
    assert all(abs(sum(e.probs.values()) - 1) < 1e-3 and e.confidence for e in speech)
    silent = [e.record() for e in w if not e.speech]
    assert all(r["probs"] is None and r["confidence"] is None for r in silent)


class RecordingPredictor(CountingPredictor):
    """The predictor, keeping the windows it is asked to score."""

    def __init__(self, predictor: Predictor) -> None:
        super().__init__(predictor)
        self.windows: list[torch.Tensor] = []

    def probabilities(self, windows: torch.Tensor, *args: object) -> np.ndarray:
        self.windows += list(windows)
        return super().probabilities(windows, *args)


def test_each_sample_resampled_once(
    tmp_path: Path, segments: tuple, segmented_wav: Path, predictor: Predictor
) -> None:
    """44.1 kHz stereo: the model's 16 kHz windows are a one-shot soxr resample of the whole
    down-mixed file, cut at each window's end; the labels match the 16 kHz file's."""
    mono = soxr.resample(segments[0], 16000, 44100).astype(np.float32)
    stereo = np.stack([1.2 * mono, 0.8 * mono], axis=1)
    path = synth.write(tmp_path / "x.wav", stereo, 44100)
    recording = RecordingPredictor(predictor)
    w = windows(run_file(path, recording, hop=0.5))  # type: ignore[arg-type]
    expected = soxr.resample(stereo.mean(axis=1), 44100, 16000)
    speech = [e for e in w if e.speech]
    assert len(speech) == len(recording.windows) >= 5
    for event, clip in zip(speech, recording.windows, strict=True):
        end = round(event.end * 16000)
        want = torch.from_numpy(expected[max(0, end - clip.shape[0]) : end].copy())
        assert np.abs(clip[160 : want.shape[0]] - want[160:]).max() < 1e-3
    narrow = windows(run_file(segmented_wav, predictor, hop=0.5))
    assert [e.label for e in w] == [e.label for e in narrow]


def test_short_file_still_gives_one_window(tmp_path: Path, predictor: Predictor) -> None:
    path = synth.write(tmp_path / "short.wav", synth.tone(300, 0.7))
    w = windows(run_file(path, predictor))
    assert len(w) == 1 and w[0].start == 0 and w[0].end == pytest.approx(0.7)


def test_speech_gate_labels_speech_windows_only(
    segmented_wav: Path, segments: tuple, predictor: Predictor
) -> None:
    """A window is speech when enough of it is: windows that overlap speech by a second or more
    get a label; windows with no speech at all (silence, white noise) get none."""
    speech = [(s, t) for kind, s, t in segments[1] if kind == "speech"]
    labelled = unlabelled = 0
    for e in windows(run_file(segmented_wav, predictor, hop=0.5)):
        overlap = sum(max(0.0, min(e.end, t) - max(e.start, s)) for s, t in speech)
        if overlap == 0:
            assert not e.speech and e.label is None and e.smoothed is None, e
            unlabelled += 1
        elif overlap >= 1.0:
            assert e.speech and e.label is not None and e.speech_share > 0, e
            labelled += 1
    assert labelled >= 5 and unlabelled >= 5  # both branches ran


def test_speaking_follows_the_newest_hop(
    segmented_wav: Path, segments: tuple, predictor: Predictor
) -> None:
    (start, end), hop = next((s, t) for kind, s, t in segments[1] if kind == "speech"), 0.5
    w = windows(run_file(segmented_wav, predictor, hop=hop))
    inside = [e for e in w if start + 0.5 <= e.end - hop and e.end <= end - 0.5]
    after = [e for e in w if end + 0.5 <= e.end - hop]
    assert inside and after
    assert sum(e.speaking for e in inside) >= 0.8 * len(inside)
    assert not any(e.speaking for e in after)
    # Right after speech stops the window is still speech, but nobody is speaking now.
    assert any(e.speech and not e.speaking for e in after)


def test_smoother_holds_label_against_flicker() -> None:
    labels = ("a", "b", "c")
    smoother = LabelSmoother(labels)
    rng = np.random.default_rng(0)
    out = []
    lead = SmootherConfig().switch_margin / 2  # each flip leads by half the margin
    for i in range(40):
        p = np.array([0.4 + lead, 0.4, 0.2]) if i % 2 else np.array([0.4, 0.4 + lead, 0.2])
        p = p + rng.normal(0, 0.001, 3)
        out.append(smoother.update(p / p.sum()))
    changes = sum(a != b for a, b in pairwise(out))
    assert changes == 0
    for _ in range(6):
        last = smoother.update(np.array([0.05, 0.05, 0.9]))
    assert last == "c"
    assert smoother.update(None) is None


def test_smoother_settings_are_tuned_into_the_model_file_and_used(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    model_file = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, model_file)
    root = synth.make_ravdess(tmp_path / "ravdess", per_class=3, seconds=3.0)
    command = [sys.executable, "-m", "training.tune_smoother", "--checkpoint", str(model_file)]
    command += ["--root", str(root), "--num-workers", "0", "--write"]
    result = subprocess.run(command, env=cli_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "smoother settings stored" in result.stdout
    stored = load_checkpoint(model_file)
    settings = stored.meta["smoother"]
    assert set(settings) == {"alpha", "switch_margin"}
    before = load_checkpoint(tiny_checkpoint).model.state_dict()
    assert all(torch.equal(v, stored.model.state_dict()[k]) for k, v in before.items())

    source = FileSource(synth.write(tmp_path / "x.wav", synth.tone(300, 6.0)), realtime=False)

    def smoother_of(path: Path, config: WorkerConfig) -> SmootherConfig:
        return WindowWorker(source, Predictor.load(path, "cpu"), config, print).smoother.config

    assert smoother_of(model_file, WorkerConfig(1.0)) == SmootherConfig(**settings)
    chosen = SmootherConfig(0.3, 0.2)  # an explicit setting wins over the file's
    assert smoother_of(model_file, WorkerConfig(1.0, smoother=chosen)) == chosen
    # A file without settings: the defaults.
    assert smoother_of(tiny_checkpoint, WorkerConfig(1.0)) == SmootherConfig()


@pytest.mark.parametrize(
    "settings", [{"alpha": "fast"}, {"alpha": 0.0}, {"alpha": 0.5, "window": 3}, [0.5, 0.1]]
)
def test_invalid_smoother_settings_in_a_model_file_are_refused(
    tmp_path: Path, tiny_checkpoint: Path, settings: object
) -> None:
    model_file = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, model_file)
    update_meta(model_file, {"smoother": settings})
    source = FileSource(synth.write(tmp_path / "x.wav", synth.tone(300, 6.0)), realtime=False)
    with pytest.raises(CheckpointError, match=r"model\.pt: invalid smoother settings"):
        WindowWorker(source, Predictor.load(model_file, "cpu"), WorkerConfig(1.0), print)


def test_change_events_follow_smoothed_label(segmented_wav: Path, predictor: Predictor) -> None:
    events = run_file(segmented_wav, predictor, hop=0.5)
    smoothed, changes = None, 0
    for e in events:
        if isinstance(e, WindowEvent):
            current = e.smoothed
        elif isinstance(e, ChangeEvent):
            assert e.previous == smoothed and e.label == current
            smoothed, changes = e.label, changes + 1
    # At least silence -> an emotion when speech starts, and back to silence after it.
    assert changes >= 2 and smoothed is None


@pytest.mark.parametrize(
    ("name", "rate", "channels"),
    [("a.wav", 16000, 1), ("b.flac", 44100, 2), ("c.wav", 8000, 2), ("d.flac", 48000, 1)],
)
def test_file_source_formats(
    tmp_path: Path, predictor: Predictor, name: str, rate: int, channels: int
) -> None:
    voice = synth.speech(rate, sentences=1)
    data = np.stack([voice] * channels, axis=1) if channels > 1 else voice
    path = synth.write(tmp_path / name, data, rate)
    events = run_file(path, predictor)
    w = windows(events)
    assert not [e for e in events if isinstance(e, ErrorEvent)]
    assert w[-1].end == pytest.approx(voice.size / rate, abs=1e-3)
    assert all(e.speech for e in w[1:])  # the resampled audio reaches the VAD at every rate


def test_nan_in_stream_is_an_error_event(tmp_path: Path, predictor: Predictor) -> None:
    data = synth.tone(300, 8.0)
    data[16000 * 6] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    events = run_file(path, predictor)
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(errors) == 1 and "NaN" in errors[0].message
    assert windows(events), "windows computed before the bad block are kept"


class BurstySource(AudioSource):
    """A device that delivers blocks without waiting for the reader (as a callback does),
    into a ring too small to hold them all: some blocks are dropped."""

    def __init__(self, audio: np.ndarray, rate: int = 16000, ring_seconds: float = 6.0) -> None:
        super().__init__()
        self.sample_rate, self.channels, self.audio = rate, 1, audio
        self.description = "bursty test source"
        self.ring = RingBuffer(round(ring_seconds * rate), 1)
        self.delivered = 0

    def start(self) -> None:
        threading.Thread(target=self._deliver, daemon=True).start()

    def _deliver(self) -> None:
        block = self.sample_rate // 10
        for i in range(0, self.audio.size, block):
            self.ring.write(self.audio[i : i + block, None])
            self.delivered += min(block, self.audio.size - i)
            if i >= 10 * self.sample_rate:  # 10 s in one burst, then 10x real time
                time.sleep(0.01)
        self.finished = True

    def stop(self) -> None:
        self.finished = True


def test_dropped_audio_keeps_the_stream_clock_and_is_marked(
    tmp_path: Path, predictor: Predictor
) -> None:
    audio = synth.tone(300, 20.0)
    source = BurstySource(audio)
    record = tmp_path / "heard.wav"
    pipeline = LivePipeline(source, predictor, WorkerConfig(1.0), record)
    pipeline.start()
    events = list(pipeline.iter_events())
    gaps = [e for e in events if isinstance(e, GapEvent)]
    w = windows(events)
    lost = source.ring.dropped_frames / 16000
    assert gaps and lost > 0 and sum(g.seconds for g in gaps) == pytest.approx(lost)
    # The clock counts every delivered frame: the last window ends where the delivered audio
    # ends, less any audio lost after it (a slow host may drop the tail too).
    trailing = sum(g.seconds for g in gaps if g.start >= w[-1].end - 1e-6)
    assert w[-1].end + trailing == pytest.approx(source.delivered / 16000, abs=1e-3)
    assert any(g.start < w[-1].end for g in gaps)  # and a gap inside the stream
    assert all(e.end <= g.start or e.start >= g.start or e.gap for e in w for g in gaps)
    assert any(e.gap for e in w)
    assert sf.info(str(record)).frames == source.delivered  # silence stands in for the loss
    assert events[-1].stats["dropped_blocks"] == source.ring.dropped_blocks > 0
