"""The sliding-window worker: ring buffer -> shared preprocessing + model -> timeline events."""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ser.audio import to_mono
from ser.errors import SerError
from ser.features import fit_length
from ser.predictor import Predictor
from ser.resampled import ResampledStream
from ser.vad import SileroVad, SpeechGate, VadConfig
from ser.windowing import MIN_START_SECONDS, Windowing, first_window
from streaming.events import ChangeEvent, EndEvent, ErrorEvent, Event, GapEvent, WindowEvent
from streaming.postprocess import LabelSmoother, SmootherConfig, level_dbfs
from streaming.recording import Recording
from streaming.sources import RING_SECONDS, AudioSource

RESAMPLER_LEAD = 0.05  # s: how far the streaming resampler's output trails its input, at most


@dataclass(frozen=True)
class WorkerConfig:
    """Hop between window ends, first-result delay, and batching when behind."""

    hop_seconds: float = 0.5
    min_start_seconds: float = MIN_START_SECONDS
    max_batch: int = 8
    vad: VadConfig = field(default_factory=VadConfig)
    # None: the model file's own settings, else SmootherConfig's defaults.
    smoother: SmootherConfig | None = None

    @property
    def windowing(self) -> Windowing:
        """Where the windows end and how they are gated."""
        return Windowing(self.hop_seconds, self.min_start_seconds, self.vad)


def plan_windows(config: WorkerConfig, window: int, rate: int, capacity: int) -> tuple[int, int]:
    """The hop and the first window's end, in frames; SerError unless a ring buffer of
    `capacity` frames holds what the worker waits for (the audio up to the first window's end,
    then one window plus one hop), so that no setting can stall it."""
    hop, first_end = first_window(config.windowing, rate)
    buffer = f"the {capacity / rate:g} s input buffer"
    if hop + window > capacity:
        most = (capacity - window) / rate
        raise SerError(f"--hop must be at most {most:g} s: {buffer} holds one window and one hop")
    if first_end > capacity:
        most = capacity // hop * hop / rate
        raise SerError(
            f"--min-start must be at most {most:g} s with --hop {config.hop_seconds:g}: "
            f"{buffer} holds the audio before the first window"
        )
    return hop, first_end


def check_settings(config: WorkerConfig, predictor: Predictor) -> None:
    """`plan_windows` at the model's own rate: commands refuse a setting before opening input."""
    rate = predictor.sample_rate
    plan_windows(config, predictor.window_samples, rate, round(RING_SECONDS * rate))


@dataclass
class PendingWindow:
    """A window chosen for the next batch: its frame range, its end in stream seconds and its
    estimated arrival time."""

    start: int
    end: int
    end_seconds: float
    span_start: int
    arrival: float


class WindowWorker(threading.Thread):
    """Takes windows ending every hop (the first once `min_start_seconds` exist), batches them
    when it falls behind, and publishes WindowEvent/ChangeEvent, then one EndEvent."""

    def __init__(
        self,
        source: AudioSource,
        predictor: Predictor,
        config: WorkerConfig,
        publish: Callable[[Event], None],
        recorder: Recording | None = None,
    ) -> None:
        super().__init__(name="window-worker", daemon=True)
        self.source, self.predictor, self.config = source, predictor, config
        self.publish, self.recorder = publish, recorder
        rate = source.sample_rate
        self.window = round(predictor.window_samples * rate / predictor.sample_rate)
        self.hop, self._next_end = plan_windows(config, self.window, rate, source.ring.capacity)
        self._last_end = 0
        self._consumed = 0  # frames already passed to the recorder
        self._vad_fed = 0  # 16 kHz samples already passed to the VAD
        self._resampled = ResampledStream(rate, predictor.sample_rate)
        self._lead = 0 if rate == predictor.sample_rate else math.ceil(RESAMPLER_LEAD * rate)
        self._vad = SileroVad()
        self._gate = SpeechGate(predictor.window_samples, config.vad)
        smoother = config.smoother or SmootherConfig.from_settings(
            predictor.smoother_settings, predictor.name
        )
        self.smoother = LabelSmoother(predictor.labels, smoother)
        self.session = predictor.new_session()
        self._reset_session = threading.Event()
        self._smoothed: str | None = None
        self._index = 0
        self._stop = threading.Event()
        self.busy_seconds = 0.0

    def stop(self) -> None:
        """Ask the loop to end after the batch in hand."""
        self._stop.set()

    def reset_session(self) -> None:
        """Forget the session's statistics before the next batch (a new speaker, say)."""
        self._reset_session.set()

    def run(self) -> None:
        try:
            self._loop()
        except SerError as exc:
            self.publish(ErrorEvent(str(exc)))
        except Exception as exc:  # the UI must hear of any failure, never a silent stop
            self.publish(ErrorEvent(f"worker failed: {type(exc).__name__}: {exc}"))
        finally:
            if self.recorder is not None:
                self.recorder.close()
            ring = self.source.ring
            self.publish(
                EndEvent(
                    {
                        "audio_seconds": (ring.written + ring.dropped_frames)
                        / self.source.sample_rate,
                        "dropped_blocks": ring.dropped_blocks,
                        "input_overflows": self.source.overflows,
                        "dropped_seconds": ring.dropped_frames / self.source.sample_rate,
                        "busy_seconds": self.busy_seconds,
                    }
                )
            )

    def _loop(self) -> None:
        ring = self.source.ring
        while not self._stop.is_set():
            finished = self.source.finished
            batch = self._ready_windows(finished)
            if not batch:
                if self.source.error:
                    raise SerError(self.source.error)
                if finished:
                    if ring.written > self._last_end:
                        self._process([self._window(ring.written, time.monotonic())], True)
                    empty = np.zeros((0, self.source.channels), np.float32)
                    self._publish_gaps(self._consumed, self._consumed + 1, empty)  # trailing
                    return
                self.source.check()
                ring.wait_written(self._next_end, timeout=0.1)
                continue
            self._process(batch, finished)

    def _window(self, end: int, arrival: float) -> PendingWindow:
        span_start = max(self._last_end, end - self.hop) if self._last_end else 0
        end_seconds = self._seconds(end, after=False)
        return PendingWindow(max(0, end - self.window), end, end_seconds, span_start, arrival)

    def _ready_windows(self, finished: bool) -> list[PendingWindow]:
        """The windows whose audio is in, and out of the resampler unless the input ended."""
        ring = self.source.ring
        (written, stamp), now = ring.progress, time.monotonic()
        lead = 0 if finished else self._lead
        batch = []
        while self._next_end + lead <= written and len(batch) < self.config.max_batch:
            # Live clock: when the window's last frame arrived. Fast files: when it was picked.
            lag = (written - self._next_end) / self.source.sample_rate
            arrival = stamp - lag if self.source.live_clock else now
            batch.append(self._window(self._next_end, arrival))
            self._last_end = self._next_end
            self._next_end += self.hop
        return batch

    def _process(self, batch: list[PendingWindow], finished: bool) -> None:
        started = time.monotonic()
        ring, resampled, size = self.source.ring, self._resampled, self.predictor.window_samples
        end = batch[-1].end
        written = ring.written
        if written > resampled.fed or (finished and not resampled.ended):
            resampled.add(ring.read(resampled.fed, written), last=finished)
        fresh = ring.read(self._consumed, end)
        self._publish_gaps(self._consumed, end, fresh)
        consumed, self._consumed = self._consumed, end
        speech, clips = [], {}  # clips: the speech windows' audio by row (silent ones uncut)
        for row, w in enumerate(batch):
            end16 = resampled.index(w.end)
            start16 = max(0, end16 - size)
            speech.append(self._vad_step(start16, end16))
            if speech[-1][1]:
                window = torch.from_numpy(resampled.read(start16, end16).copy())
                clips[row] = fit_length(window, size)
        if self._reset_session.is_set() and self.session is not None:
            self._reset_session.clear()
            self.session.reset()
        probs = self._speech_probabilities(batch, clips)
        self._last_end = end
        ring.release(self._last_end)  # the windows read the resampled stream, not the ring
        # Keep one window behind the last end: the final (tail) window may start there.
        resampled.release(resampled.index(self._last_end) - size)
        self.busy_seconds += time.monotonic() - started
        fresh_mono = to_mono(fresh).numpy()
        for w, p, gate in zip(batch, probs, speech, strict=True):
            span = fresh_mono[max(0, w.span_start - consumed) : w.end - consumed]
            self._emit(w, p, *gate, level_dbfs(span))

    def _speech_probabilities(
        self, batch: list[PendingWindow], clips: dict[int, torch.Tensor]
    ) -> list[np.ndarray | None]:
        """The model's probabilities for the windows the gate passed (`clips`: their audio by
        row); None for silent ones, which skip the model (front end and encoder) entirely."""
        out: list[np.ndarray | None] = [None] * len(batch)
        if clips:
            rows = list(clips)
            probs = self.predictor.probabilities(
                torch.stack(list(clips.values())),
                np.ones(len(rows), bool),
                [self.session] * len(rows),
                [batch[i].end_seconds for i in rows],
            )
            for i, p in zip(rows, probs, strict=True):
                out[i] = p
        return out

    def _publish_gaps(self, start: int, end: int, fresh: np.ndarray) -> None:
        """Gap events for audio dropped in [start, end) of the ring; the recording gets the
        fresh audio with silence where the lost frames were."""
        rate, cut = self.source.sample_rate, start
        for at, frames in [g for g in list(self.source.ring.gaps) if start <= g[0] < end]:
            self.publish(GapEvent(self._seconds(at, after=False), frames / rate, time.time()))
            if self.recorder is not None:
                self.recorder.write(fresh[cut - start : at - start])
                self.recorder.write(np.zeros((frames, fresh.shape[1]), np.float32))
            cut = at
        if self.recorder is not None:
            self.recorder.write(fresh[cut - start :])

    def _seconds(self, index: int, after: bool = True) -> float:
        """Stream time of ring index `index`, counting dropped frames; `after` puts a boundary
        that meets a gap after the lost audio (a window start), else before it (an end)."""
        return (index + self.source.ring.lost_before(index, after)) / self.source.sample_rate

    def _vad_step(self, start: int, end: int) -> tuple[float, bool, bool]:
        """Feed the VAD the window's 16 kHz audio [start, end) it has not seen (its newest part);
        the window's speech share, the gate's verdict, and whether that newest part holds speech."""
        new = self._resampled.read(max(start, self._vad_fed), end)
        self._vad_fed = end
        self._gate.add(self._vad.update(new))
        return self._gate.speech_share, self._gate.is_speech, self._gate.speaking

    def _emit(
        self,
        w: PendingWindow,
        probs: np.ndarray | None,
        share: float,
        speech: bool,
        speaking: bool,
        level: float,
    ) -> None:
        now = time.monotonic()
        event = WindowEvent(
            index=self._index,
            start=self._seconds(w.start),
            end=w.end_seconds,
            wall_time=time.time(),
            speech=speech,
            speech_share=share,
            speaking=speaking,
            latency_ms=max(0.0, (now - w.arrival) * 1000),
            level_db=level,
            span_start=self._seconds(w.span_start),
            gap=any(w.start < at < w.end for at, _ in list(self.source.ring.gaps)),
            **judge(probs, speech, self.predictor, self.smoother),
        )
        self._index += 1
        self.publish(event)
        if event.smoothed != self._smoothed:
            self.publish(ChangeEvent(event.end, event.wall_time, self._smoothed, event.smoothed))
            self._smoothed = event.smoothed


def judge(
    probs: np.ndarray | None, speech: bool, predictor: Predictor, smoother: LabelSmoother
) -> dict:
    """A window's probabilities, label, confidence, uncertainty and smoothed label: all None on
    silence (`probs` None: the model did not run); `uncertain` when the (calibrated) top
    probability is below the model's threshold, and then the smoothed label holds."""
    if probs is None or not speech:
        empty = {"probs": None, "label": None, "confidence": None, "uncertain": False}
        return empty | {"smoothed": smoother.update(None)}
    top = int(probs.argmax())
    uncertain = bool(probs[top] < predictor.uncertain_below)
    return {
        "probs": {name: float(v) for name, v in zip(predictor.labels, probs, strict=True)},
        "label": predictor.labels[top],
        "confidence": float(probs[top]),
        "uncertain": uncertain,
        "smoothed": smoother.update(probs, hold=uncertain),
    }
