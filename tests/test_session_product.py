"""Session adaptation and calibrated confidence in the product: the Predictor, the worker's
events, the smoother, `--no-adapt` and bad settings, each against a hand-computed answer."""

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import synth
import torch

from ser.bundle import shipped_model_path
from ser.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ser.errors import CheckpointError
from ser.predictor import Predictor
from streaming.postprocess import LabelSmoother
from streaming.predict_output import file_row, window_label
from streaming.replay import replay
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from training.synthetic_audio import speech_like

ADAPTATION = {"prior_windows": 2.0, "reset_after_silence": 10.0}
CALIBRATION = {"weights": [math.log(2.0), 0.0, 0.0, 0.0], "uncertain_below": 0.5}  # T = 2


def with_meta(tmp_path: Path, **entries: object) -> Checkpoint:
    """The shipped model written again with extra metadata, loaded back."""
    checkpoint = load_checkpoint(shipped_model_path())
    meta = {**checkpoint.meta, **entries}
    path = save_checkpoint(tmp_path / "model.pt", checkpoint.model, checkpoint.labels, meta=meta)
    return load_checkpoint(path)


def pooled_by_hand(checkpoint: Checkpoint, windows: torch.Tensor) -> torch.Tensor:
    model = checkpoint.model.eval()
    with torch.inference_mode():
        return model.net.pooled(model.frontend(windows))


def probs_by_hand(checkpoint: Checkpoint, adapted: torch.Tensor, temperature: float) -> np.ndarray:
    with torch.inference_mode():
        logits = checkpoint.model.net.classify(adapted)
    return (logits / temperature).softmax(dim=-1).numpy()


@pytest.fixture(scope="module")
def windows() -> torch.Tensor:
    return torch.from_numpy(np.stack([speech_like(5.0, seed=i) * 0.1 for i in range(3)]))


def one_session(tmp_path: Path, windows: torch.Tensor, speech: list[bool], ends: list[float]):
    """An adapting, calibrated model's probabilities of `windows` as one session; the model,
    its session, the windows' pooled features and the training mean."""
    checkpoint = with_meta(tmp_path, adaptation=ADAPTATION, calibration=CALIBRATION)
    predictor = Predictor(checkpoint, "cpu", "fp32")
    session = predictor.new_session()
    probs = predictor.probabilities(windows, np.array(speech), [session] * len(ends), ends)
    mean = checkpoint.model.net.heads[0].feature_mean
    return probs, predictor, session, pooled_by_hand(checkpoint, windows), mean


def test_speech_windows_are_adapted_to_their_session_and_calibrated(
    tmp_path: Path, windows: torch.Tensor
) -> None:
    probs, predictor, session, pooled, mean = one_session(
        tmp_path, windows, [True, False, True], [5.0, 6.0, 7.0]
    )
    # Prior of 2 windows at the training mean; the silent window neither counts nor moves it.
    first = (2 * mean + pooled[0]) / 3
    third = (2 * mean + pooled[0] + pooled[2]) / 4
    means = torch.stack([first, first, third])
    expected = probs_by_hand(load_checkpoint(tmp_path / "model.pt"), pooled - means + mean, 2.0)
    np.testing.assert_allclose(probs, expected, atol=1e-4)
    assert session.windows == 2 and predictor.uncertain_below == 0.5


def test_a_long_silence_starts_a_new_session_and_no_adapt_leaves_features_alone(
    tmp_path: Path, windows: torch.Tensor
) -> None:
    probs, _, session, pooled, mean = one_session(tmp_path, windows, [True] * 3, [5.0, 6.0, 30.0])
    checkpoint = load_checkpoint(tmp_path / "model.pt")
    fresh = (2 * mean + pooled[2]) / 3  # 24 s after the last speech: the session began again
    expected = probs_by_hand(checkpoint, pooled[2:] - fresh + mean, temperature=2.0)
    np.testing.assert_allclose(probs[2:], expected, atol=1e-4)
    assert session.windows == 1

    unadapted = Predictor(checkpoint, "cpu", "fp32", adapt=False)
    probs = unadapted.probabilities(windows, np.ones(3, bool), [unadapted.new_session()] * 3)
    np.testing.assert_allclose(probs, probs_by_hand(checkpoint, pooled, 2.0), atol=1e-4)


def test_a_file_without_session_settings_predicts_as_before(windows: torch.Tensor) -> None:
    checkpoint = load_checkpoint(shipped_model_path())
    plain = replace(checkpoint, meta={k: v for k, v in checkpoint.meta.items()
                                      if k not in ("adaptation", "calibration")})  # fmt: skip
    predictor = Predictor(plain, "cpu", "fp32")
    assert predictor.new_session() is None and predictor.uncertain_below == 0.0
    expected = probs_by_hand(plain, pooled_by_hand(plain, windows), temperature=1.0)
    np.testing.assert_allclose(predictor.probabilities(windows), expected, atol=1e-4)


@pytest.mark.parametrize(
    "entries",
    [
        {"calibration": {"weights": [0.0, 1.0], "uncertain_below": 0.3}},
        {"calibration": {"weights": [0.0, 0.0, 0.0, 0.0], "uncertain_below": 1.5}},
        {"adaptation": {"prior_windows": -1.0, "reset_after_silence": 20.0}},
        {"adaptation": {"prior": 30}},
    ],
)
def test_tampered_session_settings_are_a_checkpoint_error(tmp_path: Path, entries: dict) -> None:
    with pytest.raises(CheckpointError, match="invalid adaptation or calibration"):
        Predictor(with_meta(tmp_path, **entries), "cpu", "fp32")


def test_an_uncertain_window_moves_the_average_but_never_switches_the_label() -> None:
    labels = ("anger", "sad")
    smoother = LabelSmoother(labels)
    assert smoother.update(np.array([0.9, 0.1])) == "anger"
    assert smoother.update(np.array([0.1, 0.9]), hold=True) == "anger"
    assert smoother.update(np.array([0.2, 0.8])) == "sad"
    assert LabelSmoother(labels).update(np.array([0.4, 0.6]), hold=True) == "sad"  # nothing held


def test_events_flag_uncertain_windows_and_hold_the_smoothed_label(tmp_path: Path) -> None:
    unsure = {**CALIBRATION, "uncertain_below": 0.99}  # every speech window is uncertain
    predictor = Predictor(with_meta(tmp_path, calibration=unsure), "cpu", "bf16")
    wav = synth.write(tmp_path / "speech.wav", synth.speech(sentences=3))
    events = replay(FileSource(wav, realtime=False), predictor, WorkerConfig(1.0)).windows
    speech = [e for e in events if e.speech]
    assert speech, "the generated speech must pass the gate"
    assert all(e.uncertain and e.confidence < 0.99 for e in speech)
    assert not any(e.uncertain for e in events if not e.speech)
    assert len({e.smoothed for e in speech}) == 1  # held from the first speech window on
    assert events[0].record()["uncertain"] is events[0].uncertain
    row = file_row(str(wav), predictor.labels, window_label(predictor.labels, events))
    assert row["uncertain_windows"] == row["speech_windows"] == len(speech)
