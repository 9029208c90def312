"""Console entry points: a Ctrl-C while a command's module is still loading."""

import os
import signal
from types import SimpleNamespace

import pytest

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
