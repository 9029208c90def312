"""The model shipped inside the package, and how a command picks its checkpoint."""

from importlib.resources import files
from pathlib import Path

from ser.errors import CheckpointError

SHIPPED_MODEL_NAME = "ser-whisper-base.pt"


def shipped_model_path() -> Path:
    """Where the shipped weights live inside the installed package."""
    return Path(str(files("ser") / "assets" / SHIPPED_MODEL_NAME))


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
