"""Sources: microphone errors without a sound card (a stand-in for the sounddevice module), and
in-memory audio played as a file is."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import synth
from conftest import comparable

from ser.errors import AudioError, DeviceError
from ser.predictor import Predictor
from streaming import sources
from streaming.archive import score_files
from streaming.replay import replay
from streaming.sources import ArraySource, AudioArray, FileSource
from streaming.worker import WorkerConfig


class PortAudioError(Exception):
    pass


class RefusingStream:
    """An input stream that opens but will not start (device taken by another program)."""

    def __init__(self, **kwargs: object) -> None:
        self.closed = False

    def start(self) -> None:
        raise PortAudioError("Device unavailable [PaErrorCode -9985]")

    def close(self, ignore_errors: bool = True) -> None:
        self.closed = True


def fake_sounddevice() -> SimpleNamespace:
    info = {"index": 2, "name": "Fake Mic", "max_input_channels": 1, "default_samplerate": 48000.0}
    return SimpleNamespace(
        PortAudioError=PortAudioError,
        query_devices=lambda device=None, kind=None: info,
        check_input_settings=lambda *args, **kwargs: None,
        InputStream=RefusingStream,
    )


def test_a_stream_that_will_not_start_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "_sounddevice", fake_sounddevice)
    source = sources.MicrophoneSource(2)
    assert source.sample_rate == 48000 and source.ring.free > 0
    with pytest.raises(DeviceError, match="cannot start the input stream: Device unavailable"):
        source.start()
    source.stop()
    assert source.finished


def test_array_source_replays_as_the_file_does(tmp_path: Path, tiny_checkpoint: Path) -> None:
    voice = synth.speech(22050, sentences=1)
    late = np.concatenate([np.zeros(3 * 22050, np.float32), voice, np.zeros(22050, np.float32)])
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([late, 0.5 * late], 1), 22050, subtype="PCM_16")
    audio, rate = sf.read(path, dtype="float32")  # the samples the file holds
    predictor, config = Predictor.load(tiny_checkpoint, "cpu"), WorkerConfig(0.5)
    played = replay(FileSource(path, realtime=False), predictor, config).windows
    from_memory = replay(ArraySource(audio, rate, realtime=False), predictor, config).windows
    assert len(played) >= 8 and any(w.speech for w in played) and not played[0].speech
    assert [comparable(w) for w in from_memory] == [comparable(w) for w in played]
    (scored,) = score_files([AudioArray("mem", audio, rate)], predictor, config, workers=0)
    assert scored.path == "mem" and scored.error is None
    assert [comparable(w) for w in scored.windows] == [comparable(w) for w in played]


@pytest.mark.parametrize(
    ("samples", "rate", "match"),
    [(np.zeros(0), 16000, "samples, not \\(0,\\)"), (np.zeros((9, 0)), 16000, "not \\(9, 0\\)"),
     (np.zeros((2, 3, 4)), 16000, "not \\(2, 3, 4\\)"), (np.zeros(9), 0, "rate must be positive")],
)  # fmt: skip
def test_array_source_refuses_unusable_audio(samples: np.ndarray, rate: int, match: str) -> None:
    with pytest.raises(AudioError, match=match):
        ArraySource(samples, rate)


def test_array_source_with_nan_ends_with_an_error() -> None:
    source = ArraySource(np.full(1600, np.nan), 16000, "bad", realtime=False)
    source.start()
    source.stop()
    assert source.finished and source.error == "bad: contains NaN or infinite samples"
