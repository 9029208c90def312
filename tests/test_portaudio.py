"""Real PortAudio: espeak-ng speech played into a PulseAudio null sink, heard by ser-live."""

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import cli_env, interruptible, script
from pulse import VirtualMicrophone, missing_requirements, virtual_microphone

pytestmark = pytest.mark.portaudio
SENTENCE = (
    "I am so angry about this. Why would anyone do that. This is terrible news for all of us."
)


@pytest.fixture(scope="module")
def microphone() -> VirtualMicrophone:
    reason = missing_requirements()
    if reason:
        pytest.skip(f"PulseAudio virtual microphone unavailable: {reason}")
    try:
        with virtual_microphone() as mic:
            yield mic
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"PulseAudio could not start: {exc}")


def events_written(events: Path) -> bool:
    """Whether the run has written an event: they land in a hidden partial file until it ends."""
    return any(p.stat().st_size for p in events.parent.glob(f".{events.stem}.*.partial*"))


def start_capture(events: Path, checkpoint: Path, cwd: Path, *extra: str) -> subprocess.Popen:
    """`ser-live --device pulse --no-tui`, returned once its first event is written."""
    proc = subprocess.Popen(
        [script("ser-live"), "--device", "pulse", "--no-tui", "--output", str(events),
         "--checkpoint", str(checkpoint), *extra],
        env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
        preexec_fn=interruptible,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not events_written(events) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    return proc


def test_list_devices_shows_pulse(microphone: VirtualMicrophone, tmp_path: Path) -> None:
    result = subprocess.run([script("ser-live"), "--list-devices"], env=cli_env(),
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pulse" in result.stdout


def test_live_capture_of_spoken_audio(
    microphone: VirtualMicrophone, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    speech = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-w", str(speech), SENTENCE], check=True, timeout=60)
    spoken_seconds = sf.info(str(speech)).duration
    events, heard = tmp_path / "events.jsonl", tmp_path / "heard.wav"
    proc = start_capture(events, tiny_checkpoint, tmp_path, "--record", str(heard))
    try:
        subprocess.run(
            ["paplay", f"--device={microphone.sink}", str(speech)], check=True, timeout=60
        )
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr  # Ctrl-C: interrupted, events and summary flushed
    records = [json.loads(line) for line in events.read_text().splitlines()]
    windows = [r for r in records if r["type"] == "window"]
    assert records[-1]["type"] == "summary" and records[-1]["dropped_blocks"] == 0
    speech_windows = [w for w in windows if w["speech"]]
    assert speech_windows and all(w["label"] for w in speech_windows)
    assert not windows[0]["speech"]  # silence before playback carries no emotion
    assert len(speech_windows) * 0.5 >= spoken_seconds * 0.5
    audio, _ = sf.read(heard)
    assert np.abs(audio).max() > 0.05  # the speech was recorded, not silence


def test_device_that_disappears_ends_with_one_error(
    microphone: VirtualMicrophone, tmp_path: Path, tiny_checkpoint: Path
) -> None:
    """Runs last: stops the PulseAudio daemon under a running capture (an unplugged device)."""
    if not microphone.own_daemon:
        pytest.skip("PulseAudio was already running; not stopping someone else's daemon")
    events = tmp_path / "events.jsonl"
    proc = start_capture(events, tiny_checkpoint, tmp_path)
    subprocess.run(["pulseaudio", "--kill"], capture_output=True, timeout=10, check=False)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    ours = [line for line in stderr.splitlines() if line.startswith("ser-live:")]
    assert len(ours) == 1 and "ser-live: error: " in ours[0]
    assert "Traceback" not in stderr
    records = [json.loads(line) for line in events.read_text().splitlines()]
    assert records[0]["type"] == "window" and records[-1]["type"] == "summary"
