"""What ships inside the package (the model, a demo recording), and how a command picks its
checkpoint."""

from importlib.resources import files
from pathlib import Path

from ser.errors import CheckpointError

SHIPPED_MODEL_NAME = "ser-whisper-base.pt"
# 28.7 s of emotional speech from RAVDESS (CC BY-NC-SA 4.0; see the LICENSE.md beside it).
DEMO_AUDIO_NAME = "demo-ravdess.opus"


def asset_path(name: str) -> Path:
    """Where a file shipped in ser/assets lives inside the installed package."""
    return Path(str(files("ser") / "assets" / name))


def shipped_model_path() -> Path:
    """Where the shipped weights live inside the installed package."""
    return asset_path(SHIPPED_MODEL_NAME)


def resolve_checkpoint(path: str | Path | None) -> Path:
    """The user's checkpoint, or the shipped one; CheckpointError when neither exists."""
    if path is not None:
        return Path(path)
    shipped = shipped_model_path()
    if not shipped.is_file():
        raise CheckpointError(
            "no model is shipped with this install yet; pass --checkpoint FILE "
            "(train one with ser-train)"
        )
    return shipped
