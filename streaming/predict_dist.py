"""ser-predict across processes, GPUs and nodes: Lightning's `Trainer.predict` with DDP, each
rank scoring its share of the files through the archive loader into its own part file."""

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import BasePredictionWriter

from ser.errors import SerError
from ser.predictor import Predictor
from streaming.archive import ArchiveScorer, FileWindows, WindowPack, archive_loader
from streaming.predict_output import PartWriter, ResultStore, ScoredFile
from streaming.worker import WorkerConfig

ACCELERATORS = {"auto": "auto", "cpu": "cpu", "cuda": "gpu"}


@dataclass(frozen=True)
class DistributedRun:
    """A run over `devices` processes on each of `num_nodes` nodes: the windows, the model's
    device kind (auto, cpu or cuda), precision and adaptation, the loader workers per process,
    and the program that messages name."""

    config: WorkerConfig
    compute: str
    precision: str
    adapt: bool
    workers: int
    devices: int
    num_nodes: int
    prog: str


class ArchiveModule(pl.LightningModule):
    """The Predictor on this rank's device and the loader of this rank's files."""

    def __init__(
        self,
        checkpoint: Path,
        precision: str,
        adapt: bool,
        paths: list[str],
        config: WorkerConfig,
        workers: int,
    ) -> None:
        super().__init__()
        self.checkpoint, self.precision_name, self.adapt = checkpoint, precision, adapt
        self.paths, self.config, self.workers = paths, config, workers
        self.share: list[str] = []

    def setup(self, stage: str) -> None:
        device = self.trainer.strategy.root_device  # Lightning made it the current device
        if device.type == "cpu":  # the host's cores shared by the ranks on it
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.trainer.num_devices))
        self.predictor = Predictor.load(
            self.checkpoint, device.type, self.precision_name, adapt=self.adapt
        )
        self.share = self.paths[self.global_rank :: self.trainer.world_size]
        self.scorer = ArchiveScorer(self.predictor, self.config, self.share)

    def predict_dataloader(self) -> Any:
        return archive_loader(self.share, self.predictor, self.config, self.workers)

    def transfer_batch_to_device(self, batch: WindowPack, device: Any, index: int) -> WindowPack:
        return batch  # the Predictor moves the windows itself

    def predict_step(self, batch: WindowPack) -> list[FileWindows]:
        return self.scorer.score(batch)


class PartFileWriter(BasePredictionWriter):
    """Each rank's finished files into its part file; all ranks wait for each other at the end."""

    def __init__(self, store: ResultStore, prog: str, labels: tuple[str, ...]) -> None:
        super().__init__("batch")
        self.store, self.prog, self.labels = store, prog, labels
        self.part: PartWriter | None = None

    def on_predict_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.part = self.store.part(trainer.global_rank, self.prog, self.labels)

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: list[FileWindows],
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        assert self.part is not None
        for result in prediction:
            self.part.add(ScoredFile.of_windows(result, self.labels))

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.part is not None:
            self.part.close()
        trainer.strategy.barrier("ser-predict parts written")


def score_distributed(
    run: DistributedRun,
    checkpoint: Path,
    labels: tuple[str, ...],
    todo: list[str],
    store: ResultStore,
) -> bool:
    """Score `todo` as `run` says; True on global rank 0 (the one to merge the parts), once
    every rank has written its part."""
    for name in ("lightning.pytorch", "lightning.fabric"):  # no banner from every rank
        logging.getLogger(name).setLevel(logging.WARNING)
    # Lightning's chatter: torch's pytree deprecation, and no sampler to take batch indices from.
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`")
    warnings.filterwarnings("ignore", message="Couldn't infer the batch indices")
    module = ArchiveModule(checkpoint, run.precision, run.adapt, todo, run.config, run.workers)
    try:
        trainer = pl.Trainer(
            accelerator=ACCELERATORS[run.compute],
            devices=run.devices,
            num_nodes=run.num_nodes,
            strategy="ddp",
            callbacks=[PartFileWriter(store, run.prog, labels)],
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            use_distributed_sampler=False,
        )
    except MisconfigurationException as exc:
        raise SerError(str(exc)) from exc
    trainer.predict(module, return_predictions=False)
    return trainer.global_rank == 0
