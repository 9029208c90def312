"""--hop and --min-start: a setting the 30 s input buffer cannot serve is refused in one line
(it used to stall the worker forever); the largest one served runs to the end."""

import subprocess
from pathlib import Path

import pytest
import synth
from conftest import cli_env, script

from ser.errors import SerError
from ser.predictor import Predictor
from streaming.replay import replay
from streaming.sources import FileSource
from streaming.worker import WorkerConfig, plan_windows

RATE, WINDOW, CAPACITY = 16000, 5 * 16000, 30 * 16000


def test_plan_windows_refuses_what_the_buffer_cannot_hold() -> None:
    assert plan_windows(WorkerConfig(25.0, 1.5), WINDOW, RATE, CAPACITY) == (400000, 400000)
    with pytest.raises(SerError, match=r"^--hop must be at most 25 s: the 30 s input buffer"):
        plan_windows(WorkerConfig(25.5, 1.5), WINDOW, RATE, CAPACITY)
    assert plan_windows(WorkerConfig(1.0, 30.0), WINDOW, RATE, CAPACITY)[1] == CAPACITY
    with pytest.raises(SerError, match=r"^--min-start must be at most 30 s with --hop 1"):
        plan_windows(WorkerConfig(1.0, 30.5), WINDOW, RATE, CAPACITY)
    with pytest.raises(SerError, match=r"^--min-start must be at most 20 s with --hop 20"):
        plan_windows(WorkerConfig(20.0, 21.0), WINDOW, RATE, CAPACITY)


def test_the_largest_hop_runs_a_long_file_to_its_end(tmp_path: Path, tiny_checkpoint: Path) -> None:
    wav = synth.write(tmp_path / "long.wav", synth.tone(300, 70.0, 8000), 8000)
    predictor = Predictor.load(tiny_checkpoint, device="cpu")
    ends = [w.end for w in replay(FileSource(wav, False), predictor, WorkerConfig(25.0)).windows]
    assert ends == [25.0, 50.0, 70.0]


@pytest.mark.parametrize(
    ("command", "option", "phrase"),
    [
        ("ser-live", "--hop", "--hop must be at most 25 s"),
        ("ser-live", "--min-start", "--min-start must be at most 30 s"),
        ("ser-predict", "--hop", "--hop must be at most 25 s"),
    ],
)
def test_commands_refuse_in_one_line(
    tmp_path: Path, tiny_checkpoint: Path, command: str, option: str, phrase: str
) -> None:
    wav = synth.write(tmp_path / "long.wav", synth.tone(300, 45.0))
    args = ["--file", str(wav), "--no-tui", "-o", "-"] if command == "ser-live" else [str(wav)]
    result = subprocess.run(
        [script(command), *args, option, "60", "--checkpoint", str(tiny_checkpoint)],
        env=cli_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and result.stdout == "" and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{command}: error: {phrase}")
