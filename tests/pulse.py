"""A PulseAudio null sink whose monitor is a capture device PortAudio sees as 'pulse'."""

import ctypes.util
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SINK = "ser_test_sink"
TOOLS = ("pulseaudio", "pactl", "pacat", "paplay", "espeak-ng")


def missing_requirements() -> str | None:
    """Why the virtual microphone cannot run here, or None."""
    absent = [t for t in TOOLS if shutil.which(t) is None]
    if absent:
        return f"not installed: {', '.join(absent)} (apt: pulseaudio pulseaudio-utils espeak-ng)"
    if ctypes.util.find_library("portaudio") is None:
        return "PortAudio library not installed (apt: libportaudio2)"
    return None


def _pactl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=10)


def _sink_ready() -> bool:
    """The sink is RUNNING and the 2 s block it rendered while idle has drained."""
    short = [line for line in _pactl("list", "short", "sinks").stdout.splitlines() if SINK in line]
    if not short or "RUNNING" not in short[0]:
        return False
    details = _pactl("list", "sinks").stdout.split(f"Name: {SINK}")[-1]
    latency = [
        line.split()[1] for line in details.splitlines() if line.strip().startswith("Latency:")
    ]
    return bool(latency) and int(latency[0]) < 100_000


@dataclass
class VirtualMicrophone:
    """The null sink to play into, and whether this process started the daemon."""

    sink: str
    own_daemon: bool


@contextmanager
def virtual_microphone() -> Iterator[VirtualMicrophone]:
    """Start (or reuse) a PulseAudio daemon with a null sink.

    A silent low-latency "keeper" stream keeps the sink running; without it the first
    capture stalls for about 2 s.
    """
    started_daemon = _pactl("info").returncode != 0
    if started_daemon:
        subprocess.run(
            [
                "pulseaudio",
                "-D",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--load=module-native-protocol-unix",
                "--log-target=stderr",
            ],
            capture_output=True,
            timeout=20,
            check=False,
        )
        for _ in range(50):
            if _pactl("info").returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("PulseAudio did not start")
    module = _pactl(
        "load-module",
        "module-null-sink",
        f"sink_name={SINK}",
        "rate=16000",
        "channels=1",
        "format=s16le",
    ).stdout.strip()
    _pactl("set-default-sink", SINK)
    _pactl("set-default-source", f"{SINK}.monitor")
    keeper = subprocess.Popen(
        [
            "pacat",
            "-p",
            "--raw",
            "--rate=16000",
            "--channels=1",
            "--format=s16le",
            f"--device={SINK}",
            "--latency-msec=20",
            "/dev/zero",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if _sink_ready():
                break
            time.sleep(0.1)
        yield VirtualMicrophone(SINK, started_daemon)
    finally:
        keeper.terminate()
        keeper.wait(timeout=5)
        if module:
            _pactl("unload-module", module)
        if started_daemon:
            subprocess.run(["pulseaudio", "--kill"], capture_output=True, timeout=10, check=False)
