"""The model shipped in ser/assets: loads by default, classifies, reproduces its card."""

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest
import synth
from conftest import SHARED_DATA, cli_env, script

from ser.bundle import shipped_model_path
from ser.checkpoint import load_checkpoint
from ser.predictor import Predictor
from ser.whisper import WHISPER

SHIPPED = shipped_model_path()
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason="no model shipped in ser/assets")


def test_shipped_model_is_small_and_self_describing() -> None:
    assert SHIPPED.stat().st_size <= 50 * 2**20
    checkpoint = load_checkpoint(SHIPPED)
    assert checkpoint.model.family is WHISPER
    assert checkpoint.labels == ("anger", "disgust", "fear", "happy", "neutral", "sad")
    assert {"accuracy", "macro_f1", "streams"} <= set(checkpoint.meta["test"])


def test_shipped_model_classifies_a_generated_clip() -> None:
    predictor = Predictor.load()  # no path: the shipped model
    probs = predictor.probabilities(synth.tone(220, 3.0)[None])
    assert probs.shape == (1, 6) and abs(probs.sum() - 1) < 1e-4


def test_commands_default_to_the_shipped_model(tmp_path: Path) -> None:
    clip = synth.write(tmp_path / "a.wav", synth.speech(sentences=1))
    result = subprocess.run(
        [script("ser-predict"), str(clip)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1 and rows[0]["label"] in Predictor.load().labels


@pytest.mark.skipif(not (SHARED_DATA / "ravdess").is_dir(), reason="../shared/data absent")
def test_ser_test_reproduces_the_card(tmp_path: Path) -> None:
    result = subprocess.run(
        [script("ser-test"), "--root", str(SHARED_DATA / "ravdess"), "--output-dir", str(tmp_path)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    card = load_checkpoint(SHIPPED).meta["test"]
    assert report["accuracy"] == pytest.approx(card["accuracy"], abs=1e-6)
    assert report["macro_f1"] == pytest.approx(card["macro_f1"], abs=1e-6)
