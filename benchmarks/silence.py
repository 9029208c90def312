"""Silence costs no model work: CPU seconds per minute of audio for speech and for a half-silent
recording (speech and silence alternating), each replayed through the live worker as fast as it
goes with the shipped model; the window events of the speech windows for comparison.

    python -m benchmarks.silence [--minutes 2] [--json FILE] [--events FILE]"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

from ser.bundle import shipped_model_path
from ser.predictor import Predictor
from streaming.replay import iter_windows
from streaming.sources import ArraySource
from streaming.worker import WorkerConfig
from training.synthetic_audio import RATE, SENTENCES, at_level, espeak


def recordings(minutes: float, block: float = 30.0) -> dict[str, np.ndarray]:
    """Speech (the sentences back to back) and half-silent audio (`block` seconds of that speech,
    then as much silence, in turn), both `minutes` long."""
    voices = ("en", "en+f3", "en+m3", "en-us")
    speech = np.concatenate(
        [at_level(espeak(t, v), -22.0) for t, v in zip(SENTENCES, voices, strict=True)]
    )
    total, size = round(minutes * 60 * RATE), round(block * RATE)
    speech = np.resize(speech, total)
    halves = speech.copy()
    for start in range(size, total, 2 * size):
        halves[start : start + size] = 0.0
    return {"speech": speech, "half_silent": halves}


def cpu_seconds() -> float:
    """This process's user and system CPU seconds, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(predictor: Predictor, name: str, audio: np.ndarray) -> tuple[dict, list]:
    """CPU and wall seconds per audio minute, the share of speech windows, and the events."""
    config = WorkerConfig(hop_seconds=0.5)
    cpu, wall = cpu_seconds(), time.monotonic()
    events = list(
        iter_windows(ArraySource(audio, RATE, name, realtime=False), predictor, config, {})
    )
    cpu, wall = cpu_seconds() - cpu, time.monotonic() - wall
    minutes = audio.size / RATE / 60
    figures = {
        "cpu_s_per_audio_min": round(cpu / minutes, 2),
        "wall_s_per_audio_min": round(wall / minutes, 2),
        "speech_windows": round(float(np.mean([e.speech for e in events])), 3),
    }
    return figures, [e.record() | {"wall_time": None, "latency_ms": None} for e in events]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--events", type=Path, help="write the window records here")
    args = parser.parse_args()
    torch.manual_seed(0)
    predictor = Predictor.load(shipped_model_path(), device="cpu")
    out, records = {"torch_threads": torch.get_num_threads()}, {}
    for name, audio in recordings(args.minutes).items():
        out[name], records[name] = measure(predictor, name, audio)
    out["half_silent_over_speech"] = round(
        out["half_silent"]["cpu_s_per_audio_min"] / out["speech"]["cpu_s_per_audio_min"], 3
    )
    print(json.dumps({"silence": out}, indent=2))
    if args.json:
        args.json.write_text(json.dumps({"silence": out}, indent=2) + "\n")
    if args.events:
        args.events.write_text(json.dumps(records) + "\n")


if __name__ == "__main__":
    main()
