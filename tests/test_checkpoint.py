"""Checkpoints: round trip, half precision, and clear errors for bad files."""

from pathlib import Path

import pytest
import torch

from ser.checkpoint import load_checkpoint, save_checkpoint
from ser.errors import CheckpointError
from ser.labels import EMOTIONS
from ser.model import SerModel


def test_round_trip_reproduces_outputs(tmp_path: Path, tiny_model: SerModel) -> None:
    path = save_checkpoint(tmp_path / "m.pt", tiny_model, meta={"note": "x"})
    loaded = load_checkpoint(path)
    x = torch.randn(2, 80000) * 0.1
    with torch.no_grad():
        assert torch.allclose(tiny_model(x), loaded.model(x), atol=1e-6)
    assert loaded.labels == EMOTIONS and loaded.meta == {"note": "x"}
    assert loaded.model_config == tiny_model.net.config
    assert not loaded.model.training
    torch.load(path, weights_only=True)  # safe loading works on the raw file


def test_half_precision_file_is_smaller_and_close(tmp_path: Path, tiny_model: SerModel) -> None:
    full = save_checkpoint(tmp_path / "f.pt", tiny_model)
    half = save_checkpoint(tmp_path / "h.pt", tiny_model, half=True)
    assert half.stat().st_size < full.stat().st_size
    x = torch.randn(2, 80000) * 0.1
    with torch.no_grad():
        p_full = load_checkpoint(full).model(x).softmax(-1)
        p_half = load_checkpoint(half).model(x).softmax(-1)
    assert (p_full - p_half).abs().max() < 0.01


def test_bad_checkpoints(tmp_path: Path, tiny_checkpoint: Path) -> None:
    truncated = tmp_path / "t.pt"
    truncated.write_bytes(tiny_checkpoint.read_bytes()[:1000])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    for path, phrase in [
        (tmp_path / "missing.pt", "not found"),
        (truncated, "truncated or corrupt"),
        (text, "truncated or corrupt"),
        (foreign, "not a ser checkpoint"),
    ]:
        with pytest.raises(CheckpointError, match=phrase):
            load_checkpoint(path)
