"""Session adaptation, calibration and the probe fit: known answers."""

import math

import pytest
import torch

from ser.adaptation import AdaptationConfig, SessionAdapter, adapt, running_means
from ser.calibration import Calibration, distances


def test_running_means_blend_the_prior_with_each_window_and_those_before() -> None:
    pooled = torch.tensor([[2.0], [4.0], [6.0]])
    means = running_means(pooled, torch.tensor([0.0]), prior_windows=2.0)
    # (2 * 0 + 2) / 3, (2 + 4) / 4, (2 + 4 + 6) / 5
    assert means.flatten().tolist() == pytest.approx([2 / 3, 1.5, 2.4])
    assert adapt(pooled, means, torch.tensor([1.0])).flatten().tolist() == pytest.approx(
        [2 - 2 / 3 + 1, 4 - 1.5 + 1, 6 - 2.4 + 1]
    )


def test_live_adapter_matches_the_training_computation_and_skips_silence() -> None:
    pooled = torch.randn(6, 3, 4)
    prior = torch.randn(3, 4)
    live = SessionAdapter(prior, AdaptationConfig(prior_windows=5.0))
    first = live.means(pooled[:4], torch.tensor([True] * 4))
    second = live.means(pooled[4:], torch.tensor([True, True]))
    whole = running_means(pooled, prior, 5.0)
    assert torch.allclose(torch.cat([first, second]), whole, atol=1e-5)

    live.reset()
    gated = live.means(pooled[:3], torch.tensor([True, False, True]))
    expected = running_means(pooled[[0, 2]], prior, 5.0)
    assert torch.allclose(gated[0], expected[0], atol=1e-5)
    assert torch.allclose(gated[1], expected[0], atol=1e-5)  # silence sees the mean before it
    assert torch.allclose(gated[2], expected[1], atol=1e-5)
    assert live.windows == 2


def test_adaptation_settings_from_a_model_file() -> None:
    assert AdaptationConfig.from_settings(None) is None
    config = AdaptationConfig.from_settings({"prior_windows": 60, "reset_after_silence": 10})
    assert config == AdaptationConfig(60.0, 10.0)
    with pytest.raises(ValueError):
        AdaptationConfig.from_settings({"prior_windows": 0})


def test_temperature_follows_the_distances() -> None:
    calibration = Calibration((math.log(2.0), 1.0, 0.0, -1.0), 0.4)
    familiarity = torch.tensor([[1.0, 1.0, 1.0], [3.0, 1.0, 1.0], [3.0, 5.0, 3.0]])
    # log T = log 2 + log(window distance) - log(adapted distance): T = 2, 6, then 2 * 3 / 3.
    assert calibration.temperature(familiarity).flatten().tolist() == pytest.approx([2, 6, 2])
    assert Calibration.from_settings(calibration.settings()) == calibration
    assert Calibration.from_settings(None) is None


def test_distances_are_one_for_one_standard_deviation() -> None:
    mean, std = torch.zeros(2, 3), torch.full((2, 3), 2.0)
    pooled = torch.full((1, 2, 3), 2.0)  # one standard deviation in every feature
    session = torch.zeros(1, 2, 3)
    # The session mean sits on the training mean, so the adapted window is the window.
    assert distances(pooled, session, mean, std)[0].tolist() == pytest.approx([1.0, 1e-3, 1.0])
    shifted = torch.full((1, 2, 3), 4.0)  # the session two deviations off: adapted back to 1
    assert distances(pooled + 4, shifted, mean, std)[0].tolist() == pytest.approx([3, 2, 1])


def test_uncertainty_threshold_flags_where_wrong_outnumber_right() -> None:
    pytest.importorskip("torchmetrics")
    from training.calibrate import uncertainty_threshold

    # Top probabilities 0.4, 0.45, 0.5 wrong; 0.6, 0.7, 0.8 right: the threshold lies at 0.6.
    tops = torch.tensor([0.4, 0.45, 0.5, 0.6, 0.7, 0.8])
    labels = torch.tensor([1, 1, 1, 0, 0, 0])
    rest = ((1 - tops) / 2).log()
    logits = torch.stack([tops.log(), rest, rest], dim=1)
    part = {"logits": logits, "labels": labels, "familiarity": torch.ones(6, 3)}
    assert uncertainty_threshold(Calibration((0.0,) * 4, 0.0), {"c": part}) == 0.6
