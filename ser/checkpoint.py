"""Self-describing model files: weights + labels + feature/model config, safe to load."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ser.config import AnyFeatureConfig, AnyModelConfig, to_plain
from ser.errors import CheckpointError
from ser.labels import EMOTIONS
from ser.model import SerModel, family_named
from ser.seed import SEED

FORMAT = "ser-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded model file: the model in eval mode plus what describes it."""

    model: SerModel
    labels: tuple[str, ...]
    features: AnyFeatureConfig
    model_config: AnyModelConfig
    meta: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(
    path: str | Path,
    model: SerModel,
    labels: tuple[str, ...] = EMOTIONS,
    meta: dict[str, Any] | None = None,
    half: bool = False,
) -> Path:
    """Write the network weights and everything needed to rebuild the model."""
    # half: the weights in fp16; buffers (normalisation statistics, positions) stay fp32.
    weights = {name for name, _ in model.net.named_parameters()}
    state = {
        k: v.detach().to("cpu", torch.float16 if half and k in weights else v.dtype)
        if v.is_floating_point()
        else v.detach().cpu()
        for k, v in model.net.state_dict().items()
    }
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": model.family.name,
        "labels": list(labels),
        "features": to_plain(model.frontend.config),
        "model": to_plain(model.net.config),
        "meta": dict(meta or {}),
        "state_dict": state,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    return path


def update_meta(path: str | Path, entries: dict[str, Any]) -> None:
    """Add `entries` to a ser checkpoint file's metadata, weights untouched; the file is
    replaced only once the new one is fully written."""
    path = Path(path)
    payload = _read_payload(path, "cpu")
    checkpoint_from_payload(payload, path)  # the same checks as every reader
    payload["meta"] = {**(payload.get("meta") or {}), **entries}
    staged = path.with_name(f"{path.name}.tmp")
    try:
        torch.save(payload, staged)
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load a ser checkpoint with weights_only=True; CheckpointError on anything wrong."""
    path = Path(path)
    return checkpoint_from_payload(_read_payload(path, map_location), path)


def _read_payload(path: Path, map_location: str | torch.device) -> dict:
    """The raw contents of a ser checkpoint file; CheckpointError when it is missing,
    unreadable or not a ser checkpoint."""
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a malformed file can fail anywhere inside the unpickler
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or corrupt)") from exc
    if not is_ser_payload(payload):
        raise CheckpointError(f"{path}: not a ser checkpoint (no '{FORMAT}' header)")
    return payload


def is_ser_payload(payload: object) -> bool:
    """True for what torch.load returns from a ser checkpoint file."""
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def checkpoint_from_payload(payload: dict, path: str | Path) -> Checkpoint:
    """The model a loaded ser checkpoint payload describes; CheckpointError naming `path` when
    it is from a newer ser or does not match the model."""
    version = payload.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: written by a newer ser (format {version!r}); upgrade ser to read it"
        )
    try:
        # Files written before families had names are seed files.
        family = family_named(payload.get("family", SEED.name))
        features = family.features_from(payload["features"])
        model_config = family.model_from(payload["model"])
        labels = tuple(str(label) for label in payload["labels"])
        if len(labels) != model_config.num_classes:
            raise ValueError(f"{len(labels)} labels for {model_config.num_classes} classes")
        model = SerModel(features, model_config)
        state = {
            k: v.float() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
        }
        model.net.load_state_dict(state)
        meta = dict(payload.get("meta") or {})
    except KeyError as exc:
        raise CheckpointError(f"{path}: checkpoint lacks {exc}") from exc
    except (TypeError, ValueError, RuntimeError, AttributeError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"{path}: checkpoint does not match the ser model ({reason})"
        ) from exc
    return Checkpoint(model.eval(), labels, features, model_config, meta)
