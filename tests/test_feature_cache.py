"""Encoder feature cache keys: the audio's content and the encoder's weights, not paths."""

from pathlib import Path

import pytest
import synth
import torch

from ser.config import WhisperFeatureConfig, WhisperModelConfig
from ser.model import SerModel
from training.cached_data import CachedFeatures
from training.corpora import Utterance
from training.encoder_cache import EncoderFeatureCache


def tiny_whisper() -> SerModel:
    torch.manual_seed(0)
    config = WhisperModelConfig(width=16, heads=2, ff_width=32, layers=2, hidden=8)
    return SerModel(WhisperFeatureConfig(), config).eval()


def clip_features(cache: EncoderFeatureCache, items: list[Utterance]) -> torch.Tensor:
    data = CachedFeatures(cache, cache.samples)
    return data.clips("train", items).tensors[0]


def test_audio_rewritten_under_the_same_path_is_encoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = synth.write(tmp_path / "a.wav", synth.class_clip(0, seconds=1.0))
    items = [Utterance(path, 0, "01")]
    cache = EncoderFeatureCache(tiny_whisper(), tmp_path / "cache", precision="fp32")
    first = clip_features(cache, items)
    synth.write(path, synth.class_clip(3, seconds=1.0))  # other audio, same path
    second = clip_features(cache, items)
    assert not torch.equal(first, second)
    assert len(list((tmp_path / "cache").iterdir())) == 2
    # The same bytes again (under another name too) are read back, not encoded.
    monkeypatch.setattr(cache, "_compute", lambda examples, name: pytest.fail("re-encoded"))
    assert torch.equal(clip_features(cache, items), second)
    copy = tmp_path / "b.wav"
    copy.write_bytes(path.read_bytes())
    assert torch.equal(clip_features(cache, [Utterance(copy, 0, "01")]), second)


def test_the_encoder_key_changes_with_any_weight() -> None:
    model = tiny_whisper()
    weight = model.net.encoder.state_dict()["positions"].view(-1)  # shares the parameter
    ids = []
    for pair in ([0.25, 0.75], [0.75, 0.25]):  # two weights swapped: the same sum
        weight[:2] = torch.tensor(pair)
        ids.append(EncoderFeatureCache(model, Path("unused")).encoder_id)
    assert ids[0] != ids[1]
