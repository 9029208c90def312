"""By-speaker cross-validation (python -m training.crossval): the fold plan, and a run on a
synthetic RAVDESS whose folds hold each speaker out exactly once."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import synth
from conftest import cli_env
from tiny_whisper import tiny_model_overrides

from ser.errors import SerError
from training.crossval import fold_plan


def test_fold_plan_deals_training_speakers_round_robin_then_validation() -> None:
    train = [f"{a:02d}" for a in range(16, 0, -1)]
    plan = fold_plan(train, ["18", "17"], 4)
    assert plan[0] == ["01", "05", "09", "13"] and plan[3] == ["04", "08", "12", "16"]
    assert plan[-1] == ["17", "18"]
    assert sorted(s for fold in plan[:-1] for s in fold) == sorted(train)
    with pytest.raises(SerError, match=r"crossval\.folds must lie in 2\.\.16"):
        fold_plan(train, ["17"], 1)
    with pytest.raises(SerError, match=r"crossval\.folds must lie in 2\.\.2"):
        fold_plan(["01", "02"], ["17"], 3)


def crossval(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "training.crossval", *overrides]
    return subprocess.run(command, env=cli_env(), cwd=tmp_path, capture_output=True, text=True)


def small_run(tmp_path: Path, encoder: Path, model: str) -> list[str]:
    """Overrides for `model` on the tiny encoder over a synthetic RAVDESS (one pitch per
    class, so a head that learns anything labels every held-out clip and window right)."""
    root = synth.make_ravdess(tmp_path / "ravdess", per_class=3, seconds=3.0)
    return [
        f"model={model}",
        *tiny_model_overrides(encoder)[1:],
        f"data.root={root}",
        "data.num_workers=0",
        f"cache_dir={tmp_path / 'cache'}",
        f"hydra.run.dir={tmp_path / 'cv'}",
        "logging=none",
        "trainer.enable_progress_bar=false",
        "training.cached.room_p=0.0",
        "training.cached.stream_copies=1",
    ]


def test_every_training_speaker_is_held_out_once(tiny_encoder_file: Path, tmp_path: Path) -> None:
    # The probe recipe: one full-batch L-BFGS fit per fold; babble copies of training clips.
    run = small_run(tmp_path, tiny_encoder_file, "whisper_probe")
    result = crossval(tmp_path, *run, "training.iterations=50")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "cv" / "crossval.json").read_text())
    folds = report["folds"]
    held_outs = [f["held_out"] for f in folds]
    assert held_outs[-1] == ["17", "18"] and len(folds) == 5
    # Three clips per class per actor: four held-out actors per fold, then the two validation ones.
    assert [f["clips"] for f in folds] == [4 * 18] * 4 + [2 * 18]
    assert all(f["stream_windows"] > 0 for f in folds)
    # The validation fold trains on every training speaker; fold k leaves out its own four, so
    # over the four folds each speaker's rows are missing exactly once: sum = 3 x all rows.
    everyone = folds[-1]["training_rows"]
    assert sum(f["training_rows"] for f in folds[:-1]) == 3 * everyone
    assert [(f["clips_macro_f1"], f["streams_macro_f1"]) for f in folds] == [(1.0, 1.0)] * 5
    # Babble at 10 dB costs some windows, yet every fold stays far above chance (1/6).
    babble = [f["babble_streams_macro_f1"] for f in folds]
    assert all(0.3 < s < 1.0 for s in babble), babble
    assert report["mean"]["babble_streams_macro_f1"] == pytest.approx(sum(babble) / 5, abs=1e-4)
    # Babble is mixed into the same windows: one noisy set per fold, of its held-out speakers.
    cached = [p.name for p in (tmp_path / "cache").iterdir()]
    assert len([n for n in cached if "babble10" in n]) == 5
    # Babble talkers, held-out streams and training copies alike: the fold's training speakers.
    training = {f"{a:02d}" for a in range(1, 17)}
    assert len([n for n in cached if n.startswith("ravdess-clips-babble1-")]) == 5
    assert [f["babble_talkers"] for f in folds] == [sorted(training - set(h)) for h in held_outs]
    assert not any(p.name.startswith("test-") for p in (tmp_path / "cache").iterdir())


def test_an_adam_head_labels_separable_tones_right(tiny_encoder_file: Path, tmp_path: Path) -> None:
    # The head recipe (HeadClassifier, Adam, warm-up then cosine) for a few epochs, two folds.
    run = small_run(tmp_path, tiny_encoder_file, "whisper")
    result = crossval(
        tmp_path, *run, "crossval.folds=2", "crossval.max_epochs=10", "training.lr=0.01",
        "training.batch_size=16", "model.dropout=0.0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    folds = json.loads((tmp_path / "cv" / "crossval.json").read_text())["folds"]
    assert [f["held_out"] for f in folds][-1] == ["17", "18"] and len(folds) == 3
    assert [(f["clips_macro_f1"], f["streams_macro_f1"]) for f in folds] == [(1.0, 1.0)] * 3


def test_seed_recipes_are_refused_in_one_line(tmp_path: Path) -> None:
    result = crossval(tmp_path, "model=seed", f"hydra.run.dir={tmp_path / 'cv'}", "logging=none")
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "crossval: error: crossval runs frozen-encoder recipes (model=whisper, model=whisper_probe)"
    )
