"""Console entry points: each command in pyproject.toml answers --help; a Ctrl-C while a
command's module is still loading, a missing install extra; every command refuses the same bad
values the same way, before it loads a model."""

import importlib.util
import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
import synth
from conftest import ROOT, cli_env, script

import ser_commands
from ser.predictor import Predictor

COMMANDS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_answers_help(command: str) -> None:
    result = subprocess.run(
        [script(command), "--help"], env=cli_env(), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert command in result.stdout.splitlines()[0], result.stdout[:500]


def test_ctrl_c_while_loading_is_one_line_and_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(name: str) -> SimpleNamespace:  # Ctrl-C arrives while the module loads
        os.kill(os.getpid(), signal.SIGINT)
        return SimpleNamespace(main=lambda: pytest.fail("main ran after Ctrl-C"))

    monkeypatch.setattr(ser_commands.importlib, "import_module", interrupted)
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with pytest.raises(SystemExit) as exit_info:
            ser_commands.ser_live()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, inherited)
    assert exit_info.value.code == 130
    assert capsys.readouterr().err == "ser-live: interrupted\n"


@pytest.mark.parametrize(
    ("command", "extra", "absent"),
    [("ser_train", "train", "lightning"), ("ser_test", "train", "hydra"),
     ("ser_export", "export", "onnxscript")],
)  # fmt: skip
def test_a_missing_extra_is_one_line_before_anything_loads(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    extra: str,
    absent: str,
) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == absent else find_spec(name)
    )
    monkeypatch.setattr(ser_commands.importlib, "import_module", lambda name: pytest.fail(name))
    monkeypatch.setattr(sys, "argv", [command.replace("_", "-"), "--help"])
    with pytest.raises(SystemExit) as exit_info:
        getattr(ser_commands, command)()
    assert exit_info.value.code == 1
    prog = command.replace("_", "-")
    message = f"{prog}: error: this command needs the [{extra}] extra: pip install 'ser[{extra}]'\n"
    assert capsys.readouterr().err == message


def test_ser_train_help_is_titled_and_names_the_shipped_recipe() -> None:
    result = subprocess.run(
        [script("ser-train"), "--help"], env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()[:2]
    assert first.startswith("ser-train: ") and "model=whisper_probe data=ravdess" in second


@pytest.fixture
def no_model_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that loads a model fails the test; its signal handlers stay the test's."""

    def load(*args: object, **kwargs: object) -> Predictor:
        pytest.fail("the model was loaded before the arguments were checked")

    monkeypatch.setattr(Predictor, "load", load)
    monkeypatch.setattr("ser.cli_support.raise_on_signals", lambda: None)


def refusal(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    argv: list[str],
) -> str:
    """Run a console entry point in this process; its one error line, without the prog."""
    monkeypatch.setattr(sys, "argv", [command, *argv])
    with pytest.raises(SystemExit) as exit_info:
        getattr(ser_commands, command.replace("-", "_"))()
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{command}: error: "), lines
    return lines[0].removeprefix(f"{command}: error: ")


@pytest.mark.parametrize(
    ("bad", "option"),
    [(["--vad-threshold", "1.5"], "--vad-threshold"), (["--vad-threshold", "0"], "--vad-threshold"),
     (["--speech-share", "0"], "--speech-share"), (["--speech-share", "1.01"], "--speech-share"),
     (["--hop", "0"], "--hop"), (["--hop", "-1"], "--hop")],
)  # fmt: skip
def test_live_and_predict_refuse_the_same_bad_values_alike(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_model_load: None,
    tmp_path: Path,
    bad: list[str],
    option: str,
) -> None:
    good = str(synth.write(tmp_path / "good.wav", synth.tone(300, 1.0)))
    live = refusal(monkeypatch, capsys, "ser-live", ["--file", good, "--no-tui", *bad])
    predict = refusal(monkeypatch, capsys, "ser-predict", [good, *bad])
    assert live == predict and live.startswith(option)


def test_a_missing_file_is_reported_before_the_model_loads(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_model_load: None,
    tmp_path: Path,
) -> None:
    missing = tmp_path / "missing.wav"
    message = refusal(monkeypatch, capsys, "ser-live", ["--file", str(missing), "--no-tui"])
    assert message == f"{missing}: no such file"
