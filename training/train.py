"""`ser-train`: a Lightning fit (or, for a probe, one L-BFGS fit), then a ser checkpoint and a
report on its validation (or, with report_split=test, test) clips."""

import json
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import (
    EarlyStopping,
    EMAWeightAveraging,
    LearningRateMonitor,
    ModelCheckpoint,
)
from omegaconf import DictConfig

from ser.checkpoint import save_checkpoint
from ser.errors import SerError
from ser.labels import EMOTIONS
from ser.model import SerModel
from training.build import (
    cached_training,
    datamodule_from_config,
    fit_probe_head,
    init_source,
    initialise_from,
    loggers_from_config,
    model_from_config,
    module_from_config,
    plain,
    training_mode,
)
from training.cached_data import CachedFeatureDataModule
from training.hydra_task import hydra_task
from training.report import build_report, clip_scores, format_report, write_report
from training.splits import Split
from training.stream_eval import macro_f1

PROG = "ser-train"


def fit_and_report(cfg: DictConfig) -> int:
    """Fit (a probe by L-BFGS, other modes with checkpointing on val macro-F1), then score the
    clips of `cfg.report_split` (validation unless asked: the test split is read once, when
    shipping)."""
    if cfg.report_split not in ("val", "test"):
        raise SerError(f"report_split must be val or test, not {cfg.report_split!r}")
    mode = training_mode(cfg)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    if mode == "probe":
        return fit_probe_and_report(cfg, run_dir)
    module = module_from_config(cfg)
    if start := init_source(cfg):  # before caching: features come from the weights it starts at
        initialise_from(module.model, start)
    if mode == "head":
        data = cached_training(cfg, module.model)
        split = data.sources.source.split
        datamodule = CachedFeatureDataModule(
            data.train, data.val, data.scored, split, cfg.training.batch_size
        )
    else:
        datamodule = datamodule_from_config(cfg)
        datamodule.eval_stage = cfg.report_split
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="epoch{epoch:03d}-valf1{val/f1:.4f}",
        auto_insert_metric_name=False,
        monitor="val/f1",
        mode="max",
        save_top_k=cfg.training.save_top_k,
        save_last=True,
    )
    callbacks = [
        checkpoints,
        EarlyStopping(monitor="val/f1", mode="max", patience=cfg.training.early_stopping_patience),
        LearningRateMonitor(logging_interval="epoch"),
    ]
    if cfg.training.ema_decay:
        # Validation, checkpoints and the shipped weights all use the averaged model.
        callbacks.append(EMAWeightAveraging(decay=cfg.training.ema_decay))
    trainer = L.Trainer(
        **plain(cfg.trainer),
        default_root_dir=str(run_dir),
        callbacks=callbacks,
        logger=loggers_from_config(cfg, run_dir),
    )
    started = time.perf_counter()
    trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.resume)
    fit_seconds = time.perf_counter() - started
    best = checkpoints.best_model_path or checkpoints.last_model_path
    # Loaded outside the trainer so that the test sees the checkpoint's (averaged) weights.
    best_module = type(module).load_from_checkpoint(best, map_location="cpu")
    metrics = trainer.test(best_module, datamodule=datamodule, verbose=False)[0]
    if not trainer.is_global_zero:
        return 0
    info = {
        "epochs_trained": trainer.current_epoch,
        "best_val_f1": float(checkpoints.best_model_score or 0.0),
        "fit_seconds": round(fit_seconds, 1),
    }
    info = run_info(cfg, run_dir, datamodule.split, info)
    report = build_report(metrics, best_module.test_results, **info)
    return write_run(cfg, run_dir, best_module.model, report, info)


def fit_probe_and_report(cfg: DictConfig, run_dir: Path) -> int:
    """The linear probe: cached features, one full-batch L-BFGS fit, the report split's clips
    scored; no Trainer."""
    model = model_from_config(cfg)
    if start := init_source(cfg):
        initialise_from(model, start)
    data = cached_training(cfg, model)
    rounding = data.rounding.tensors[0] if data.rounding is not None else None
    started = time.perf_counter()
    fit_probe_head(cfg, model, data.train, rounding)
    fit_seconds = time.perf_counter() - started
    val_features, val_labels = data.val
    info = {
        "iterations": cfg.training.iterations,
        "val_f1": macro_f1(val_labels.tolist(), _labels_of(model, val_features), EMOTIONS)[
            "macro_f1"
        ],
        "fit_seconds": round(fit_seconds, 1),
    }
    features, target = data.scored
    metrics, results = clip_scores(model.net.classify(features), target, EMOTIONS)
    info = run_info(cfg, run_dir, data.sources.source.split, info)
    return write_run(cfg, run_dir, model, build_report(metrics, results, **info), info)


@torch.no_grad()
def _labels_of(model: SerModel, features: torch.Tensor) -> list[int]:
    return model.net.classify(features).argmax(dim=-1).tolist()


def run_info(cfg: DictConfig, run_dir: Path, split: Split, fit: dict[str, Any]) -> dict:
    """What the report, the model file and train_summary.json say about the run."""
    return {
        "checkpoint": str(run_dir / "model.pt"),
        "corpus": cfg.data.corpus,
        "report_split": cfg.report_split,
        "report_speakers": sorted(split.speakers(cfg.report_split)),
        **fit,
    }


def write_run(
    cfg: DictConfig, run_dir: Path, model: SerModel, report: dict, info: dict[str, Any]
) -> int:
    """model.pt (the report's numbers and the run's config in its metadata), report.json and
    the confusion matrix, train_summary.json; a summary on stdout."""
    save_checkpoint(
        run_dir / "model.pt",
        model,
        EMOTIONS,
        meta={
            "report": {k: report[k] for k in ("accuracy", "macro_f1")},
            "train": {**info, "config": plain(cfg)},
        },
    )
    write_report(report, run_dir)
    print(f"{cfg.report_split} clips, fitted model:")
    print(format_report(report))
    print(f"model: {run_dir / 'model.pt'}\nreport: {run_dir / 'report.json'}")
    (run_dir / "train_summary.json").write_text(json.dumps(info, indent=2))
    return 0


def main() -> None:
    """Console entry point."""
    hydra_task(PROG, fit_and_report)()
