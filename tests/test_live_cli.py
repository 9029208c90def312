"""ser-live end to end on files, and one-line errors for bad input."""

import json
import os
import signal
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import synth
import torch
from conftest import ROOT, cli_env, interruptible, script

from ser.bundle import DEMO_AUDIO_NAME, asset_path
from ser.errors import SerError
from ser.runtime import set_cpu_threads
from streaming.sources import list_input_devices


def live(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [script("ser-live"), *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_file_no_tui_to_stdout_covers_file(
    tmp_path: Path, tiny_checkpoint: Path, segmented_wav: Path
) -> None:
    result = live(
        [
            "--file",
            str(segmented_wav),
            "--no-tui",
            "--output",
            "-",
            "--checkpoint",
            str(tiny_checkpoint),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    windows = [r for r in records if r["type"] == "window"]
    ends = [w["end"] for w in windows]
    duration = sf.info(str(segmented_wav)).duration
    assert ends == sorted(ends) and len(set(ends)) == len(ends)
    assert ends[-1] == pytest.approx(duration, abs=1e-3) and windows[0]["end"] <= 2.0
    assert all(w["wall_time"] >= v["wall_time"] for v, w in pairwise(windows))
    keys = {"start", "end", "wall_time", "probs", "label", "confidence", "speech", "smoothed",
            "speech_share", "speaking", "gap"}  # fmt: skip
    assert keys <= set(windows[0])
    silent = [w for w in windows if not w["speech"]]  # no model run: every class null
    assert silent and all(set(w["probs"].values()) == {None} for w in silent)
    assert {r["type"] for r in records} == {"window", "change", "summary"}
    summary = records[-1]
    assert summary["type"] == "summary" and summary["windows"] == len(windows)
    assert summary["dropped_blocks"] == 0
    assert summary["audio_seconds"] == pytest.approx(duration, abs=1e-3)
    assert 0.2 < summary["share"]["silence"] < 0.8
    assert "p95" in summary["latency_ms"] and "real time" in result.stderr


def test_csv_output_and_recording(tmp_path: Path, tiny_checkpoint: Path) -> None:
    stereo = np.stack([synth.tone(300, 6.0, 44100)] * 2, axis=1)
    path = synth.write(tmp_path / "in.flac", stereo, 44100)
    out, rec = tmp_path / "events.csv", tmp_path / "heard.wav"
    result = live(
        [
            "--file",
            str(path),
            "--no-tui",
            "--output",
            str(out),
            "--record",
            str(rec),
            "--hop",
            "0.5",
            "--checkpoint",
            str(tiny_checkpoint),
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    header = out.read_text().splitlines()[0].split(",")
    assert header[:3] == ["type", "index", "start"] and "anger" in header
    heard, rate = sf.read(rec)
    assert rate == 44100 and heard.shape == stereo.shape
    assert np.allclose(heard, stereo, atol=1e-4)


def test_bad_inputs_one_line_nonzero(tmp_path: Path, tiny_checkpoint: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    good = synth.write(tmp_path / "good.wav", synth.tone(300, 6.0))
    ckpt = ["--checkpoint", str(tiny_checkpoint)]
    cases = [
        (["--file", str(tmp_path / "missing.wav"), "--no-tui", *ckpt], "no such file"),
        (["--file", str(empty), "--no-tui", *ckpt], "cannot read audio"),
        (
            ["--file", str(good), "--no-tui", "--output", "/proc/nope/x.jsonl", *ckpt],
            "cannot write output",
        ),
        (
            ["--file", str(good), "--no-tui", "--checkpoint", str(tmp_path / "none.pt")],
            "checkpoint not found",
        ),
        (["--device", "no-such-device-xyz", "--no-tui", *ckpt], "device"),
        (["--file", str(good), "--hop", "0", "--no-tui", *ckpt], "must be positive"),
        (["--file", str(good), "-o", "-", *ckpt], "add --no-tui"),  # stdout is the screen
        # Checked with the other arguments, before the (here missing) model is loaded.
        (
            ["--file", str(good), "--threads", "0", "--no-tui", "--checkpoint", "none.pt"],
            "at least 1",
        ),
    ]
    for args, phrase in cases:
        result = live(args, tmp_path)
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ser-live: error: "), result.stderr
        assert phrase in lines[0]


def test_cpu_threads_keep_a_core_for_live_audio_unless_asked() -> None:
    before = torch.get_num_threads()
    cores = os.cpu_count() or 2
    try:
        assert set_cpu_threads(keep_one_core=True) == max(1, cores - 1) == torch.get_num_threads()
        assert set_cpu_threads(keep_one_core=False) == cores == torch.get_num_threads()
        assert set_cpu_threads(3, keep_one_core=True) == 3 == torch.get_num_threads()
        with pytest.raises(SerError, match="at least 1"):
            set_cpu_threads(0)
    finally:
        torch.set_num_threads(before)


def test_failed_run_keeps_an_existing_output(tmp_path: Path, tiny_checkpoint: Path) -> None:
    old = tmp_path / "old.jsonl"
    old.write_text('{"kept": true}\n')
    args = ["--file", str(tmp_path / "missing.wav"), "--no-tui", "-o", str(old)]
    result = live([*args, "--checkpoint", str(tiny_checkpoint)], tmp_path)
    assert result.returncode == 1 and old.read_text() == '{"kept": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["old.jsonl"]


def test_ctrl_c_exits_130_with_events_and_summary(tmp_path: Path, tiny_checkpoint: Path) -> None:
    path = synth.write(tmp_path / "long.wav", synth.tone(300, 60.0))
    out = tmp_path / "events.jsonl"
    process = subprocess.Popen(
        [script("ser-live"), "--file", str(path), "--realtime", "--no-tui", "-o", str(out),
         "--checkpoint", str(tiny_checkpoint)],
        env=cli_env(), stderr=subprocess.PIPE, text=True, preexec_fn=interruptible,
    )  # fmt: skip
    deadline = time.monotonic() + 120  # start-up takes longer on a loaded machine
    # Events go to a hidden partial file beside the output until the run ends.
    while not any('"window"' in p.read_text() for p in tmp_path.glob(".events.*.partial.jsonl")):
        assert process.poll() is None and time.monotonic() < deadline, "no window event came"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # a window into the real-time stream
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[-1]["type"] == "summary" and records[-1]["windows"] >= 1
    assert sum(r["type"] == "window" for r in records) == records[-1]["windows"]
    assert "Traceback" not in stderr and "interrupted" in stderr


def test_short_file_warns_but_classifies(tmp_path: Path, tiny_checkpoint: Path) -> None:
    short = synth.write(tmp_path / "short.wav", synth.tone(300, 2.0))
    result = live(
        ["--file", str(short), "--no-tui", "--checkpoint", str(tiny_checkpoint)], tmp_path
    )
    assert result.returncode == 0
    assert "shorter than one 5 s window" in result.stderr
    assert any(json.loads(line)["type"] == "window" for line in result.stdout.splitlines())


def test_demo_plays_the_bundled_recording(tmp_path: Path, tiny_checkpoint: Path) -> None:
    demo = asset_path(DEMO_AUDIO_NAME)
    info = sf.info(str(demo))
    assert (info.format, info.subtype, info.samplerate) == ("OGG", "OPUS", 16000)
    assert info.duration <= 30.0 and demo.stat().st_size <= 300_000
    licence = demo.with_name("demo-ravdess.LICENSE.md").read_text()
    assert "CC BY-NC-SA 4.0" in licence and "Livingstone SR, Russo FA (2018)" in licence
    result = live(["--demo", "--no-tui", "-o", "-", "--checkpoint", str(tiny_checkpoint)], tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[-1]["audio_seconds"] == pytest.approx(info.duration, abs=0.05)
    readme = (ROOT / "README.md").read_text()
    first_run = readme.split("```bash\n", 1)[1].split("```", 1)[0]
    assert ".venv/bin/ser-live --demo\n" in first_run


def test_no_input_device_says_how_to_play_a_file(tmp_path: Path, tiny_checkpoint: Path) -> None:
    try:
        list_input_devices()
        pytest.skip("this machine has an input device")
    except SerError:
        pass
    for args in ([], ["--no-tui"]):
        result = live([*args, "--checkpoint", str(tiny_checkpoint)], tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1, result.stderr
        assert "--file PATH" in lines[0] and "--demo" in lines[0]


def test_narrowband_input_is_announced_once_with_its_cost(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    phone = [synth.write(tmp_path / f"phone{i}.wav", synth.tone(300, 6.0, 8000), 8000)
             for i in range(2)]  # fmt: skip
    wide = synth.write(tmp_path / "wide.wav", synth.tone(300, 6.0))
    ckpt = ["--checkpoint", str(tiny_checkpoint)]
    note = "8000 Hz lacks speech above 4000 Hz"
    narrow = live(["--file", str(phone[0]), "--no-tui", "-o", str(tmp_path / "e.jsonl"), *ckpt],
                  tmp_path)  # fmt: skip
    assert narrow.returncode == 0 and narrow.stderr.count(note) == 1, narrow.stderr
    assert "window accuracy from 81 % to 76 %" in narrow.stderr
    full = live(["--file", str(wide), "--no-tui", "-o", str(tmp_path / "e.jsonl"), *ckpt], tmp_path)
    assert full.returncode == 0 and "lacks speech" not in full.stderr, full.stderr
    predicted = subprocess.run(
        [script("ser-predict"), *map(str, phone), *ckpt],
        env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert predicted.returncode == 0 and predicted.stderr.count(note) == 1, predicted.stderr
