"""Stream scoring (the headline metric) against figures worked out by hand: hand-made window
events over known emotion blocks, silent windows included."""

import numpy as np
import pytest

from streaming.events import WindowEvent
from training.stream_eval import macro_f1, scored_windows, stream_report
from training.streams import Block, Stream

LABELS = ("angry", "happy", "sad")
BLOCKS = [Block(0.0, 10.0, 0), Block(10.0, 20.0, 1), Block(20.0, 30.0, 2)]
# (start, end, window label, smoothed label); None is silence (no speech, no emotion claimed).
WINDOWS = [
    (0.0, 5.0, "angry", "angry"),  # truth angry
    (3.0, 8.0, "happy", "angry"),  # truth angry
    (8.0, 13.0, "sad", "sad"),  # straddles two blocks: never scored
    (10.0, 15.0, None, "happy"),  # truth happy
    (12.0, 17.0, "happy", "happy"),  # truth happy
    (20.0, 25.0, "sad", "sad"),  # truth sad
    (24.0, 29.0, "angry", "sad"),  # truth sad
    (25.0, 30.0, "sad", None),  # truth sad
]


def event(k: int, start: float, end: float, label: str | None, smoothed: str | None) -> WindowEvent:
    probs = {name: float(name == label) for name in LABELS}
    return WindowEvent(
        index=k,
        start=start,
        end=end,
        wall_time=0.0,
        probs=probs,
        label=label,
        confidence=1.0,
        speech=label is not None,
        speech_share=float(label is not None),
        speaking=label is not None,
        smoothed=smoothed,
        latency_ms=0.0,
        level_db=-20.0,
        span_start=start,
    )


def replays() -> list[tuple[Stream, list[WindowEvent]]]:
    stream = Stream("01", np.zeros(30 * 16000, np.float32), BLOCKS)
    return [(stream, [event(k, *w) for k, w in enumerate(WINDOWS)])]


def test_scored_windows_keep_those_inside_one_block() -> None:
    scored = scored_windows(replays(), LABELS)
    assert scored.truth == [0, 0, 1, 1, 2, 2, 2]
    assert scored.label == [0, 1, -1, 1, 2, 0, 2]
    assert scored.smoothed == [0, 0, 1, 1, 2, 2, -1]
    other = [["sad", "sad", "angry", "sad", None, "happy", "happy", "angry"]]  # by position
    assert scored_windows(replays(), LABELS, other).smoothed == [2, 2, 2, -1, 1, 1, 0]


def test_stream_report_matches_the_hand_computed_figures() -> None:
    report = stream_report(scored_windows(replays(), LABELS), LABELS)
    # Windows: angry P 1/2 R 1/2 -> 0.5; happy P 1/2 R 1/2 (the silent window is a miss) -> 0.5;
    # sad P 2/2 R 2/3 -> 0.8; mean 0.6. Right: 4 of 7.
    assert report["windows"] == 7
    assert report["window_macro_f1"] == pytest.approx(0.6, abs=1e-4)
    assert report["window_accuracy"] == pytest.approx(4 / 7, abs=1e-4)
    assert report["per_class_f1"] == pytest.approx(
        {"angry": 0.5, "happy": 0.5, "sad": 0.8}, abs=1e-4
    )
    # Gated (the 6 windows with a label): happy P 1/2 R 1/1 -> 2/3, others as above.
    assert report["gated_macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3, abs=1e-4)
    # Smoothed: angry 2/2 -> 1, happy 2/2 -> 1, sad 2 of 3 then silence -> 0.8.
    assert report["smoothed_macro_f1"] == pytest.approx(2.8 / 3, abs=1e-4)
    assert report["silent_share"] == pytest.approx(1 / 7, abs=1e-4)


def test_macro_f1_averages_only_the_classes_the_truth_holds() -> None:
    scores = macro_f1([0, 0, 2], [0, 1, -1], LABELS)
    # angry P 1/1 R 1/2 -> 2/3; sad R 0 -> 0; happy, predicted but never true, is left out.
    assert scores["macro_f1"] == pytest.approx(1 / 3, abs=1e-4)
    assert scores["accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert scores["per_class_f1"] == pytest.approx({"angry": 2 / 3, "sad": 0.0}, abs=1e-4)
    assert macro_f1([], [], LABELS) == {"macro_f1": None, "accuracy": None, "per_class_f1": {}}
