"""`--record`: the audio the device delivered, written safely beside its target."""

from pathlib import Path

import numpy as np
import soundfile as sf

from ser.errors import SerError
from ser.records import partial_path, settle


class Recording:
    """What was heard, written under a temporary name beside `path` and moved into place on
    close when it holds audio, so an existing file survives a run that fails early."""

    def __init__(self, path: Path, sample_rate: int, channels: int) -> None:
        self.path = path
        self.frames = 0
        self._partial = partial_path(path)
        try:
            # The format follows the extension, which the temporary name keeps.
            self._file = sf.SoundFile(
                str(self._partial), "w", samplerate=sample_rate, channels=channels
            )
        except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
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
        settle(self._partial, self.path, keep=self.frames > 0)
