"""Archive scoring: DataLoader workers play files (or in-memory audio) through the live worker
(decoding, windows, resampling, speech gate) while the model in the main process takes their
windows in large batches; the result is each file's window events exactly as a replay through
the live path gives them. Where only each file's label is wanted, the workers cut and gate the
files' speech windows without the live path (`gated_files`)."""

import os
import queue
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ser.adaptation import SessionAdapter
from ser.cli_support import first_line
from ser.errors import SerError
from ser.predictor import Predictor
from ser.windowing import SpeechWindows, Windowing, file_speech_windows
from streaming.events import WindowEvent
from streaming.postprocess import LabelSmoother, SmootherConfig
from streaming.replay import iter_windows
from streaming.sources import AudioArray, played_name, played_source
from streaming.worker import WorkerConfig, judge


@dataclass(frozen=True)
class ModelFacts:
    """What the live worker reads of a Predictor besides its probabilities."""

    labels: tuple[str, ...]
    sample_rate: int
    window_samples: int
    smoother_settings: object
    name: str
    uncertain_below: float

    @classmethod
    def of(cls, predictor: Predictor) -> "ModelFacts":
        return cls(
            predictor.labels,
            predictor.sample_rate,
            predictor.window_samples,
            predictor.smoother_settings,
            predictor.name,
            predictor.uncertain_below,
        )


class DeferredPredictor:
    """Stands in for the Predictor inside a loader worker: it keeps each window the live worker
    hands it (the speech windows) for the model in the main process and answers NaN placeholders."""

    def __init__(self, facts: ModelFacts, capacity: int) -> None:
        self.labels, self.sample_rate = facts.labels, facts.sample_rate
        self.window_samples, self.name = facts.window_samples, facts.name
        self.smoother_settings = facts.smoother_settings
        self.uncertain_below = facts.uncertain_below
        self._windows: queue.Queue[tuple[torch.Tensor, bool]] = queue.Queue(capacity)
        self.closed = False

    def new_session(self) -> None:
        """Sessions live with the model in the main process (ArchiveScorer)."""
        return None

    def probabilities(
        self, windows: torch.Tensor | np.ndarray, speech: np.ndarray | None = None, *_: object
    ) -> np.ndarray:
        """Keep (N, samples) windows and their `speech` flags; (N, classes) NaN."""
        batch = torch.as_tensor(windows, dtype=torch.float32)
        flags = np.ones(len(batch), bool) if speech is None else np.asarray(speech, bool)
        for item in zip(batch, flags.tolist(), strict=True):
            while True:  # bounded: a long file never piles up in memory
                try:
                    self._windows.put(item, timeout=0.1)
                    break
                except queue.Full:
                    if self.closed:
                        raise SerError("archive scoring stopped") from None
        return np.full((len(batch), len(self.labels)), np.nan, np.float32)

    def take(self) -> tuple[torch.Tensor, bool]:
        """The oldest window kept (the worker hands it over before it publishes its event)."""
        return self._windows.get_nowait()


@dataclass
class WindowPack:
    """One loader batch: windows for the model, the events of the files they come from, in
    order, and the files that ended."""

    clips: torch.Tensor  # (n, samples) 16 kHz windows
    speech: torch.Tensor  # (n,) bool: the gate's verdict, as the worker hands it to the model
    events: list[tuple[int, WindowEvent, int]]  # (file index, event, its row in clips or -1)
    ends: list[tuple[int, str | None]]  # (file index, error message or None)

    def pin_memory(self) -> "WindowPack":
        """Page-locked windows for a faster copy to the GPU (DataLoader's pin_memory)."""
        return replace(self, clips=self.clips.pin_memory())


@dataclass
class PackBuilder:
    """Collects one worker's windows and file ends until a pack is full."""

    window_samples: int
    clips: list[torch.Tensor] = field(default_factory=list)
    speech: list[bool] = field(default_factory=list)
    events: list[tuple[int, WindowEvent, int]] = field(default_factory=list)
    ends: list[tuple[int, str | None]] = field(default_factory=list)

    def add(self, index: int, event: WindowEvent, window: tuple[torch.Tensor, bool] | None) -> None:
        row = -1
        if window is not None:
            row = len(self.clips)
            self.clips.append(window[0])
            self.speech.append(window[1])
        self.events.append((index, event, row))

    def take(self) -> WindowPack:
        """The pack so far; the builder starts empty again."""
        clips = torch.stack(self.clips) if self.clips else torch.zeros(0, self.window_samples)
        pack = WindowPack(
            clips, torch.tensor(self.speech, dtype=torch.bool), self.events, self.ends
        )
        self.clips, self.speech, self.events, self.ends = [], [], [], []
        return pack


class ArchiveDataset(IterableDataset):
    """Files (or in-memory audio) split among the loader workers; each plays its share through
    the live worker, one after another, and yields packs of `pack_windows` windows."""

    def __init__(
        self,
        paths: Sequence[str | AudioArray],
        facts: ModelFacts,
        config: WorkerConfig,
        pack_windows: int,
    ) -> None:
        super().__init__()
        self.paths, self.facts, self.config = list(paths), facts, config
        self.pack_windows = pack_windows

    def __iter__(self) -> Iterator[WindowPack]:
        info = get_worker_info()
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        pack = PackBuilder(self.facts.window_samples)
        for index in range(first, len(self.paths), step):
            error = None
            try:
                for event, window in self._windows(self.paths[index]):
                    pack.add(index, event, window)
                    if len(pack.clips) >= self.pack_windows:
                        yield pack.take()
            except SerError as exc:  # unreadable, empty, NaN: reported, the rest go on
                error = first_line(exc)
            pack.ends.append((index, error))
        if pack.events or pack.ends:
            yield pack.take()

    def _windows(
        self, item: str | AudioArray
    ) -> Iterator[tuple[WindowEvent, tuple[torch.Tensor, bool] | None]]:
        deferred = DeferredPredictor(self.facts, 2 * self.config.max_batch)
        try:
            source = played_source(item)
            for event in iter_windows(source, deferred, self.config, {}):
                yield event, deferred.take() if event.speech else None
        finally:
            deferred.closed = True


@dataclass
class FileWindows:
    """A file's window events (empty with `error` when it could not be played); `path` is the
    in-memory audio's name for an AudioArray."""

    path: str
    windows: list[WindowEvent]
    error: str | None = None


class ArchiveScorer:
    """The main-process side: the model's probabilities for a pack (each file its own session),
    put into each file's events as the live worker puts them."""

    def __init__(
        self, predictor: Predictor, config: WorkerConfig, paths: Sequence[str | AudioArray]
    ) -> None:
        self.predictor, self.paths = predictor, [played_name(p) for p in paths]
        self.smoother = config.smoother or SmootherConfig.from_settings(
            predictor.smoother_settings, predictor.name
        )
        self._open: dict[int, OpenFile] = {}

    def _file(self, index: int) -> "OpenFile":
        if index not in self._open:
            smoother = LabelSmoother(self.predictor.labels, self.smoother)
            self._open[index] = OpenFile([], smoother, self.predictor.new_session())
        return self._open[index]

    def score(self, pack: WindowPack) -> list[FileWindows]:
        """Run the model on the pack's windows; the files that ended with it."""
        rows = sorted((row, index, event) for index, event, row in pack.events if row >= 0)
        sessions = [self._file(index).session for _, index, _ in rows]
        ends = [event.end for _, _, event in rows]
        probs = self.predictor.probabilities(pack.clips, pack.speech.numpy(), sessions, ends)
        for index, event, row in pack.events:
            file = self._file(index)
            scored = probs[row] if row >= 0 else None  # silent windows skipped the model
            event = replace(event, **judge(scored, event.speech, self.predictor, file.smoother))
            file.events.append(event)
        done = []
        for index, error in pack.ends:
            events = self._open.pop(index).events if index in self._open else []
            done.append(FileWindows(self.paths[index], [] if error else events, error))
        return done


@dataclass
class OpenFile:
    """A file being scored: its events so far, its smoother and its session."""

    events: list[WindowEvent]
    smoother: LabelSmoother
    session: SessionAdapter | None


def default_workers(processes: int = 1) -> int:
    """Loader workers per process: this machine's cores shared among `processes`, 1 to 8."""
    return max(1, min(8, (os.cpu_count() or 1) // processes))


def _one_thread(_: int) -> None:
    """Loader worker start: one torch thread each (the model's threads live elsewhere)."""
    torch.set_num_threads(1)


def archive_loader(
    paths: Sequence[str | AudioArray], predictor: Predictor, config: WorkerConfig, workers: int
) -> DataLoader:
    """Packs of as many windows as the predictor takes at once (at least 16), from `workers`
    loader processes (0: in this one)."""
    dataset = ArchiveDataset(paths, ModelFacts.of(predictor), config, max(16, predictor.max_batch))
    return DataLoader(
        dataset,
        batch_size=None,
        num_workers=workers,
        worker_init_fn=_one_thread,
        pin_memory=predictor.device.type == "cuda",
    )


class GatedFiles(IterableDataset):
    """Files split among the loader workers, each read and its speech windows cut and gated
    (no model): (path, its speech windows, or the one line saying why it has none)."""

    def __init__(self, paths: Sequence[str], facts: ModelFacts, windowing: Windowing) -> None:
        super().__init__()
        self.paths, self.facts, self.windowing = list(paths), facts, windowing

    def __iter__(self) -> Iterator[tuple[str, SpeechWindows | str]]:
        info = get_worker_info()
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        rate, size = self.facts.sample_rate, self.facts.window_samples
        for path in self.paths[first::step]:
            try:
                yield path, file_speech_windows(path, rate, size, self.windowing)
            except SerError as exc:  # unreadable, empty, NaN: reported, the rest go on
                yield path, first_line(exc)


def gated_files(
    paths: Sequence[str], predictor: Predictor, windowing: Windowing, workers: int
) -> Iterator[tuple[str, SpeechWindows | str]]:
    """Each file's speech windows (or error line) from `workers` loader processes (0: this
    one), taken from the workers in turn: `Predictor.classify_file`'s first half, in parallel."""
    dataset = GatedFiles(paths, ModelFacts.of(predictor), windowing)
    yield from DataLoader(dataset, batch_size=None, num_workers=workers, worker_init_fn=_one_thread)


def score_files(
    paths: Sequence[str | AudioArray], predictor: Predictor, config: WorkerConfig, workers: int
) -> Iterator[FileWindows]:
    """Each file's (or in-memory audio's) window events as it ends (files split among workers
    end out of order)."""
    scorer = ArchiveScorer(predictor, config, paths)
    for pack in archive_loader(paths, predictor, config, workers):
        yield from scorer.score(pack)
