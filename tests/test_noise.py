"""Robustness evaluation: noise at a requested SNR, and ser-test's noise options."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import synth
from conftest import cli_env, script

from training.noise import NoiseMixer
from training.stream_eval import block_snrs, with_noise
from training.streams import Block, Stream


@pytest.mark.parametrize("snr", [20.0, 10.0, 5.0])
def test_white_noise_at_requested_snr(snr: float) -> None:
    clean = synth.tone(300, 2.0)
    padded = np.concatenate([clean, np.zeros(16000, np.float32)])  # padding must not count
    noisy = NoiseMixer("white", snr)(samples=padded, sample_rate=16000)
    noise = noisy - padded
    measured = 10 * np.log10(np.mean(clean**2) / np.mean(noise**2))
    assert abs(measured - snr) < 0.2


def test_babble_is_other_speakers_and_deterministic(tmp_path: Path) -> None:
    pool = [synth.write(tmp_path / f"{i}.wav", synth.class_clip(i % 6, seed=i)) for i in range(6)]
    mixer = NoiseMixer("babble", 10.0, babble_pool=pool)
    clean = synth.tone(1000, 2.0)
    first, second = mixer(samples=clean, sample_rate=16000), mixer(samples=clean, sample_rate=16000)
    assert np.array_equal(first, second)
    measured = 10 * np.log10(np.mean(clean**2) / np.mean((first - clean) ** 2))
    assert abs(measured - 10.0) < 0.2


def test_babble_over_a_long_recording_is_many_utterances_not_a_loop(tmp_path: Path) -> None:
    # Eight talker clips of 1 s, each a tone of its own; 30 s of speech hear all of them.
    freqs = [300.0 + 200.0 * i for i in range(8)]
    pool = [
        synth.write(tmp_path / f"{i}.wav", synth.tone(f, 1.0, seed=i)) for i, f in enumerate(freqs)
    ]
    clean = synth.tone(200.0, 30.0)
    noise = NoiseMixer("babble", 10.0, babble_pool=pool)(samples=clean, sample_rate=16000) - clean
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    hz = np.fft.rfftfreq(noise.size, 1 / 16000)
    share = [spectrum[np.abs(hz - f) < 5].sum() / spectrum.sum() for f in freqs]
    # Four talkers each looping one clip would leave four of the eight tones silent.
    assert min(share) > 0.02, share


def test_stream_noise_is_set_against_the_whole_recording() -> None:
    # A loud anger block and a quiet sad block 20 dB below it, noise at 10 dB for the stream.
    loud, quiet = synth.tone(300, 3.0), 0.1 * synth.tone(300, 3.0)
    stream = Stream("s", np.concatenate([loud, quiet]), [Block(0.0, 3.0, 0), Block(3.0, 6.0, 5)])
    heard = with_noise([stream], NoiseMixer("white", 10.0))
    snr = block_snrs([stream], heard)["median_db_per_class"]
    # The stream's speech power is the two blocks' mean (0.505 x the loud block's).
    assert snr["anger"] == pytest.approx(10 - 10 * np.log10(0.505), abs=0.3)
    assert snr["sad"] == pytest.approx(snr["anger"] - 20, abs=0.3)
    assert block_snrs([stream], heard)["below_5db_share"] == 0.5


def test_ser_test_robustness_table(
    tmp_path: Path, tiny_checkpoint: Path, ravdess_root: Path
) -> None:
    result = subprocess.run(
        [
            script("ser-test"),
            "--checkpoint",
            str(tiny_checkpoint),
            "--root",
            str(ravdess_root),
            "--robustness",
            "--output-dir",
            str(tmp_path),
            "--num-workers",
            "0",
        ],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "robustness.json").read_text())
    assert [r["condition"] for r in rows] == [
        "clean",
        "white 20 dB",
        "white 10 dB",
        "white 5 dB",
        "babble 20 dB",
        "babble 10 dB",
        "babble 5 dB",
    ]
    assert "| babble 5 dB |" in (tmp_path / "robustness.md").read_text()
    clean = json.loads((tmp_path / "report.json").read_text())
    assert rows[0]["accuracy"] == clean["accuracy"] and rows[0]["macro_f1"] == clean["macro_f1"]
    # Each row is the same evaluation as a single ser-test --noise run of that condition.
    single = subprocess.run(
        [script("ser-test"), "--checkpoint", str(tiny_checkpoint), "--root", str(ravdess_root),
         "--noise", "babble", "--snr", "10", "--output-dir", str(tmp_path / "one"),
         "--num-workers", "0"],
        env=cli_env(), capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert single.returncode == 0, single.stderr[-2000:]
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    assert report["noise"] == {"kind": "babble", "snr_db": 10.0}
    assert rows[5]["accuracy"] == report["accuracy"] and rows[5]["macro_f1"] == report["macro_f1"]
    assert all(0.0 <= r["accuracy"] <= 1.0 and 0.0 <= r["macro_f1"] <= 1.0 for r in rows)
