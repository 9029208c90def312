"""Microphone source errors without a sound card: a stand-in for the sounddevice module."""

from types import SimpleNamespace

import pytest

from ser.errors import DeviceError
from streaming import sources


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
