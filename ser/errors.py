"""User-facing errors: each carries one line that explains what went wrong."""


class SerError(Exception):
    """A failure the user can act on; commands print its message as one line."""


class AudioError(SerError):
    """Audio that cannot be read or used (missing, corrupt, empty, NaN)."""


class CheckpointError(SerError):
    """A checkpoint that is missing, truncated or not a ser checkpoint."""


class DeviceError(SerError):
    """An audio device that is absent or refuses the requested settings."""
