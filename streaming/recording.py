"""`--record`: the audio the device delivered, written safely to its target."""

from pathlib import Path

import numpy as np
import soundfile as sf

from ser.errors import SerError
from ser.output_target import OutputTarget


def sound_format(output: OutputTarget) -> str:
    """libsndfile's format for the output's extension; WAV when it has none (a device)."""
    name = output.target.suffix[1:].upper() or "WAV"
    if name not in sf.available_formats():
        output.fail(f"unknown audio format {output.target.suffix!r} (use .wav or .flac)")
    return name


class Recording:
    """What was heard. A file is written under a temporary name beside `path` and moved into
    place on close when it holds audio, so an existing file survives a run that fails early;
    a device is written through. A FIFO or socket is refused: WAV and FLAC headers are
    completed by seeking back."""

    def __init__(self, path: Path, sample_rate: int, channels: int) -> None:
        self.path = path
        self.frames = 0
        self._output = OutputTarget(path, "recording")
        if not self._output.seekable:
            self._output.fail("a FIFO or socket cannot hold a WAV or FLAC file; name a file")
        file_format = sound_format(self._output)
        self._stream = self._output.open("wb")
        try:
            self._file = sf.SoundFile(
                self._stream,
                "w",
                samplerate=sample_rate,
                channels=channels,
                format=file_format,
            )
        except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
            self._stream.close()
            self._output.commit(keep=False)
            raise SerError(f"cannot write recording {path}: {exc}") from exc

    def write(self, frames: np.ndarray) -> None:
        """Append (frames, channels) audio."""
        self._file.write(frames)
        self.frames += len(frames)

    def close(self) -> None:
        """Close, and move into place when anything was recorded."""
        if self._file.closed:
            return
        self._file.close()
        self._stream.close()
        self._output.commit(keep=self.frames > 0)
