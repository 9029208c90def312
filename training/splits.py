"""Speaker-independent splits: no speaker appears in two of train/val/test."""

import random
from collections import defaultdict
from dataclasses import dataclass

from ser.errors import SerError
from training.corpora import Utterance


@dataclass(frozen=True)
class Split:
    """Utterances of each stage; speakers are disjoint across the three."""

    train: list[Utterance]
    val: list[Utterance]
    test: list[Utterance]

    @property
    def all(self) -> list[Utterance]:
        """Every utterance of the three stages (a held-out corpus is scored whole)."""
        return self.train + self.val + self.test

    def speakers(self, stage: str) -> set[str]:
        """Speaker ids in one stage."""
        return {u.speaker for u in getattr(self, stage)}


def split_by_fixed_speakers(items: list[Utterance], val: list[str], test: list[str]) -> Split:
    """Named validation and test speakers; everyone else trains."""
    val_set, test_set = set(val), set(test)
    if val_set & test_set:
        raise SerError("a speaker is listed in both validation and test")
    return Split(
        train=[u for u in items if u.speaker not in val_set | test_set],
        val=[u for u in items if u.speaker in val_set],
        test=[u for u in items if u.speaker in test_set],
    )


def split_by_speaker_fraction(
    items: list[Utterance], val_fraction: float, test_fraction: float, seed: int
) -> Split:
    """Deterministic actor split by fractions, stratified by sex where it is known."""
    by_sex: dict[str, list[str]] = defaultdict(list)
    for speaker, sex in sorted({(u.speaker, u.sex) for u in items}):
        by_sex[sex].append(speaker)
    rng = random.Random(seed)
    val, test = [], []
    for sex in sorted(by_sex):
        speakers = by_sex[sex]
        rng.shuffle(speakers)
        n_test = round(len(speakers) * test_fraction)
        n_val = round(len(speakers) * val_fraction)
        test += speakers[:n_test]
        val += speakers[n_test : n_test + n_val]
    return split_by_fixed_speakers(items, val, test)


def check_split(split: Split) -> None:
    """SerError when a stage is empty or speakers leak across stages."""
    for stage in ("train", "val", "test"):
        if not getattr(split, stage):
            raise SerError(f"the {stage} split is empty: too few speakers for this split")
    if (
        split.speakers("train") & split.speakers("val")
        or split.speakers("train") & split.speakers("test")
        or split.speakers("val") & split.speakers("test")
    ):
        raise SerError("speakers overlap between splits")
