"""ser-predict and ser-export: outputs, parity, and one-line errors for bad input."""

import csv
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import synth
from conftest import ROOT, cli_env, script


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=300)


def test_predict_csv_files_and_long_file(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a = synth.write(tmp_path / "a.wav", synth.speech(sentences=1))
    b = synth.write(tmp_path / "sub" / "b.flac", synth.speech(22050, sentences=3), 22050)
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
    names = ["anger", "disgust", "fear", "happy", "neutral", "sad"]
    assert list(rows[0]) == ["path", "label", "speech_windows", "uncertain_windows", *names]
    for row in rows:
        probs = [float(row[k]) for k in names]
        assert abs(sum(probs) - 1) < 1e-3 and row["label"] in names
    assert int(rows[1]["speech_windows"]) > int(rows[0]["speech_windows"]) > 0


def test_predict_agrees_with_live_and_says_no_speech(tmp_path: Path, tiny_checkpoint: Path) -> None:
    """ser-predict's label is the mean of ser-live's speech windows for the same file; a file
    without speech gets no label instead of an invented emotion."""
    talk = synth.write(tmp_path / "talk.wav", synth.speech(sentences=3))
    hum = synth.write(tmp_path / "hum.wav", synth.tone(100, 6.0))
    result = run([script("ser-predict"), str(talk), str(hum), "--checkpoint",
                  str(tiny_checkpoint), "--format", "jsonl"], tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    talk_row, hum_row = (json.loads(line) for line in result.stdout.splitlines())
    live = run([script("ser-live"), "--file", str(talk), "--no-tui", "-o", "-",
                "--checkpoint", str(tiny_checkpoint)], tmp_path)  # fmt: skip
    speech = [r for r in map(json.loads, live.stdout.splitlines()) if r.get("speech")]
    assert talk_row["speech_windows"] == len(speech) > 0
    mean = np.mean([[r["probs"][n] for n in talk_row if n in r["probs"]] for r in speech], 0)
    assert np.allclose(mean, [talk_row[n] for n in speech[0]["probs"]], atol=1e-3)
    assert hum_row["label"] is None and hum_row["speech_windows"] == 0 and hum_row["sad"] is None


def test_predict_jsonl_to_file(tmp_path: Path, tiny_checkpoint: Path) -> None:
    a = synth.write(tmp_path / "a.wav", synth.class_clip(1))
    out = tmp_path / "out" / "preds.jsonl"
    out.parent.mkdir()
    out.write_text("earlier results\n")
    failed = run([script("ser-predict"), str(tmp_path / "missing.wav"), "-o", str(out),
                  "--checkpoint", str(tiny_checkpoint)], tmp_path)  # fmt: skip
    assert failed.returncode == 1 and out.read_text() == "earlier results\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["preds.jsonl"]  # no leftovers
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
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("ser-predict: error: ")]
    assert len(errors) == 4 and len(lines) == 5  # and the 8 kHz file's one warning
    assert lines[0].startswith("ser-predict: warning: s8k.wav: input sampled at 8000 Hz")
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
    assert result.stderr == ""  # the exporter's own chatter is not the user's concern
    info = json.loads((tmp_path / "export" / "export.json").read_text())
    assert set(info["max_probability_difference"]) == {"onnx", "torchscript"}
    assert max(info["max_probability_difference"].values()) <= 1e-3
    assert (tmp_path / "export" / "model.onnx").stat().st_size > 0
    written = sorted(p.name for p in (tmp_path / "export").iterdir())
    readme = (ROOT / "README.md").read_text()
    assert [name for name in written if f"`{name}`" not in readme] == []  # each one documented
    # A trace freezes the front end's cut/pad branch: the exports run full windows exactly as
    # PyTorch does, and refuse any other length instead of answering wrongly.
    import onnxruntime as ort
    import torch

    from ser.checkpoint import load_checkpoint

    model = load_checkpoint(tiny_checkpoint).model
    scripted = torch.jit.load(str(tmp_path / "export" / "model.torchscript.pt"))
    session = ort.InferenceSession(str(tmp_path / "export" / "model.onnx"))
    for samples in (40000, 80000, 100000):
        x = torch.randn(2, samples) * 0.1
        if samples == 80000:
            with torch.no_grad():
                reference = model(x).softmax(-1)
                assert (scripted(x).softmax(-1) - reference).abs().max() < 1e-3
            onnx = torch.from_numpy(session.run(None, {"waveform": x.numpy()})[0]).softmax(-1)
            assert (onnx - reference).abs().max() < 1e-3
            continue
        with pytest.raises(Exception, match="window length"):  # torch.jit.Error
            scripted(x)
        with pytest.raises(Exception, match="dimensions"):
            session.run(None, {"waveform": x.numpy()})


def test_export_of_the_shipped_whisper_model_runs_as_pytorch(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    from ser.bundle import shipped_model_path
    from ser.checkpoint import load_checkpoint
    from training.export import export_onnx

    model = load_checkpoint(shipped_model_path()).model.float().eval()
    config = model.frontend.config
    window = torch.from_numpy(synth.class_clip(3, config.clip_samples / config.sample_rate))
    export_onnx(model, window[None], tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    onnx = session.run(None, {"waveform": window[None].numpy()})[0]
    with torch.no_grad():
        reference = model(window[None]).softmax(-1)
    assert (torch.from_numpy(onnx).softmax(-1) - reference).abs().max() < 1e-3
