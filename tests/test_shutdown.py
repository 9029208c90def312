"""Every end of a ser-live run, on screen (under a pseudo-terminal) and headless: the events
already computed are in --output with a summary line, no partial file is left, and the exit
status says how the run ended."""

import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import synth
from conftest import cli_env, interruptible, script

from ser.predictor import Predictor
from ser.records import RecordWriter
from tui.app import LiveApp
from tui.devices import DeviceChoice, DevicePicker


class Terminal:
    """ser-live on a pseudo-terminal of 100 x 30, its screen output drained in a thread."""

    def __init__(self, args: list[str]) -> None:
        env = {**cli_env(), "TERM": "xterm-256color"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: a session leader whose controlling terminal is the pty
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_DFL)
            os.execve(script("ser-live"), [script("ser-live"), *args], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.screen = bytearray()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self.fd, 65536):
                self.screen += chunk
        except OSError:  # the child closed its side, or the test closed the terminal
            pass

    def send(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def close(self) -> None:
        """Close the terminal, as closing its window does (the child gets SIGHUP)."""
        os.close(self.fd)

    def wait(self, seconds: float = 90) -> int:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"ser-live did not end; screen tail: {bytes(self.screen[-400:])!r}")


def wait_for_window(folder: Path, alive: Callable[[], bool]) -> None:
    """Until a window event sits in the hidden partial file beside the output."""
    deadline = time.monotonic() + 120  # start-up takes longer on a loaded machine
    while not any('"window"' in p.read_text() for p in folder.glob(".events.*.partial.jsonl")):
        assert alive() and time.monotonic() < deadline, "no window event came"
        time.sleep(0.2)


def assert_complete_output(folder: Path) -> list[dict]:
    """The output holds windows and a closing summary that counts them; nothing else is left."""
    out = folder / "events.jsonl"
    records = [json.loads(line) for line in out.read_text().splitlines()]
    windows = sum(r["type"] == "window" for r in records)
    assert records[-1]["type"] == "summary" and records[-1]["windows"] == windows >= 1
    assert sorted(p.name for p in folder.iterdir()) == ["events.jsonl", "long.wav"]
    return records


ENDINGS = {  # how the screen is ended -> exit status, and the line said after the screen
    "q": (0, None),
    "ctrl+q": (0, None),
    "ctrl+c": (130, b"ser-live: interrupted"),
    "SIGTERM": (143, b"ser-live: terminated"),
    "SIGHUP": (129, None),  # the terminal is gone: nothing can be read from it
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_tui_run_ends_with_complete_output(
    tmp_path: Path, tiny_checkpoint: Path, ending: str
) -> None:
    wav = synth.write(tmp_path / "long.wav", synth.tone(300, 60.0))
    term = Terminal(["--file", str(wav), "-o", str(tmp_path / "events.jsonl"),
                     "--checkpoint", str(tiny_checkpoint)])  # fmt: skip
    wait_for_window(tmp_path, lambda: os.waitpid(term.pid, os.WNOHANG) == (0, 0))
    if ending == "SIGTERM":
        os.kill(term.pid, signal.SIGTERM)
    elif ending == "SIGHUP":
        term.close()
    else:
        term.send({"q": b"q", "ctrl+q": b"\x11", "ctrl+c": b"\x03"}[ending])
    code, line = ENDINGS[ending]
    assert term.wait() == code
    assert_complete_output(tmp_path)
    if line is not None:
        term.reader.join(timeout=10)
        assert line in term.screen and b"Traceback" not in term.screen


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_headless_run_ends_on_a_signal_with_complete_output(
    tmp_path: Path, tiny_checkpoint: Path, signum: int, code: int
) -> None:
    wav = synth.write(tmp_path / "long.wav", synth.tone(300, 60.0))
    process = subprocess.Popen(
        [script("ser-live"), "--file", str(wav), "--realtime", "--no-tui",
         "-o", str(tmp_path / "events.jsonl"), "--checkpoint", str(tiny_checkpoint)],
        env=cli_env(), stderr=subprocess.PIPE, text=True, preexec_fn=interruptible,
    )  # fmt: skip
    wait_for_window(tmp_path, lambda: process.poll() is None)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert_complete_output(tmp_path)
    word = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}[signum]
    assert f"ser-live: {word}" in stderr and "Traceback" not in stderr


def test_worker_error_ends_with_complete_output_and_1(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    audio = synth.tone(300, 20.0)
    audio[16000 * 15] = np.nan  # the file source fails 15 s in
    wav = tmp_path / "long.wav"
    sf.write(wav, audio, 16000, subtype="FLOAT")
    result = subprocess.run(
        [script("ser-live"), "--file", str(wav), "--no-tui", "-o", str(tmp_path / "events.jsonl"),
         "--checkpoint", str(tiny_checkpoint)],
        env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "NaN" in result.stderr and "Traceback" not in result.stderr
    assert_complete_output(tmp_path)


async def test_quitting_the_device_picker_leaves_the_output_alone(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    out = tmp_path / "picked.jsonl"
    out.write_text("kept\n")
    devices = [{"index": 0, "name": "Mic", "channels": 1, "default_samplerate": 48000.0,
                "default": True}]  # fmt: skip

    class Probe:
        def __init__(self, index: int) -> None:
            pass

        def level(self) -> float:
            return -30.0

        def close(self) -> None:
            pass

    labels = Predictor.load(tiny_checkpoint, device="cpu").labels
    never = lambda index: pytest.fail("no device may open")  # noqa: E731
    app = LiveApp(None, labels, writer=RecordWriter(str(out)),
                  picker=(DeviceChoice(devices, Probe), never))  # fmt: skip
    async with app.run_test() as pilot:
        await pilot.pause(0.3)
        assert isinstance(app.screen, DevicePicker)
        await pilot.press("q")
    app.run_log.close()  # as ser-live does once the screen has ended
    assert app.status_code == 0 and out.read_text() == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["picked.jsonl"]
