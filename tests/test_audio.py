"""Audio loading: resampling, down-mixing and clear errors for bad files."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import synth

from ser.audio import load_waveform
from ser.errors import AudioError


def dominant_frequency(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(x.size, 1 / rate)[spectrum.argmax()])


def test_8k_stereo_becomes_16k_mono(tmp_path: Path) -> None:
    left = synth.tone(440, 2.0, rate=8000)
    path = synth.write(tmp_path / "x.wav", np.stack([left, left], axis=1), 8000)
    waveform = load_waveform(path).numpy()
    assert waveform.ndim == 1 and waveform.shape[0] == 32000
    assert abs(dominant_frequency(waveform, 16000) - 440) < 2


def test_44k_flac_resampled(tmp_path: Path) -> None:
    path = synth.write(tmp_path / "x.flac", synth.tone(1000, 1.0, rate=44100), 44100)
    waveform = load_waveform(path).numpy()
    assert waveform.shape[0] == 16000
    assert abs(dominant_frequency(waveform, 16000) - 1000) < 2


def test_downmix_averages_channels(tmp_path: Path) -> None:
    stereo = np.stack([np.full(1600, 0.5, "f4"), np.full(1600, -0.1, "f4")], axis=1)
    path = synth.write(tmp_path / "s.wav", stereo)
    assert np.allclose(load_waveform(path).numpy(), 0.2, atol=1e-4)


def test_bad_inputs_raise_one_line_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n")
    no_samples = tmp_path / "zero.wav"
    sf.write(no_samples, np.zeros((0, 1), "f4"), 16000)
    nan = tmp_path / "nan.wav"
    data = synth.tone(300, 1.0)
    data[100] = np.nan
    sf.write(nan, data, 16000, subtype="FLOAT")
    for path, phrase in [
        (tmp_path / "missing.wav", "no such file"),
        (empty, "cannot read audio"),
        (text, "cannot read audio"),
        (no_samples, "no audio samples"),
        (nan, "NaN"),
        (tmp_path, "directory"),
    ]:
        with pytest.raises(AudioError, match=phrase) as info:
            load_waveform(path)
        assert "\n" not in str(info.value)
