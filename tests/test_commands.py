"""Console entry points: a Ctrl-C while a command's module is still loading, a missing
install extra, and ser-train's help."""

import importlib.util
import os
import signal
import subprocess
import sys
from types import SimpleNamespace

import pytest
from conftest import cli_env, script

import ser_commands


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


def test_each_command_runs_its_modules_main(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = []

    class Module:
        def __init__(self, name: str) -> None:
            self.main = lambda: ran.append(name)

    monkeypatch.setattr(ser_commands.importlib, "import_module", Module)
    for command in ("ser_live", "ser_train", "ser_test", "ser_predict", "ser_export", "ser_bench"):
        getattr(ser_commands, command)()
    assert ran == [
        "streaming.cli",
        "training.train",
        "training.evaluate",
        "streaming.predict_cli",
        "ser.export",
        "benchmarks.bench",
    ]


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
