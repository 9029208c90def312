"""ser-predict and ser-export: outputs, parity, and one-line errors for bad input."""

import csv
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
import synth
from conftest import cli_env, script


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=300)


def test_predict_csv_files_and_long_file(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a = synth.write(tmp_path / "a.wav", synth.class_clip(0, seconds=2.0))
    b = synth.write(tmp_path / "sub" / "b.flac", synth.class_clip(3, seconds=12.0), 22050)
    result = run(
        [
            script("ser-predict"),
            str(a),
            str(tmp_path / "sub"),
            "--checkpoint",
            str(tiny_checkpoint),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"] for r in rows] == [str(a), str(b)]
    assert list(rows[0]) == ["path", "label", "anger", "disgust", "fear", "happy", "neutral", "sad"]
    for row in rows:
        probs = [float(row[k]) for k in list(row)[2:]]
        assert abs(sum(probs) - 1) < 1e-3 and row["label"] in row


def test_predict_jsonl_to_file(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a = synth.write(tmp_path / "a.wav", synth.class_clip(1))
    out = tmp_path / "out" / "preds.jsonl"
    result = run(
        [script("ser-predict"), str(a), "--output", str(out), "--checkpoint", str(tiny_checkpoint)],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    row = json.loads(out.read_text())
    assert row["path"] == str(a)


def test_predict_bad_inputs_one_line_each(tmp_path: Path, tiny_checkpoint: Path) -> None:
    good = synth.write(tmp_path / "good.wav", synth.class_clip(2))
    stereo8k = synth.write(tmp_path / "s8k.wav", np.stack([synth.tone(300, 1, 8000)] * 2, 1), 8000)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    nan = tmp_path / "nan.wav"
    data = synth.tone(300, 1.0)
    data[5] = np.nan
    sf.write(nan, data, 16000, subtype="FLOAT")
    result = run(
        [
            script("ser-predict"),
            str(good),
            str(stereo8k),
            str(empty),
            str(junk),
            str(nan),
            str(tmp_path / "missing.wav"),
            "--checkpoint",
            str(tiny_checkpoint),
        ],
        tmp_path,
    )
    assert result.returncode != 0
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 4 and all(line.startswith("ser-predict: error: ") for line in errors)
    assert "Traceback" not in result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"] for r in rows] == [str(good), str(stereo8k)]  # good work is not lost


def test_predict_missing_checkpoint(tmp_path: Path) -> None:
    a = synth.write(tmp_path / "a.wav", synth.class_clip(1))
    result = run(
        [script("ser-predict"), str(a), "--checkpoint", str(tmp_path / "nope.pt")], tmp_path
    )
    assert result.returncode != 0
    assert (
        result.stderr.strip() == f"ser-predict: error: {tmp_path / 'nope.pt'}: checkpoint not found"
    )


def test_export_onnx_and_torchscript_parity(tmp_path: Path, tiny_checkpoint: Path) -> None:
    result = run(
        [
            script("ser-export"),
            "--checkpoint",
            str(tiny_checkpoint),
            "--output-dir",
            str(tmp_path / "export"),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    info = json.loads((tmp_path / "export" / "export.json").read_text())
    assert set(info["max_probability_difference"]) == {"onnx", "torchscript"}
    assert max(info["max_probability_difference"].values()) <= 1e-3
    assert (tmp_path / "export" / "model.onnx").stat().st_size > 0
