"""Shared fixtures: a tiny random checkpoint, synthetic corpora and audio files."""

import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent))

import synth
from tiny_whisper import tiny_whisper_variables, write_ctranslate2

from ser.checkpoint import save_checkpoint
from ser.config import FeatureConfig
from ser.model import SerModel
from ser.seed import SEED
from streaming.events import WindowEvent
from training.import_whisper import import_whisper

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SER_SHARED_DATA", ROOT.parent / "shared" / "data"))
TINY_MODEL = yaml.safe_load((ROOT / "training" / "conf" / "model" / "tiny.yaml").read_text())


@pytest.fixture(scope="session")
def tiny_model() -> SerModel:
    import torch

    torch.manual_seed(0)
    return SerModel(FeatureConfig(), SEED.model_from(TINY_MODEL)).eval()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_model: SerModel) -> Path:
    """A randomly initialised tiny model file (the product loads it like any checkpoint)."""
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", tiny_model)


@pytest.fixture(scope="session")
def cremad_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.make_cremad(tmp_path_factory.mktemp("cremad"))


@pytest.fixture(scope="session")
def ravdess_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.make_ravdess(tmp_path_factory.mktemp("ravdess"))


@pytest.fixture(scope="session")
def segments() -> tuple:
    """16 kHz mono: 3 s silence, espeak-ng speech, 3 s silence, 4 s noise, 2 s silence, and
    the (kind, start, end) spans."""
    return synth.segments()


@pytest.fixture(scope="session")
def segmented_wav(tmp_path_factory: pytest.TempPathFactory, segments: tuple) -> Path:
    """The segments stream as a WAV file."""
    return synth.write(tmp_path_factory.mktemp("audio") / "segments.wav", segments[0])


def comparable(event: WindowEvent) -> dict:
    """Everything a window event says but when it was computed."""
    return {k: v for k, v in asdict(event).items() if k not in ("wall_time", "latency_ms")}


def cli_env() -> dict[str, str]:
    """Environment for command subprocesses: quiet, offline, one thread."""
    env = dict(os.environ)
    env.update({"WANDB_MODE": "offline", "WANDB_SILENT": "true", "OMP_NUM_THREADS": "1"})
    return env


def interruptible() -> None:
    """Popen preexec_fn: Ctrl-C, SIGTERM and SIGHUP reach the child even when the test run
    itself ignores them (started in the background with `&` or nohup, whose children inherit
    SIG_IGN, which the commands respect)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def script(name: str) -> str:
    """Path of an installed console script beside this interpreter."""
    return str(Path(sys.executable).parent / name)


@pytest.fixture(scope="module")
def tiny_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CTranslate2 Whisper file of a tiny encoder, written by the test suite."""
    path = tmp_path_factory.mktemp("ct2") / "model.bin"
    return write_ctranslate2(path, "WhisperSpec", tiny_whisper_variables())


@pytest.fixture(scope="module")
def tiny_encoder_file(tiny_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny CTranslate2 file converted as training.import_whisper converts Whisper-base."""
    path = tmp_path_factory.mktemp("enc") / "encoder.pt"
    import_whisper(path, tiny_bin)
    return path
