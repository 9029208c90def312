"""ser-train / ser-test / ser-predict end to end on a tiny synthetic corpus."""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, cli_env, script

from ser.bundle import shipped_model_path
from ser.labels import EMOTIONS
from ser.seed import SEED
from training.augment import mixup
from training.report import build_report

TINY_TRAIN = [
    "model=tiny",
    "logging=none",
    "report_split=test",  # so that ser-test's report can be compared with the run's
    "training.augment=null",
    "training.lr=3e-3",
    "data.num_workers=0",
    "data.batch_size=8",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def run(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        args, cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def ser_train(data_root: Path, run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    """ser-train on the synthetic CREMA-D corpus, writing into run_dir."""
    data = ["data=cremad", f"data.root={data_root}", f"hydra.run.dir={run_dir}"]
    return run([script("ser-train"), *data, *overrides], cwd=run_dir)


def epoch_losses(metrics_csv: Path) -> dict[int, float]:
    losses: dict[int, list[float]] = {}
    with metrics_csv.open() as handle:
        for row in csv.DictReader(handle):
            if row.get("train/loss"):
                losses.setdefault(int(row["epoch"]), []).append(float(row["train/loss"]))
    return {epoch: sum(v) / len(v) for epoch, v in losses.items()}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, cremad_root: Path) -> Path:
    run_dir = tmp_path_factory.mktemp("run")
    result = ser_train(cremad_root, run_dir, "trainer.max_epochs=4", *TINY_TRAIN)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def test_smoke_fit_loss_falls_and_writes_artefacts(trained_run: Path) -> None:
    losses = epoch_losses(trained_run / "csv" / "metrics.csv")
    assert len(losses) == 4
    assert losses[3] < losses[0], losses
    report = json.loads((trained_run / "report.json").read_text())
    assert set(report["per_class"]) == {"anger", "disgust", "fear", "happy", "neutral", "sad"}
    assert report["num_clips"] == 24  # two held-out actors x 12 clips
    assert (trained_run / "confusion_matrix.png").stat().st_size > 0
    assert (trained_run / "model.pt").is_file()


def test_ser_test_on_trained_checkpoint(
    trained_run: Path, cremad_root: Path, tmp_path: Path
) -> None:
    result = run(
        [
            script("ser-test"),
            "--checkpoint",
            str(trained_run / "model.pt"),
            "--data",
            "cremad",
            "--root",
            str(cremad_root),
            "--output-dir",
            str(tmp_path),
            "--num-workers",
            "0",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    original = json.loads((trained_run / "report.json").read_text())
    assert report["accuracy"] == pytest.approx(original["accuracy"])
    assert report["macro_f1"] == pytest.approx(original["macro_f1"])
    matrix = json.loads((tmp_path / "confusion_matrix.json").read_text())
    assert len(matrix["matrix"]) == 6 and (tmp_path / "confusion_matrix.png").is_file()
    assert "macro-F1" in result.stdout


def test_ser_predict_on_trained_checkpoint(trained_run: Path, cremad_root: Path) -> None:
    result = run(
        [
            script("ser-predict"),
            "--checkpoint",
            str(trained_run / "model.pt"),
            str(cremad_root / "AudioWAV"),
            "--format",
            "jsonl",
        ],
        cwd=trained_run,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 120 and {"path", "label", "anger", "sad"} <= set(rows[0])


def test_mixup_mixes_each_example_with_its_partner() -> None:
    torch.manual_seed(0)
    target = torch.arange(6)
    image = target.float().view(6, 1, 1, 1).expand(6, 1, 4, 8).clone()
    mixed, partner, lam = mixup(image, target, 0.4)
    assert 0.0 <= lam <= 1.0 and sorted(partner.tolist()) == target.tolist()
    torch.testing.assert_close(mixed, lam * image + (1.0 - lam) * image[partner])


def test_fine_tune_with_ema_spec_augment_and_mixup(
    trained_run: Path, cremad_root: Path, tmp_path: Path
) -> None:
    result = ser_train(
        cremad_root,
        tmp_path,
        "trainer.max_epochs=1",
        f"init_from={trained_run / 'model.pt'}",
        "training.ema_decay=0.9",
        "training.spec_augment={freq_mask: 8, time_mask: 16, masks: 2}",
        "training.mixup_alpha=0.4",
        "training.label_smoothing=0.1",
        *TINY_TRAIN,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    averaged, current = last["state_dict"], last["current_model_state"]
    assert any(not torch.equal(averaged[k], current[k]) for k in averaged)
    assert (tmp_path / "model.pt").is_file()


def test_init_from_a_different_network_is_one_line(
    trained_run: Path, cremad_root: Path, tmp_path: Path
) -> None:
    seed_sized = [arg for arg in TINY_TRAIN if arg != "model=tiny"]
    result = ser_train(cremad_root, tmp_path, f"init_from={trained_run / 'model.pt'}", *seed_sized)
    assert result.returncode != 0
    assert "its network or labels differ" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_root_is_one_line(tmp_path: Path) -> None:
    result = run(
        [
            script("ser-train"),
            f"data.root={tmp_path / 'absent'}",
            f"hydra.run.dir={tmp_path}",
            *TINY_TRAIN,
        ],
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "ser-train: error: RAVDESS data folder not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_report_split_is_one_line(tmp_path: Path, cremad_root: Path) -> None:
    overrides = [o for o in TINY_TRAIN if not o.startswith("report_split")]
    result = ser_train(cremad_root, tmp_path, *overrides, "report_split=train")
    assert result.returncode != 0
    assert "ser-train: error: report_split must be val or test" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path: Path, ravdess_root: Path) -> None:
    # An odd number of test clips: a padded sampler would count one of them twice.
    root = tmp_path / "ravdess"
    shutil.copytree(ravdess_root, root)
    next((root / "Actor_24").glob("03-01-05-*")).unlink()
    result = run(
        [
            script("ser-train"),
            "data=ravdess",
            f"data.root={root}",
            "trainer.max_epochs=1",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.strategy=ddp",
            f"hydra.run.dir={tmp_path}",
            *TINY_TRAIN,
        ],
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["num_clips"] == 35  # every test clip once, gathered across both ranks


def test_average_is_the_mean_of_the_weights(
    trained_run: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from ser.checkpoint import load_checkpoint
    from training.average import main as average_main

    sources = [trained_run / "model.pt", tiny_checkpoint]
    with pytest.raises(SystemExit) as exit_info:
        average_main([str(tmp_path / "soup.pt"), *map(str, sources)])
    assert exit_info.value.code == 0
    soup = load_checkpoint(tmp_path / "soup.pt").model.net.state_dict()
    a, b = (load_checkpoint(p).model.net.state_dict() for p in sources)
    for name, value in soup.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, (a[name] + b[name]) / 2)
    mismatched = run(
        [
            sys.executable,
            "-m",
            "training.average",
            str(tmp_path / "x.pt"),
            *map(str, sources),
            str(shipped_model_path()),
        ],
        cwd=ROOT,
    )
    assert mismatched.returncode == 1
    assert mismatched.stderr.startswith("average: error: ") and "Traceback" not in mismatched.stderr


class _RunsCode:
    def __reduce__(self) -> tuple:
        return (print, ("code ran",))


def test_lightning_checkpoints_load_safely(trained_run: Path, tmp_path: Path) -> None:
    from ser.errors import CheckpointError
    from training.build import load_source

    best = sorted((trained_run / "checkpoints").glob("epoch*.ckpt"))[-1]
    model, labels, meta = load_source(best)
    assert model.family is SEED and len(labels) == 6 and meta["train"]["epoch"] >= 0
    raw = torch.load(best, weights_only=True)
    raw["hyper_parameters"]["extra"] = _RunsCode()
    evil = tmp_path / "evil.ckpt"
    torch.save(raw, evil)
    with pytest.raises(CheckpointError, match="not a usable Lightning checkpoint"):
        load_source(evil)


def test_clip_macro_f1_counts_only_the_classes_the_clips_hold() -> None:
    # A four-class corpus (no disgust, no fear clips) whose clips are sometimes called fear.
    per_class = {
        label: {"precision": 0.0, "recall": 0.0, "f1": f1}
        for label, f1 in zip(EMOTIONS, [0.9, 0.0, 0.0, 0.6, 0.5, 0.2], strict=True)
    }
    confusion = [[9, 0, 1, 0, 0, 0], [0] * 6, [0] * 6, [0, 0, 2, 8, 0, 0]]
    confusion += [[0, 0, 0, 0, 10, 0], [0, 0, 3, 0, 5, 2]]
    results = {"per_class": per_class, "confusion_matrix": confusion}
    report = build_report({"test/acc": 0.7, "test/f1": 0.367}, results)
    assert report["macro_f1"] == pytest.approx((0.9 + 0.6 + 0.5 + 0.2) / 4)
