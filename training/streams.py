"""Long recordings built from one speaker's clips, as `ser-live` hears continuous speech:
blocks of clips of one emotion with short pauses, the emotion changing between blocks."""

import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ser.audio import load_waveform
from training.corpora import Utterance


@dataclass(frozen=True)
class StreamSpec:
    """How streams are built (fixed seed; documented in docs/training.md, stream evaluation)."""

    clips_per_block: int = 3
    min_pause: float = 0.1
    max_pause: float = 0.6
    seed: int = 0


@dataclass(frozen=True)
class Block:
    """One emotion block of a stream: [start, end) seconds and its class index."""

    start: float
    end: float
    label: int


@dataclass(frozen=True)
class Stream:
    """One speaker's recording and its blocks."""

    speaker: str
    audio: np.ndarray
    blocks: list[Block]


def block_plan(
    items: list[Utterance], spec: StreamSpec, rng: random.Random
) -> list[list[Utterance]]:
    """Clips of one speaker grouped into same-emotion blocks, ordered so that neighbouring
    blocks differ in emotion wherever the counts allow."""
    by_label: dict[int, list[Utterance]] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)
    blocks = []
    for label in sorted(by_label):
        clips = by_label[label]
        rng.shuffle(clips)
        size = spec.clips_per_block
        blocks += [clips[i : i + size] for i in range(0, len(clips), size)]
    rng.shuffle(blocks)
    ordered: list[list[Utterance]] = []
    while blocks:
        previous = ordered[-1][0].label if ordered else None
        pick = next((i for i, b in enumerate(blocks) if b[0].label != previous), 0)
        ordered.append(blocks.pop(pick))
    return ordered


def build_stream(
    speaker: str, items: list[Utterance], spec: StreamSpec, sample_rate: int = 16000
) -> Stream:
    """Concatenate a speaker's clips into one recording; pauses are digital silence."""
    rng = random.Random(f"{spec.seed}-{speaker}")
    pieces, blocks, t = [], [], 0
    for block in block_plan(list(items), spec, rng):
        starts = []
        for item in block:
            pause = round(rng.uniform(spec.min_pause, spec.max_pause) * sample_rate)
            pieces += [np.zeros(pause, np.float32), load_waveform(item.path, sample_rate).numpy()]
            starts.append(t + pause)
            t += pause + pieces[-1].size
        # A block runs from its first clip's start to its last clip's end.
        blocks.append(Block(starts[0] / sample_rate, t / sample_rate, block[0].label))
    pieces.append(np.zeros(round(spec.max_pause * sample_rate), np.float32))
    return Stream(speaker, np.concatenate(pieces), blocks)


def build_streams(
    items: list[Utterance], spec: StreamSpec = StreamSpec(), sample_rate: int = 16000
) -> list[Stream]:
    """One stream per speaker, in speaker order."""
    by_speaker: dict[str, list[Utterance]] = defaultdict(list)
    for item in items:
        by_speaker[item.speaker].append(item)
    return [build_stream(s, by_speaker[s], spec, sample_rate) for s in sorted(by_speaker)]


def window_truth(blocks: list[Block], start: float, end: float) -> int | None:
    """The class of the block that wholly contains [start, end), else None (not scored)."""
    for block in blocks:
        if block.start <= start + 1e-6 and end <= block.end + 1e-6:
            return block.label
    return None
