"""Output targets: files replaced atomically, symlinks kept, devices, FIFOs and sockets written
through, a missing folder refused in one line."""

import os
import socket
import stat
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import synth
from conftest import cli_env, script

from ser.errors import SerError
from ser.records import RecordWriter
from streaming.recording import Recording


def read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    """A reader that collects what is written to the FIFO `path` until it is closed."""

    def run() -> None:
        with open(path, "rb") as fifo:
            into.append(fifo.read())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def char_device(path: Path) -> Path:
    """A node of the null device (as `mknod -m 666 PATH c 1 3`); skips when not permitted."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    return path


def write_rows(target: Path | str, rows: int = 2) -> None:
    with RecordWriter(str(target), "jsonl") as writer:
        for i in range(rows):
            writer.write({"row": i})


def test_regular_file_is_replaced_whole_and_leaves_nothing_beside(tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl"
    target.write_text("old\n")
    write_rows(target)
    assert target.read_text() == '{"row":0}\n{"row":1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["events.jsonl"]


def test_symlink_keeps_its_link_and_its_target_gets_the_content(tmp_path: Path) -> None:
    real = tmp_path / "data" / "real.jsonl"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    write_rows(link)
    assert link.is_symlink() and link.resolve() == real
    assert real.read_text() == '{"row":0}\n{"row":1}\n'
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["data", "link.jsonl", "real.jsonl"]


def test_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = read_fifo(fifo, received)
    write_rows(fifo)
    reader.join(timeout=10)
    assert received == [b'{"row":0}\n{"row":1}\n']
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["events.fifo"]


def test_socket_is_written_through(tmp_path: Path) -> None:
    path = tmp_path / "events.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    received: list[bytes] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            received.append(b"".join(iter(lambda: connection.recv(4096), b"")))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    write_rows(path)
    thread.join(timeout=10)
    server.close()
    assert received == [b'{"row":0}\n{"row":1}\n']
    assert stat.S_ISSOCK(path.lstat().st_mode)


def test_character_device_stays_a_device(tmp_path: Path) -> None:
    device = char_device(tmp_path / "null")
    write_rows(device)
    Recording(device, 16000, 1).close()
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_missing_folder_is_one_error_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(SerError, match=r"^cannot write output .*: folder .*missing does not"):
        RecordWriter(str(tmp_path / "missing" / "events.jsonl"))
    with pytest.raises(SerError, match=r"^cannot write recording .*: folder .* does not exist"):
        Recording(tmp_path / "missing" / "heard.wav", 16000, 1)
    assert list(tmp_path.iterdir()) == []


def test_recording_refuses_a_fifo_and_writes_a_symlinks_target(tmp_path: Path) -> None:
    fifo = tmp_path / "heard.fifo"
    os.mkfifo(fifo)
    with pytest.raises(SerError, match="FIFO or socket cannot hold"):
        Recording(fifo, 16000, 1)
    real, link = tmp_path / "real.wav", tmp_path / "link.wav"
    link.symlink_to(real)
    recording = Recording(link, 16000, 1)
    recording.write(np.full((1600, 1), 0.25, np.float32))
    recording.close()
    assert link.is_symlink() and sf.info(str(real)).frames == 1600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heard.fifo", "link.wav", "real.wav"]


@pytest.mark.parametrize("command", ["ser-live", "ser-predict"])
def test_commands_write_through_a_fifo(tmp_path: Path, tiny_checkpoint: Path, command: str) -> None:
    wav = synth.write(tmp_path / "in.wav", synth.tone(300, 3.0))
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = read_fifo(fifo, received)
    args = ["--file", str(wav), "--no-tui"] if command == "ser-live" else [str(wav)]
    result = subprocess.run(
        [script(command), *args, "-o", str(fifo), "--format", "jsonl",
         "--checkpoint", str(tiny_checkpoint)],
        env=cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    reader.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert received and received[0].count(b"\n") >= 1
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.fifo"]
