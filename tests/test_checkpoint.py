"""Checkpoints: round trip, half precision, and clear errors for bad files."""

from pathlib import Path

import pytest
import torch

from ser.checkpoint import load_checkpoint, save_checkpoint
from ser.errors import CheckpointError
from ser.labels import EMOTIONS
from ser.model import FAMILIES, SerModel
from ser.seed import SEED
from ser.whisper import WHISPER


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


SMALL_NETWORKS = {
    SEED.name: {"conv_channels": [4, 8, 8, 16, 16], "num_heads": 2, "ff_dim": 8, "num_layers": 1},
    WHISPER.name: {"width": 16, "heads": 2, "ff_width": 32, "layers": 2, "hidden": 8},
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_round_trips_by_file_alone(tmp_path: Path, name: str) -> None:
    family = FAMILIES[name]
    torch.manual_seed(0)
    model = SerModel(family.feature_config(), family.model_from(SMALL_NETWORKS[name])).eval()
    path = save_checkpoint(tmp_path / f"{name}.pt", model)
    assert torch.load(path, weights_only=True)["family"] == name
    loaded = load_checkpoint(path)  # nothing but the file says which family it is
    assert loaded.model.family is family
    assert (loaded.features, loaded.model_config) == (model.frontend.config, model.net.config)
    x = torch.randn(2, 80000) * 0.1
    with torch.no_grad():
        assert torch.equal(model(x), loaded.model(x))


def test_a_file_without_a_family_is_a_seed_file(tmp_path: Path, tiny_model: SerModel) -> None:
    path = save_checkpoint(tmp_path / "old.pt", tiny_model)
    payload = torch.load(path, weights_only=True)
    del payload["family"]  # written before families had names
    torch.save(payload, path)
    assert load_checkpoint(path).model.family is SEED


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


class _Evil:
    """A pickle that asks to run code when loaded."""

    def __reduce__(self) -> tuple:
        return (print, ("pwned",))


def tampered(source: Path, tmp_path: Path, name: str, change: object) -> Path:
    """A copy of the checkpoint at `source` with its payload changed by `change`."""
    payload = torch.load(source, weights_only=True)
    change(payload)
    path = tmp_path / name
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(
    ("name", "change", "phrase"),
    [
        ("nolabels.pt", lambda p: p.pop("labels"), "lacks 'labels'"),
        ("nostate.pt", lambda p: p.pop("state_dict"), "lacks 'state_dict'"),
        ("newer.pt", lambda p: p.update(format_version=99), "newer ser"),
        ("labels.pt", lambda p: p.update(labels=["a", "b"]), "2 labels for 6 classes"),
        ("family.pt", lambda p: p.update(family="wav2vec"), "unknown model family"),
        (
            "shape.pt",
            lambda p: p["state_dict"].update({"head.weight": torch.zeros(3, 3)}),
            "does not match",
        ),
        ("code.pt", lambda p: p.update(meta=_Evil()), "not a readable checkpoint"),
    ],
)
def test_tampered_checkpoints_fail_clearly(
    tmp_path: Path, tiny_checkpoint: Path, name: str, change: object, phrase: str
) -> None:
    path = tampered(tiny_checkpoint, tmp_path, name, change)
    with pytest.raises(CheckpointError, match=phrase):
        load_checkpoint(path)
