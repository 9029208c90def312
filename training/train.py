"""`ser-train`: Lightning fit, then a ser checkpoint of the best epoch and a report on its
validation (or, with report_split=test, test) clips."""

import json
import time
from pathlib import Path

import lightning as L
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
from training.build import (
    cached_datamodule_from_config,
    datamodule_from_config,
    init_source,
    initialise_from,
    loggers_from_config,
    module_from_config,
    plain,
)
from training.hydra_task import hydra_task
from training.module import EmotionClassifier
from training.report import build_report, format_report, write_report

PROG = "ser-train"


def fit_and_report(cfg: DictConfig) -> int:
    """Fit with checkpointing on val macro-F1, then score the best checkpoint's clips of
    `cfg.report_split` (validation unless asked: the test split is read once, when shipping)."""
    if cfg.report_split not in ("val", "test"):
        raise SerError(f"report_split must be val or test, not {cfg.report_split!r}")
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = module_from_config(cfg)
    if start := init_source(cfg):  # before caching: features come from the weights it starts at
        initialise_from(module, start)
    if cfg.model.get("family", "seed") == "whisper":
        datamodule = cached_datamodule_from_config(cfg, module)
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
    if cfg.training.get("ema_decay"):
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
    best_module = EmotionClassifier.load_from_checkpoint(best, map_location="cpu")
    metrics = trainer.test(best_module, datamodule=datamodule, verbose=False)[0]
    if not trainer.is_global_zero:
        return 0
    info = {
        "checkpoint": str(run_dir / "model.pt"),
        "corpus": cfg.data.corpus,
        "report_split": cfg.report_split,
        "report_speakers": sorted(datamodule.split.speakers(cfg.report_split)),
        "epochs_trained": trainer.current_epoch,
        "best_val_f1": float(checkpoints.best_model_score or 0.0),
        "fit_seconds": round(fit_seconds, 1),
    }
    report = build_report(metrics, best_module.test_results, **info)
    save_checkpoint(
        run_dir / "model.pt",
        best_module.model,
        best_module.labels,
        meta={
            "report": {k: report[k] for k in ("accuracy", "macro_f1")},
            "train": {**info, "config": plain(cfg)},
        },
    )
    write_report(report, run_dir)
    print(f"{cfg.report_split} clips, best checkpoint:")
    print(format_report(report))
    print(f"model: {run_dir / 'model.pt'}\nreport: {run_dir / 'report.json'}")
    (run_dir / "train_summary.json").write_text(json.dumps(info, indent=2))
    return 0


def main() -> None:
    """Console entry point."""
    hydra_task(PROG, fit_and_report)()
