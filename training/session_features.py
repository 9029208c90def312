"""Pooled encoder features of every corpus in `../shared/data`, as leave-one-corpus-out needs
them: every 5 s window (hop 1 s) of per-session streams, in time order, and every clip.

A session is one speaker's recording (a RESD dialogue: its two roles, two emotions), built as
`ser-test --streams` builds streams; windows that straddle two emotion blocks keep label -1
(never scored, but part of the session, as the live worker sees them). Features are cached
under a key made of the audio's content, the stream plan and the encoder's numerics."""

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import torch

from ser.model import SerModel
from training.cached_data import clip_window
from training.corpora import Utterance, scan
from training.encoder_cache import EncoderFeatureCache, Example, content_digest
from training.streams import StreamSpec, build_streams, window_truth

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Corpus:
    """One corpus of `../shared/data`: its scanner, folder and how selection may use it."""

    name: str
    scanner: str
    folder: str
    use: str  # "main" (RAVDESS: by-actor folds), "held_out", "validation" (never trained on),
    # "train" (extra training data only, never scored)
    stream_hop: float = 2.0  # seconds between windows (1 s apart they overlap by 80 %)
    clips: bool = True  # the clips too (every corpus that is ever scored)


CORPORA = (
    Corpus("ravdess", "ravdess", "ravdess", "main", stream_hop=1.0),
    Corpus("urdu", "manifest", "urdu", "held_out", stream_hop=1.0),
    Corpus("emovo", "manifest", "emovo", "held_out", stream_hop=1.0),
    Corpus("ased", "manifest", "ased", "held_out"),
    Corpus("resd", "manifest", "resd", "held_out"),
    Corpus("spanish", "manifest", "spanish", "validation"),
    Corpus("tess", "tess", "tess", "train", clips=False),
    Corpus("iesc", "manifest", "iesc", "train", clips=False),
)


@dataclass(frozen=True)
class CorpusFeatures:
    """One corpus's pooled features: stream windows (in session and time order) and clips."""

    name: str
    windows: torch.Tensor  # (N, layers + 1, 2 * width) float16
    window_labels: torch.Tensor  # (N,) class index, -1 where a window straddles two blocks
    window_sessions: tuple[str, ...]
    clips: torch.Tensor
    clip_labels: torch.Tensor
    clip_speakers: tuple[str, ...]


def session_of(item: Utterance) -> str:
    """The session a clip is heard in: its speaker, or its dialogue for RESD's roles (a role
    plays one emotion, so a per-role session would carry the label)."""
    return item.speaker[: len("resd-dNN")] if item.speaker.startswith("resd-d") else item.speaker


def _window(audio: torch.Tensor, start: int, size: int) -> torch.Tensor:
    return audio[start : start + size]


def corpus_features(
    corpus: Corpus, root: Path, model: SerModel, cache_dir: Path, spec: StreamSpec = StreamSpec()
) -> CorpusFeatures:
    """Features of one corpus under `root` (computed once, then read from `cache_dir`)."""
    items = scan(corpus.scanner, root / corpus.folder)
    content = content_digest([u.path for u in items])
    cache = EncoderFeatureCache(model, cache_dir, batch=8)
    size = model.frontend.config.clip_samples
    clip_items = items if corpus.clips else []
    clip_makes: list[Example] = [partial(clip_window, u.path, size) for u in clip_items]
    (clips,) = cache.features(f"{corpus.name}-clips", [content, size], clip_makes)

    sessions = build_streams([replace(u, speaker=session_of(u)) for u in items], spec)
    hop = round(corpus.stream_hop * SAMPLE_RATE)
    makes: list[Example] = []
    labels, window_sessions = [], []
    for stream in sessions:
        audio = torch.from_numpy(stream.audio)
        for start in range(0, audio.numel() - size + 1, hop):
            makes.append(partial(_window, audio, start, size))
            label = window_truth(stream.blocks, start / SAMPLE_RATE, (start + size) / SAMPLE_RATE)
            labels.append(-1 if label is None else label)
            window_sessions.append(stream.speaker)
    keys = [content, repr(spec), corpus.stream_hop, size, "sessions"]
    (windows,) = cache.features(f"{corpus.name}-sessions", keys, makes)
    return CorpusFeatures(
        corpus.name,
        windows.half(),
        torch.tensor(labels, dtype=torch.long),
        tuple(window_sessions),
        clips.half().reshape(len(clip_items), *windows.shape[1:]),
        torch.tensor([u.label for u in clip_items], dtype=torch.long),
        tuple(u.speaker for u in clip_items),
    )
