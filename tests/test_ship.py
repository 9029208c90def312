"""training.ship: the candidate is evaluated beside the shipped file and moved into place only
when every step succeeded; a failure leaves the shipped file and its model card as they were."""

import argparse
import json
from pathlib import Path

import pytest

import training.ship
from ser.checkpoint import load_checkpoint


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """An old shipped file and model card under tmp_path; the parity check passes."""
    target = tmp_path / "assets" / "ser-whisper-base.pt"
    target.parent.mkdir()
    target.write_bytes(b"old model")
    card = tmp_path / "card"
    card.mkdir()
    (card / "report.json").write_text('{"old": true}')
    monkeypatch.setattr(training.ship, "shipped_model_path", lambda: target)
    monkeypatch.setattr(training.ship, "check_fast_path", lambda candidate, root: None)
    return target, card


def test_a_failed_evaluation_leaves_the_shipped_file_and_card_untouched(
    shipped: tuple[Path, Path], tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, card = shipped

    def evaluate(args: argparse.Namespace) -> None:
        (args.output_dir / "report.json").write_text('{"half": true}')
        raise RuntimeError("evaluation failed")

    monkeypatch.setattr(training.ship, "evaluate", evaluate)
    with pytest.raises(RuntimeError, match="evaluation failed"):
        training.ship.ship(tiny_checkpoint, card, None)
    assert target.read_bytes() == b"old model"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert [p.name for p in card.iterdir()] == ["report.json"]
    assert (card / "report.json").read_text() == '{"old": true}'
    assert sorted(p.name for p in card.parent.iterdir()) == ["assets", "card"]


def test_the_evaluated_candidate_is_shipped_with_its_card(
    shipped: tuple[Path, Path], tiny_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, card = shipped
    evaluated = []

    def evaluate(args: argparse.Namespace) -> None:
        evaluated.append(Path(args.checkpoint))
        assert target.read_bytes() == b"old model"  # nothing shipped before the test is read
        report = {"checkpoint": args.checkpoint, "accuracy": 0.5, "macro_f1": 0.25}
        report |= {"num_clips": 8, "speakers": ["21", "22"]}
        (args.output_dir / "report.json").write_text(json.dumps(report))
        streams = {"conditions": [{"condition": "clean", "window_macro_f1": 0.75}]}
        (args.output_dir / "streams.json").write_text(json.dumps(streams))

    monkeypatch.setattr(training.ship, "evaluate", evaluate)
    assert training.ship.ship(tiny_checkpoint, card, None) == 0
    assert evaluated == [target.with_name(f"{target.name}.candidate")]
    test = load_checkpoint(target).meta["test"]
    assert test == {
        "accuracy": 0.5,
        "macro_f1": 0.25,
        "num_clips": 8,
        "speakers": ["21", "22"],
        "streams": {"clean": 0.75},
    }
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert sorted(p.name for p in card.iterdir()) == ["report.json", "streams.json"]
    assert json.loads((card / "report.json").read_text())["checkpoint"] == str(target)
    assert sorted(p.name for p in card.parent.iterdir()) == ["assets", "card"]
