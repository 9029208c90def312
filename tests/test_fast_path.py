"""The fast path (folded BatchNorm, bf16 weights, channels-last, near-ties recomputed in fp32)
agrees with eager fp32."""

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA

from ser.audio import load_waveform
from ser.bundle import shipped_model_path
from ser.checkpoint import load_checkpoint
from ser.features import fit_length
from ser.predictor import Predictor
from ser.seed import ChannelsLastMaxPool
from training.corpora import scan
from training.parity import fast_path_parity
from training.synthetic_audio import speech_like

RAVDESS = SHARED_DATA / "ravdess"


def assert_parity(windows: torch.Tensor) -> None:
    """The shipped model's fast path passes `Parity.ok` on these windows."""
    parity = fast_path_parity(load_checkpoint(shipped_model_path()), windows)
    assert parity.ok, parity


def test_fast_path_matches_eager_on_generated_audio() -> None:
    windows = np.stack([speech_like(5.0, seed=i) * (0.05 + i / 30) for i in range(30)])
    assert_parity(torch.from_numpy(windows))


@pytest.mark.skipif(not RAVDESS.is_dir(), reason=f"{RAVDESS} not present")
def test_fast_path_matches_eager_on_ravdess_test_actors() -> None:
    test_actors = [u for u in scan("ravdess", RAVDESS) if int(u.speaker) >= 19]
    assert len(test_actors) == 264
    windows = torch.stack([fit_length(load_waveform(u.path), 80000) for u in test_actors])
    assert_parity(windows)


def test_fast_path_rows_do_not_depend_on_their_batch() -> None:
    # Loud and quiet windows together: a window's output never depends on its batch.
    windows = np.stack([speech_like(5.0, seed=i) * (0.01 + 0.9 * (i % 2)) for i in range(4)])
    windows = torch.from_numpy(windows)
    checkpoint = load_checkpoint(shipped_model_path())
    alone = Predictor(checkpoint, "cpu", "bf16", tie_margin=0.0, max_batch=1)
    together = Predictor(checkpoint, "cpu", "bf16", tie_margin=0.0, max_batch=4)
    np.testing.assert_array_equal(together.probabilities(windows), alone.probabilities(windows))


def test_near_ties_are_recomputed_in_fp32() -> None:
    checkpoint = load_checkpoint(shipped_model_path())
    windows = torch.from_numpy(np.stack([speech_like(5.0, seed=i) for i in range(3)]))
    eager = Predictor(checkpoint, "cpu", "fp32").probabilities(windows)
    always = Predictor(checkpoint, "cpu", "bf16", tie_margin=1.0)  # every window is a "tie"
    np.testing.assert_allclose(always.probabilities(windows), eager, atol=1e-5)
    assert (always.windows, always.recomputed) == (3, 3)
    never = Predictor(checkpoint, "cpu", "bf16", tie_margin=0.0)
    never.probabilities(windows)
    assert (never.windows, never.recomputed, never.reference_net) == (3, 0, None)


def test_only_the_windows_asked_for_are_settled() -> None:
    checkpoint = load_checkpoint(shipped_model_path())
    windows = torch.from_numpy(np.stack([speech_like(5.0, seed=i) for i in range(3)]))
    eager = Predictor(checkpoint, "cpu", "fp32").probabilities(windows)
    always = Predictor(checkpoint, "cpu", "bf16", tie_margin=1.0, max_batch=2)
    probs = always.probabilities(windows, speech=np.array([True, False, True]))
    assert always.recomputed == 2
    np.testing.assert_allclose(probs[[0, 2]], eager[[0, 2]], atol=1e-5)
    assert np.abs(probs[1] - eager[1]).max() > 1e-4  # left in bf16


def test_fast_path_is_a_copy_with_folded_batchnorm(tiny_checkpoint: Path) -> None:
    checkpoint = load_checkpoint(tiny_checkpoint)
    fast = Predictor(checkpoint, "cpu", "bf16")
    assert fast.net is not checkpoint.model.net
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.net.modules())
    assert next(fast.net.parameters()).dtype == torch.bfloat16
    auto = Predictor(checkpoint, "cpu", "auto")  # fp32 on CPUs without bf16: still folded
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in auto.net.modules())
    eager = Predictor(checkpoint, "cpu", "fp32")
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in eager.net.modules())


@pytest.mark.parametrize("pool", [(4, 1), (2, 2)])
def test_channels_last_max_pool_equals_max_pool(pool: tuple[int, int]) -> None:
    reference = torch.nn.MaxPool2d(pool, pool)
    for shape in [(2, 8, 16, 34), (1, 4, 7, 11)]:  # odd sizes: floor like nn.MaxPool2d
        x = torch.randn(shape).to(memory_format=torch.channels_last)
        assert torch.equal(ChannelsLastMaxPool(reference)(x), reference(x))
