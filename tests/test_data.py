"""Corpus parsing, speaker-independent splits, class weights and the training dataset."""

from pathlib import Path

import pytest
import torch

from ser.config import FeatureConfig
from ser.errors import SerError
from ser.labels import EMOTIONS
from training.corpora import scan
from training.datamodule import EmotionDataModule, class_weights, make_split
from training.dataset import ClipDataset

RAVDESS_SPLIT = {
    "kind": "fixed",
    "val_speakers": ["17", "18"],
    "test_speakers": ["19", "20", "21", "22", "23", "24"],
}
CREMAD_SPLIT = {"kind": "fraction", "val_fraction": 0.1, "test_fraction": 0.2, "seed": 0}


def test_cremad_parsing(cremad_root: Path) -> None:
    items = scan("cremad", cremad_root)
    assert len(items) == 10 * 6 * 2
    first = items[0]
    assert first.speaker == "1001" and cremad_class(first.path.name) == EMOTIONS[first.label]


def cremad_class(name: str) -> str:
    """The class name a CREMA-D file name encodes."""
    code = name.split("_")[2]
    return {
        "ANG": "anger",
        "DIS": "disgust",
        "FEA": "fear",
        "HAP": "happy",
        "NEU": "neutral",
        "SAD": "sad",
    }[code]


def test_ravdess_parsing_maps_and_drops(ravdess_root: Path) -> None:
    items = scan("ravdess", ravdess_root)
    assert len(items) == 24 * 6  # calm (02) and surprised (08) are dropped
    angry = [u for u in items if u.path.name.startswith("03-01-05")]
    assert angry and all(EMOTIONS[u.label] == "anger" for u in angry)
    assert {u.sex for u in items if u.speaker == "01"} == {"m"}
    assert {u.sex for u in items if u.speaker == "02"} == {"f"}


def test_ravdess_fixed_split_is_disjoint(ravdess_root: Path) -> None:
    split = make_split(scan("ravdess", ravdess_root), RAVDESS_SPLIT)
    assert split.speakers("val") == {"17", "18"}
    assert split.speakers("test") == {f"{i}" for i in range(19, 25)}
    assert split.speakers("train") == {f"{i:02d}" for i in range(1, 17)}
    assert len(split.train) == 16 * 6 and len(split.val) == 12 and len(split.test) == 36


def test_cremad_fraction_split_is_disjoint_and_deterministic(cremad_root: Path) -> None:
    items = scan("cremad", cremad_root)
    a, b = make_split(items, CREMAD_SPLIT), make_split(items, CREMAD_SPLIT)
    for stage in ("train", "val", "test"):
        assert a.speakers(stage) == b.speakers(stage)
    assert not a.speakers("train") & a.speakers("test")
    assert not a.speakers("train") & a.speakers("val")
    assert not a.speakers("val") & a.speakers("test")
    assert len(a.speakers("test")) == 2 and len(a.speakers("val")) == 1


def test_cremad_split_stratified_by_sex(tmp_path: Path) -> None:
    import synth

    root = synth.make_cremad(tmp_path / "c", actors=20, per_class=1)
    rows = ["ActorID,Age,Sex,Race,Ethnicity"]
    rows += [f"{1001 + a},30,{'Male' if a % 2 else 'Female'},x,y" for a in range(20)]
    (root / "VideoDemographics.csv").write_text("\n".join(rows) + "\n")
    split = make_split(scan("cremad", root), {**CREMAD_SPLIT, "test_fraction": 0.2})
    sexes = [u.sex for u in split.test]
    assert sexes.count("m") == sexes.count("f") > 0


def test_missing_corpus_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SerError, match="not found"):
        scan("ravdess", tmp_path / "nope")
    with pytest.raises(SerError, match="no cremad clips"):
        scan("cremad", tmp_path)


def test_class_weights_from_training_labels(cremad_root: Path) -> None:
    items = scan("cremad", cremad_root)
    unbalanced = [u for u in items if u.label != 0] + [u for u in items if u.label == 0][:5]
    weights = class_weights([u.label for u in unbalanced])
    assert weights[0] > weights[1]
    assert torch.isclose(weights.mean(), torch.tensor(1.0))


def test_dataset_gives_fixed_length_clips(cremad_root: Path) -> None:
    items = scan("cremad", cremad_root)[:3]
    from training.augment import build_augment

    augment = build_augment(
        {
            "shift_p": 1,
            "lowpass_p": 1,
            "lowpass_min_hz": 4000,
            "highpass_p": 1,
            "highpass_max_hz": 800,
            "noise_p": 1,
            "min_snr_db": 10,
            "max_snr_db": 40,
            "pitch_p": 1,
            "min_semitones": -2,
            "max_semitones": 3,
            "gain_p": 1,
            "min_gain_db": -6,
            "max_gain_db": 12,
        }
    )
    for aug in (None, augment):
        clip, label = ClipDataset(items, 16000, 80000, aug, random_crop=True)[0]
        assert clip.shape == (80000,) and clip.dtype == torch.float32 and label == items[0].label
        assert torch.isfinite(clip).all()


def test_datamodule_setup(ravdess_root: Path) -> None:
    dm = EmotionDataModule(
        "ravdess", str(ravdess_root), RAVDESS_SPLIT,
        features=FeatureConfig(), extra_train=[], augment=None, batch_size=4, num_workers=0,
    )  # fmt: skip
    dm.setup("fit")
    batch, labels = next(iter(dm.val_dataloader()))
    assert batch.shape == (4, 80000) and labels.shape == (4,)
    assert dm.class_weights is not None and dm.class_weights.shape == (6,)


def test_spec_augment_masks_part_of_each_image_independently() -> None:
    import torch

    from training.augment import build_spec_augment

    assert build_spec_augment(None) is None
    masks = build_spec_augment({"freq_mask": 32, "time_mask": 128, "masks": 2})
    torch.manual_seed(0)
    image = torch.randn(8, 1, 256, 1024)
    masked = masks(image)
    zero_fraction = (masked == 0).float().mean(dim=(1, 2, 3))
    assert masked.shape == image.shape
    assert float(zero_fraction.max()) < 0.5
    assert len(set(zero_fraction.tolist())) > 1  # drawn per example, not once per batch
