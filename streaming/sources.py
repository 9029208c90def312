"""Audio sources that feed a ring buffer: a PortAudio microphone, or a file or in-memory audio
played as one."""

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ser.errors import AudioError, DeviceError
from streaming.ring_buffer import RingBuffer

RING_SECONDS = 30.0
NARROWBAND_RATE = 8000  # telephone band: speech above 4 kHz is missing


def narrowband_warning(rate: int) -> str | None:
    """One line for input sampled at 8 kHz or less, with what it costs; None otherwise.
    The figures come from `python -m benchmarks.narrowband` (the RAVDESS test streams)."""
    if rate > NARROWBAND_RATE:
        return None
    return (
        f"input sampled at {rate} Hz lacks speech above {rate // 2} Hz; the model hears 16 kHz: "
        "8 kHz audio lowered window accuracy from 81 % to 76 % on the RAVDESS test streams"
    )


class AudioSource(ABC):
    """Produces native-rate (frames, channels) float32 audio into `ring`."""

    sample_rate: int
    channels: int
    ring: RingBuffer
    description: str

    def __init__(self) -> None:
        self.finished = False  # no more audio will come
        self.error: str | None = None  # why the source failed, if it did
        self.paused = False
        self.live_clock = True  # audio arrives at its own pace (False: as fast as consumed)
        self.overflows = 0  # blocks the audio driver itself reported as overflowed

    @abstractmethod
    def start(self) -> None:
        """Begin delivering audio."""

    @abstractmethod
    def stop(self) -> None:
        """Stop delivering audio and release the device or file."""

    def check(self) -> None:  # noqa: B027 - optional hook, most sources need none
        """Hook for the worker to detect a source that stopped delivering."""

    def _make_ring(self) -> None:
        self.ring = RingBuffer(round(self.sample_rate * RING_SECONDS), self.channels)


class PlayedSource(AudioSource):
    """Audio of known length played into the ring in blocks, paced in real time or as fast as
    the worker goes; a subclass reads the blocks (raising AudioError when it cannot)."""

    def __init__(
        self,
        name: str,
        sample_rate: int,
        shape: tuple[int, int],
        realtime: bool,
        block_seconds: float,
    ) -> None:
        super().__init__()
        self.name = name  # what messages call it
        self.sample_rate, self.channels = sample_rate, shape[1]
        self.duration = shape[0] / sample_rate
        self.realtime = realtime
        self.live_clock = realtime
        self.block_frames = max(1, round(block_seconds * sample_rate))
        self._make_ring()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="played-source", daemon=True)

    @property
    def mode(self) -> str:
        """How it plays, for descriptions."""
        return "real time" if self.realtime else "fast"

    @abstractmethod
    def _read(self, frames: int) -> np.ndarray:
        """The next (up to `frames`, channels) float32 frames; none at the end."""

    def _close(self) -> None:
        """Release what reading held."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        sent = 0
        clock = time.monotonic()
        try:
            while not self._stop.is_set():
                if self.paused:
                    time.sleep(0.02)
                    clock = time.monotonic() - sent / self.sample_rate
                    continue
                block = self._read(self.block_frames)
                if block.shape[0] == 0:
                    break
                if not np.isfinite(block).all():
                    self.error = f"{self.name}: contains NaN or infinite samples"
                    break
                if self.realtime:
                    delay = clock + sent / self.sample_rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                while not self.ring.wait_free(block.shape[0], timeout=0.1):
                    if self._stop.is_set():
                        return
                self.ring.write(block)
                sent += block.shape[0]
        except AudioError as exc:
            self.error = str(exc)
        finally:
            self._close()
            self.finished = True


class FileSource(PlayedSource):
    """A file read in blocks by libsndfile."""

    def __init__(
        self, path: str | Path, realtime: bool = True, block_seconds: float = 0.05
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise AudioError(f"{self.path}: no such file")
        try:
            self._file = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(
                f"{self.path}: cannot read audio ({str(exc).splitlines()[0]})"
            ) from exc
        if self._file.frames == 0:
            raise AudioError(f"{self.path}: contains no audio samples")
        rate, shape = self._file.samplerate, (self._file.frames, self._file.channels)
        super().__init__(str(self.path), rate, shape, realtime, block_seconds)
        self.description = f"file {self.path.name} ({rate} Hz, {self.channels} ch, {self.mode})"

    def _read(self, frames: int) -> np.ndarray:
        try:
            return self._file.read(frames, dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{self.path}: read failed ({str(exc).splitlines()[0]})") from exc

    def _close(self) -> None:
        self._file.close()


class ArraySource(PlayedSource):
    """Audio already in memory, (frames,) or (frames, channels), played as a file would be."""

    def __init__(
        self,
        samples: np.ndarray,
        sample_rate: int,
        name: str = "audio",
        realtime: bool = True,
        block_seconds: float = 0.05,
    ) -> None:
        data = np.asarray(samples, np.float32)
        data = data[:, None] if data.ndim == 1 else data
        if data.ndim != 2 or data.size == 0:
            shape = np.shape(samples)
            raise AudioError(f"{name}: needs (frames,) or (frames, channels) samples, not {shape}")
        if sample_rate <= 0:
            raise AudioError(f"{name}: sample rate must be positive, not {sample_rate}")
        super().__init__(name, sample_rate, data.shape, realtime, block_seconds)
        self._samples, self._at = data, 0
        self.description = f"{name} ({sample_rate} Hz, {self.channels} ch, {self.mode})"

    def _read(self, frames: int) -> np.ndarray:
        block = self._samples[self._at : self._at + frames]
        self._at += block.shape[0]
        return block


@dataclass(frozen=True)
class AudioArray:
    """Named in-memory audio to score with files (archive scoring): what an ArraySource plays."""

    name: str
    samples: np.ndarray
    sample_rate: int


def played_source(item: str | Path | AudioArray, realtime: bool = False) -> PlayedSource:
    """A file path as a FileSource, in-memory audio as an ArraySource."""
    if isinstance(item, AudioArray):
        return ArraySource(item.samples, item.sample_rate, item.name, realtime)
    return FileSource(item, realtime)


def played_name(item: str | Path | AudioArray) -> str:
    """What results and messages call a played item: its path or its name."""
    return item.name if isinstance(item, AudioArray) else str(item)


def _sounddevice() -> Any:
    """Import sounddevice lazily so file mode works without the PortAudio library."""
    try:
        import sounddevice
    except OSError as exc:
        raise DeviceError("PortAudio library not found (install libportaudio2)") from exc
    return sounddevice


def list_input_devices() -> list[dict[str, Any]]:
    """Input-capable devices: index, name, host API, channels and default rate."""
    sd = _sounddevice()
    apis = sd.query_hostapis()
    try:
        default = sd.query_devices(kind="input")["index"]
    except (ValueError, sd.PortAudioError):
        default = None
    devices = [
        {
            "index": i,
            "name": d["name"],
            "hostapi": apis[d["hostapi"]]["name"],
            "channels": d["max_input_channels"],
            "default_samplerate": d["default_samplerate"],
            "default": i == default,
        }
        for i, d in enumerate(sd.query_devices())
        if d["max_input_channels"] > 0
    ]
    if not devices:
        raise DeviceError("no audio input devices found")
    return devices


def parse_device(value: str | None) -> int | str | None:
    """'3' -> 3, a name stays a name, None -> the default input device."""
    if value is None:
        return None
    return int(value) if value.strip().isdigit() else value


class MicrophoneSource(AudioSource):
    """A PortAudio input stream at the device's native rate; the callback only copies."""

    def __init__(
        self,
        device: int | str | None = None,
        stall_seconds: float = 2.0,
        block_seconds: float = 0.02,
    ) -> None:
        super().__init__()
        sd = _sounddevice()
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            name = "the default input device" if device is None else f"input device {device!r}"
            raise DeviceError(f"{name}: {str(exc).splitlines()[0]}") from exc
        self.device_index = info["index"]
        self.sample_rate = round(info["default_samplerate"])
        self.channels = min(int(info["max_input_channels"]), 2)
        try:
            sd.check_input_settings(
                self.device_index, self.channels, "float32", None, self.sample_rate
            )
        except (ValueError, sd.PortAudioError) as exc:
            raise DeviceError(
                f"input device {info['name']!r} refuses "
                f"{self.sample_rate} Hz x {self.channels} ch: {exc}"
            ) from exc
        self.description = (
            f"mic [{self.device_index}] {info['name']} ({self.sample_rate} Hz, {self.channels} ch)"
        )
        self.stall_seconds = stall_seconds
        self._stopping = False
        self._make_ring()
        self._last_callback = time.monotonic()
        try:
            self._stream = sd.InputStream(
                device=self.device_index,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=round(block_seconds * self.sample_rate),
                callback=self._callback,
                finished_callback=self._finished,
            )
        except (ValueError, sd.PortAudioError) as exc:
            raise DeviceError(f"cannot open input device {info['name']!r}: {exc}") from exc

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._last_callback = time.monotonic()
        if status.input_overflow:
            self.overflows += 1
        if not self.paused:
            self.ring.write(indata)

    def _finished(self) -> None:
        if not self._stopping:
            self.error = "the input stream ended unexpectedly (device unplugged?)"
        self.finished = True

    def start(self) -> None:
        self._last_callback = time.monotonic()
        sd = _sounddevice()
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot start the input stream: {str(exc).splitlines()[0]}") from exc

    def stop(self) -> None:
        self._stopping = True
        self._stream.close(ignore_errors=True)
        self.finished = True

    def check(self) -> None:
        """Flag a stream that stopped calling back (device gone or host stalled)."""
        silent_for = time.monotonic() - self._last_callback
        if not self.finished and silent_for > self.stall_seconds:
            self.error = f"the input device stopped delivering audio for {silent_for:.1f} s"
            self.finished = True


class LevelProbe:
    """The RMS level of one input device's latest block, for the device picker."""

    def __init__(self, device: int) -> None:
        sd = _sounddevice()
        self._level = -120.0
        try:
            info = sd.query_devices(device, "input")
            self._stream = sd.InputStream(
                device=device,
                channels=min(2, int(info["max_input_channels"])),
                samplerate=info["default_samplerate"],
                callback=self._callback,
            )
            self._stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            raise DeviceError(f"input device {device}: {str(exc).splitlines()[0]}") from exc

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._level = float(10 * np.log10(np.mean(indata.astype(np.float64) ** 2) + 1e-12))

    def level(self) -> float:
        """Latest level in dBFS."""
        return self._level

    def close(self) -> None:
        self._stream.close(ignore_errors=True)
