"""The speech gate: Silero VAD run incrementally, and the window policy on speech and on every
non-speech kind of the gate benchmark."""

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import synth

from ser.predictor import Predictor
from ser.vad import CHUNK, SileroVad, SpeechGate, VadConfig
from streaming.replay import replay
from streaming.sources import FileSource
from streaming.worker import WorkerConfig
from training.synthetic_audio import NON_SPEECH, inside, join_segments, non_speech


def test_incremental_vad_equals_whole_audio_vad() -> None:
    audio = np.concatenate([synth.speech(sentences=1), non_speech("white", 2.0)])
    whole = SileroVad().update(audio)
    vad, pieces, i = SileroVad(), [], 0
    for size in (700, 3, 5000, 12345, 512, 1):  # awkward sizes, then the rest
        pieces.append(vad.update(audio[i : i + size]))
        i += size
    pieces.append(vad.update(audio[i:]))
    assert np.array_equal(np.concatenate(pieces), whole)
    assert whole.size == audio.size // CHUNK
    assert whole.max() > 0.9 and whole[-40:].max() < 0.5  # speech, then noise


def test_gate_counts_the_whole_window() -> None:
    gate = SpeechGate(80000, VadConfig(threshold=0.5, min_speech_share=0.1))
    assert gate.speech_share == 0 and not gate.is_speech and not gate.speaking
    gate.add(np.zeros(150))
    assert gate.speech_share == 0 and not gate.is_speech
    gate.add(np.ones(15))  # 15 of the window's 156 chunks
    assert gate.speech_share == pytest.approx(15 / 156) and not gate.is_speech
    gate.add(np.ones(1))
    assert gate.is_speech
    gate.add(np.zeros(140))  # the 16 speech chunks are still inside the 5 s window
    assert gate.is_speech
    gate.add(np.zeros(1))  # ... until one of them slides out
    assert not gate.is_speech


def test_gate_threshold_is_strict_and_speaking_is_the_newest_hop() -> None:
    gate = SpeechGate(512 * 10, VadConfig(threshold=0.7, min_speech_share=0.2))
    gate.add(np.array([0.7, 0.7, 0.9, 0.1, 0.2]))  # one chunk above 0.7: 20 % of the hop
    assert gate.speaking and gate.speech_share == pytest.approx(0.1) and not gate.is_speech
    gate.add(np.array([0.71, 0.1, 0.1, 0.1, 0.1, 0.1]))  # 1 of 6: under 20 %
    assert not gate.speaking
    assert gate.speech_share == pytest.approx(0.2) and gate.is_speech  # 0.9 and 0.71 of 10
    gate.add(np.zeros(0))  # a hop without a whole chunk keeps the last answer
    assert not gate.speaking and gate.is_speech
    gate.add(np.ones(2))  # 2 of 2: speaking; the 0.9 chunk slid out, the window has 3 of 10
    assert gate.speaking and gate.speech_share == pytest.approx(0.3)


def test_non_speech_stays_unlabelled_and_speech_is_labelled(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    voice = synth.speech(sentences=2)
    segments = [
        part
        for kind in NON_SPEECH
        for part in (("speech", voice), (kind, non_speech(kind, 8.0, -24.0)))
    ]
    audio, spans = join_segments(segments)
    path = synth.write(tmp_path / "gate.wav", audio)
    events = replay(
        FileSource(path, realtime=False), Predictor.load(tiny_checkpoint), WorkerConfig()
    )
    labelled = defaultdict(list)
    for e in events.windows:
        if kind := inside(spans, e.start, e.end):
            labelled[kind].append(e.label is not None)
    assert set(labelled) == {"speech", *NON_SPEECH}
    assert all(len(flags) >= 3 for flags in labelled.values())
    assert np.mean(labelled.pop("speech")) >= 0.95
    assert not any(any(flags) for flags in labelled.values()), labelled
