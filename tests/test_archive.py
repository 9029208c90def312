"""Archive scoring (ser-predict, ser-test --streams): loader workers and batched windows give the
live path's events and rows, `Predictor.classify_file` the same labels; --devices 2 gives the
rows of one process; re-runs skip scored files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import synth
from conftest import cli_env, comparable, script

import streaming
from ser.bundle import shipped_model_path
from ser.predictor import Predictor
from ser_commands import predict
from streaming.archive import score_files
from streaming.predict_output import window_label
from streaming.replay import replay
from streaming.sources import FileSource
from streaming.worker import WorkerConfig

pytestmark = pytest.mark.skipif(not shipped_model_path().is_file(), reason="no shipped model")


def mixed_files(folder: Path) -> list[Path]:
    """Speech at 22.05 kHz, speech after silence in stereo, a hum without speech."""
    talk = synth.speech(22050, sentences=2)
    late = np.concatenate([np.zeros(2 * 16000, np.float32), synth.speech(16000, sentences=1)])
    return [
        synth.write(folder / "a_talk.wav", talk, 22050),
        synth.write(folder / "b_late.flac", np.stack([late, 0.5 * late], 1)),
        synth.write(folder / "c_hum.wav", synth.tone(100, 6.0)),
    ]


def test_archive_events_classify_file_and_rows_equal_live_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ser.predictor.LABEL_BATCH", 3)  # a file's windows in several batches
    short = synth.write(tmp_path / "d_short.wav", synth.speech(16000, sentences=1)[:19000])
    files = [*mixed_files(tmp_path), short]  # d_short: one window, at its end, before 1.5 s
    missing = tmp_path / "missing.wav"
    predictor = Predictor.load(None, "cpu")
    config = WorkerConfig(1.0)
    live = [replay(FileSource(f, realtime=False), predictor, config).windows for f in files]
    paths = [str(files[0]), str(missing), *map(str, files[1:])]
    results = {r.path: r for r in score_files(paths, predictor, config, workers=2)}
    assert results[str(missing)].error == f"{missing}: no such file"
    assert sum(w.speech for w in live[0]) > 0 and not any(w.speech for w in live[2])
    for path, windows in zip(files, live, strict=True):
        archived = results[str(path)]
        assert archived.error is None
        assert [comparable(w) for w in archived.windows] == [comparable(w) for w in windows]
        labels = predictor.labels
        assert window_label(labels, archived.windows) == window_label(labels, windows)
        assert predictor.classify_file(path, config.windowing) == window_label(labels, windows)
    assert sum(w.speech for w in live[0]) > 3  # more speech windows than one batch


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [script("ser-predict"), *args], cwd=cwd, env=cli_env(), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def test_predict_devices_2_gives_the_rows_of_one_process(tmp_path: Path) -> None:
    folder = tmp_path / "audio"
    mixed_files(folder)
    (folder / "d_junk.wav").write_text("not audio")
    one = run([str(folder), "-o", "one.csv"], tmp_path)
    two = run([str(folder), "-o", "two.csv", "--devices", "2", "--cpu"], tmp_path)
    for result in (one, two):
        assert result.returncode == 1, result.stderr
        (error,) = result.stderr.splitlines()
        assert error.startswith(f"ser-predict: error: {folder / 'd_junk.wav'}: cannot read audio")
    rows = (tmp_path / "one.csv").read_text()
    assert (tmp_path / "two.csv").read_text() == rows
    assert [line.split(",")[0] for line in rows.splitlines()[1:]] == [
        str(folder / n) for n in ("a_talk.wav", "b_late.flac", "c_hum.wav")
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audio", "one.csv", "two.csv"]


def test_predict_rerun_skips_scored_files(tmp_path: Path) -> None:
    a, b, c = mixed_files(tmp_path / "audio")
    out = tmp_path / "out.jsonl"
    assert run([str(a), str(c), "-o", str(out)], tmp_path).returncode == 0
    kept = [json.loads(line) for line in out.read_text().splitlines()]
    kept[0]["label"] = "kept"  # a re-run that scored the file again would replace this
    out.write_text("".join(json.dumps(r) + "\n" for r in kept))
    # An interrupted run's part file: its rows count as scored too.
    parts = tmp_path / ".out.jsonl.parts"
    parts.mkdir()
    interrupted = {**kept[1], "path": str(b), "label": "from-part"}
    (parts / "rank1.jsonl").write_text(json.dumps({"path": str(b), "row": interrupted}) + "\n")
    d = synth.write(tmp_path / "audio" / "d.wav", synth.tone(150, 3.0))
    result = run([str(a), str(b), str(c), str(d), "-o", str(out)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"ser-predict: 3 files already scored in {out}\n"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["path"] for r in rows] == [str(a), str(b), str(c), str(d)]
    assert [r["label"] for r in rows[:3]] == ["kept", "from-part", kept[1]["label"]]
    assert rows[3]["speech_windows"] == 0 and not parts.exists()


@pytest.mark.parametrize("output", ["-", "rows.csv"])
def test_devices_without_lightning_or_output_file_is_one_line(
    output: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("lightning", "lightning.pytorch"):
        monkeypatch.setitem(sys.modules, name, None)  # as in the base install
    monkeypatch.delitem(sys.modules, "streaming.predict_dist", raising=False)
    monkeypatch.delattr(streaming, "predict_dist", raising=False)  # imported by an earlier test
    wav = synth.write(tmp_path / "a.wav", synth.tone(200, 1.0))
    with pytest.raises(SystemExit) as exit_info:
        target = output if output == "-" else str(tmp_path / output)
        predict.main([str(wav), "--devices", "2", "-o", target])
    assert exit_info.value.code == 1
    expected = {
        "-": "--devices/--num-nodes above 1 need --output FILE (ranks write beside it)",
        "rows.csv": "--devices/--num-nodes above 1 need Lightning, which is not installed: "
        "pip install 'ser[train]'",
    }[output]
    assert capsys.readouterr().err == f"ser-predict: error: {expected}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]
