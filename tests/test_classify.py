"""Predictor.classify: one clip at any rate and channel count, as ser-test scores a clip;
Predictor.classify_file: a recording's label from its speech windows."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import synth
import torch

from ser.audio import read_audio, resample
from ser.bundle import shipped_model_path
from ser.errors import SerError
from ser.predictor import FileLabel, Predictor
from ser.windowing import Windowing
from training.corpora import Utterance
from training.dataset import ClipDataset

pytestmark = pytest.mark.skipif(not shipped_model_path().is_file(), reason="no shipped model")


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load(None, "cpu", "fp32")


def band_limited_speech() -> np.ndarray:
    """espeak-ng speech at 22.05 kHz with nothing above 6 kHz, so that any two resamplings
    of it agree."""
    voice = synth.speech(22050, sentences=1).astype(np.float64)
    freqs = np.fft.rfftfreq(voice.size, 1 / 22050)
    spectrum = np.fft.rfft(voice) * np.clip((6000 - freqs) / 1000, 0, 1)
    return np.fft.irfft(spectrum, voice.size).astype(np.float32)


def test_stereo_44k_and_mono_16k_of_the_same_audio_agree(
    tmp_path: Path, predictor: Predictor
) -> None:
    voice = torch.from_numpy(band_limited_speech())
    mono = tmp_path / "mono16k.wav"
    stereo = tmp_path / "stereo44k.wav"
    sf.write(mono, resample(voice, 22050, 16000).numpy(), 16000, subtype="FLOAT")
    high = resample(voice, 22050, 44100).numpy()
    sf.write(stereo, np.stack([high, high], 1), 44100, subtype="FLOAT")
    a, b = (predictor.classify(*read_audio(path)) for path in (mono, stereo))
    assert list(a.probabilities) == list(predictor.labels) and a.label == b.label
    assert sum(a.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert a.confidence == max(a.probabilities.values()) == a.probabilities[a.label]
    assert a.uncertain == (a.confidence < predictor.uncertain_below)
    delta = max(abs(a.probabilities[k] - b.probabilities[k]) for k in predictor.labels)
    assert delta < 1e-4, delta


@pytest.mark.parametrize("seconds", [2.0, 7.0])  # padded, cut
def test_a_clip_is_the_window_ser_test_scores(
    tmp_path: Path, predictor: Predictor, seconds: float
) -> None:
    voice = np.tile(band_limited_speech(), 3)[: round(seconds * 22050)]
    path = synth.write(tmp_path / "clip.wav", np.stack([voice, 0.3 * voice], 1), 22050)
    item = Utterance(path, label=0, speaker="x")
    clip, _ = ClipDataset([item], predictor.sample_rate, predictor.window_samples)[0]
    expected = predictor.probabilities(clip)[0]
    got = predictor.classify(*read_audio(path)).probabilities
    assert np.allclose([got[k] for k in predictor.labels], expected, atol=1e-6)


@pytest.mark.parametrize("content", [b"", b"not audio at all"])
def test_a_bad_file_is_one_error_line(tmp_path: Path, predictor: Predictor, content: bytes) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(SerError) as caught:
        predictor.classify_file(path, Windowing(1.0))
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot read audio") and "\n" not in message


def test_a_file_without_speech_has_no_label(tmp_path: Path, predictor: Predictor) -> None:
    path = synth.write(tmp_path / "hum.wav", synth.tone(100, 4.0))
    assert predictor.classify_file(path, Windowing(1.0)) == FileLabel(None, None, 0, 0)


@pytest.mark.parametrize(
    ("samples", "rate", "match"),
    [(np.zeros(0), 16000, "not \\(0,\\)"), (np.zeros((2, 3, 4)), 16000, "not \\(2, 3, 4\\)"),
     (np.full(800, np.nan), 16000, "NaN"), (np.zeros(800), 0, "sample rate")],
)  # fmt: skip
def test_unusable_arrays_are_refused(
    predictor: Predictor, samples: np.ndarray, rate: int, match: str
) -> None:
    with pytest.raises(SerError, match=match):
        predictor.classify(samples, rate)
