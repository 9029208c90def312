"""Checks against the real corpora in ../shared/data (skipped where it is absent)."""

import pytest
from conftest import SHARED_DATA

from training.corpora import scan
from training.datamodule import make_split
from training.dataset import ClipDataset

RAVDESS = SHARED_DATA / "ravdess"
pytestmark = pytest.mark.skipif(not RAVDESS.is_dir(), reason=f"{RAVDESS} not present")


def test_ravdess_counts_and_fixed_split() -> None:
    items = scan("ravdess", RAVDESS)
    assert len(items) == 1056  # six mapped classes, 44 clips per actor
    split = make_split(
        items,
        {
            "kind": "fixed",
            "val_speakers": ["17", "18"],
            "test_speakers": ["19", "20", "21", "22", "23", "24"],
        },
    )
    assert (len(split.train), len(split.val), len(split.test)) == (704, 88, 264)
    assert {u.sex for u in split.test} == {"m", "f"}


def test_ravdess_clip_loads_as_fixed_length() -> None:
    item = scan("ravdess", RAVDESS)[0]
    clip, label = ClipDataset([item], 16000, 80000)[0]
    assert clip.shape == (80000,) and label == item.label and clip.abs().max() > 0.01


def test_tess_parses_when_present() -> None:
    tess = SHARED_DATA / "tess"
    if not tess.is_dir():
        pytest.skip(f"{tess} not present")
    items = scan("tess", tess)
    assert len(items) > 2000 and {u.speaker for u in items} == {"tess-OAF", "tess-YAF"}
