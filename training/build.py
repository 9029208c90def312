"""Objects built from the Hydra config (data module, Lightning module, loggers) and from
checkpoint files (ser model files or a run's Lightning checkpoints)."""

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from ser.checkpoint import load_checkpoint
from ser.config import feature_config_from, to_plain
from ser.errors import CheckpointError, SerError
from ser.labels import EMOTIONS
from ser.model import SerModel
from training.cached_data import (
    Augmentation,
    CachedFeatureDataModule,
    CachedFeatures,
    Part,
    StreamWindows,
    Tensors,
    babble_augmentation,
    room_augmentation,
)
from training.corpora import Utterance
from training.datamodule import EmotionDataModule
from training.encoder_cache import EncoderFeatureCache
from training.import_whisper import import_whisper, load_encoder_weights
from training.module import EmotionClassifier
from training.streams import StreamSpec


def plain(node: Any) -> Any:
    """OmegaConf node to plain Python containers (None stays None)."""
    return OmegaConf.to_container(node, resolve=True) if node is not None else None


def datamodule_from_config(cfg: DictConfig) -> EmotionDataModule:
    """The data module for `cfg.data`, with roots resolved against the launch folder."""
    extra = [
        {"corpus": e["corpus"], "root": to_absolute_path(e["root"])}
        for e in plain(cfg.data.extra_train) or []
    ]
    return EmotionDataModule(
        corpus=cfg.data.corpus,
        root=to_absolute_path(cfg.data.root),
        split=plain(cfg.data.split),
        features=feature_config_from(plain(cfg.features), cfg.model.get("family", "seed")),
        extra_train=extra,
        augment=plain(cfg.training.get("augment")),
        batch_size=cfg.data.batch_size,
        num_workers=cfg.data.num_workers,
    )


@dataclass
class CachedSources:
    """What frozen-encoder training caches from: the data (split and per-corpus training
    groups), the features' builder, and whether the module started from a checkpoint."""

    source: EmotionDataModule
    data: CachedFeatures
    initialised: bool


def cached_sources(cfg: DictConfig, module: EmotionClassifier) -> CachedSources:
    """Loads the converted encoder into `module` (unless it was initialised from a checkpoint,
    see `init_source`: then the features come from its encoder) and sets up its feature cache."""
    heads = module.model.net.heads
    if len(heads) > 1:
        raise SerError(
            f"model.head={cfg.model.head} is an ensemble: train its members one by one, then "
            "join them with python -m training.ensemble"
        )
    source = datamodule_from_config(cfg)
    source.setup("fit")
    initialised = init_source(cfg) is not None
    if not initialised:
        load_encoder(module, Path(to_absolute_path(cfg.model.encoder_weights)))
    cache = EncoderFeatureCache(
        module.model,
        Path(to_absolute_path(cfg.cache_dir)),
        cfg.training.cached.precision,
        batch=cfg.training.cached.encode_batch,
        tune_layers=cfg.training.get("tune_layers") or 0,
        workers=cfg.data.num_workers,
    )
    data = CachedFeatures(cache, module.model.frontend.config.clip_samples)
    return CachedSources(source, data, initialised)


def training_parts(
    cfg: DictConfig, sources: CachedSources, babble_pool: list[Path]
) -> list[list[Part]]:
    """Per training group (corpus): its clean clips, augmented and babble copies (babble from
    the clips of `babble_pool`, training speakers only), and stream sets (the first clean, then
    room and babble augmented in turn)."""
    c, data = cfg.training.cached, sources.data
    augment_cfg = plain(cfg.training.augment)
    room = room_augmentation({**augment_cfg, "room_p": c.room_p}) if augment_cfg else None
    babble = babble_augmentation(babble_pool, {"babble_snr_db": list(c.babble_snr_db)})
    train_hop = StreamWindows(hop=c.stream_hop, jitter=True)
    groups = []
    for tag, items in sources.source.train_groups:
        parts = [data.clips(tag, items)]
        if room is not None:
            parts += [data.clips(tag, items, room, k + 1) for k in range(c.clip_copies)]
        parts += [data.clips(tag, items, babble, k + 1) for k in range(c.babble_copies)]
        for k in range(c.stream_copies):
            augment = None if k == 0 else (room, babble)[(k - 1) % 2]
            parts.append(data.streams(tag, items, StreamSpec(seed=1000 + k), train_hop, augment))
        groups.append(parts)
    return groups


def held_out_streams(
    cfg: DictConfig,
    data: CachedFeatures,
    tag: str,
    items: list[Utterance],
    noise: Augmentation | None = None,
) -> Part:
    """Windows of the speakers' streams as `ser-test --streams` builds, mixes `noise` into
    (when given) and windows them."""
    windows = StreamWindows(hop=cfg.training.cached.val_stream_hop)
    return data.streams(tag, items, StreamSpec(), windows, noise=noise)


def rounding_part(cfg: DictConfig, sources: CachedSources) -> Part | None:
    """bf16-minus-fp32 features of `cached.rounding_clips` training clips, when the recipe
    penalises the fast path's rounding."""
    if not cfg.training.get("rounding_penalty"):
        return None
    train = sources.source.split.train
    clips = random.Random(0).sample(train, min(cfg.training.cached.rounding_clips, len(train)))
    error = sources.data.rounding_error("train", clips)
    return Part((error,), tuple(u.speaker for u in clips))


def fit_feature_statistics(module: EmotionClassifier, features: torch.Tensor) -> None:
    """The head's standardisation, from the training features."""
    head = module.model.net.heads[0]
    head.feature_mean.copy_(features.mean(dim=0))
    # Some statistics barely vary (the first hidden state carries the fixed positions): a
    # floor of a tenth of the layer's median keeps bf16/fp32 rounding from blowing them up.
    std = features.std(dim=0)
    head.feature_std.copy_(std.clamp(min=0.1 * std.median(dim=-1, keepdim=True).values))


def cached_datamodule_from_config(
    cfg: DictConfig, module: EmotionClassifier
) -> CachedFeatureDataModule:
    """Frozen-encoder training data: caches the encoder's features of clips (clean and
    augmented) and of same-speaker stream windows, and sets the head's feature statistics from
    the training set; its test loader serves the clips of `cfg.report_split`."""
    sources = cached_sources(cfg, module)
    split, data = sources.source.split, sources.data
    talkers = sorted(u.path for u in split.train)
    train = concat([p.tensors for parts in training_parts(cfg, sources, talkers) for p in parts])
    val_clips = data.clips("val", split.val).tensors
    val = concat([val_clips, held_out_streams(cfg, data, "val", split.val).tensors])
    if not sources.initialised:  # a head started from a checkpoint keeps its statistics
        fit_feature_statistics(module, train[0])
    if rounding := rounding_part(cfg, sources):
        module.set_rounding_error(rounding.tensors[0])
    # Only the report split's clips are encoded: a run that reports on validation never reads test.
    scored = val_clips if cfg.report_split == "val" else data.clips("test", split.test).tensors
    return CachedFeatureDataModule(train, val, scored, split, cfg.training.batch_size)


def load_encoder(module: EmotionClassifier, encoder_file: Path) -> None:
    """Whisper encoder weights from a converted file (converted from the pinned packages on
    first use) or from a Whisper-family model file; their sizes must match the model's."""
    if not encoder_file.exists():
        import_whisper(encoder_file)
    sizes, state = load_encoder_weights(encoder_file)
    expected = to_plain(module.model.net.config)
    if any(expected[k] != v for k, v in sizes.items() if k in ("width", "layers", "heads")):
        raise SerError(f"{encoder_file}: encoder sizes {sizes} differ from the model")
    module.model.net.encoder.load_state_dict(state)


def concat(parts: list[Tensors]) -> Tensors:
    """Sets of (features..., labels) joined position by position; empty sets left out."""
    kept = [p for p in parts if len(p[-1])]
    return tuple(torch.cat(column) for column in zip(*kept, strict=True))


def module_from_config(cfg: DictConfig) -> EmotionClassifier:
    """A fresh classifier with the configured network and optimiser settings."""
    t = cfg.training
    return EmotionClassifier(
        features=plain(cfg.features),
        model=plain(cfg.model),
        labels=list(EMOTIONS),
        lr=t.lr,
        weight_decay=t.weight_decay,
        focal_gamma=t.focal_gamma,
        label_smoothing=t.label_smoothing,
        plateau_factor=t.plateau_factor,
        plateau_patience=t.plateau_patience,
        schedule=t.schedule,
        warmup_epochs=t.warmup_epochs,
        spec_augment=plain(t.get("spec_augment")),
        mixup_alpha=t.get("mixup_alpha") or 0.0,
        tune_layers=t.get("tune_layers") or 0,
        encoder_lr=t.get("encoder_lr"),
        optimizer=t.get("optimizer") or "adam",
        l2=t.get("l2") or 0.0,
        lbfgs_iterations=t.get("lbfgs_iterations") or 50,
        rounding_penalty=t.get("rounding_penalty") or 0.0,
    )


def load_source(path: Path) -> tuple[SerModel, tuple[str, ...], dict]:
    """A ser model file, or a Lightning checkpoint of a run (e.g. the best one so far)."""
    if path.suffix != ".ckpt":
        source = load_checkpoint(path)
        return source.model, source.labels, source.meta
    if not path.is_file():
        raise SerError(f"{path}: checkpoint not found")
    try:  # safe loading, as Lightning's own loader does: a pickle asking for code fails
        raw = torch.load(path, map_location="cpu", weights_only=True)
        module = EmotionClassifier(**raw["hyper_parameters"])
        module.load_state_dict(raw["state_dict"])
    except Exception as exc:
        raise CheckpointError(f"{path}: not a usable Lightning checkpoint ({exc})") from exc
    monitor = next((v for k, v in raw.get("callbacks", {}).items() if "ModelCheckpoint" in k), {})
    meta = {
        "train": {
            "lightning_checkpoint": path.name,
            "epoch": raw.get("epoch"),
            "best_val_f1": float(monitor.get("best_model_score") or 0.0),
        }
    }
    return module.model.eval(), module.labels, meta


def require_same_model(
    path: str | Path,
    source: tuple[SerModel, tuple[str, ...]],
    reference: tuple[SerModel, tuple[str, ...]],
    against: str,
) -> None:
    """CheckpointError unless the (model, labels) at `path` match the reference's features,
    network and labels."""
    (model, labels), (ref_model, ref_labels) = source, reference
    if model.frontend.config != ref_model.frontend.config:
        raise CheckpointError(f"{path}: its features differ from {against}")
    if model.net.config != ref_model.net.config or labels != ref_labels:
        raise CheckpointError(f"{path}: its network or labels differ from {against}")


def init_source(cfg: DictConfig) -> str | None:
    """The checkpoint a fresh run starts from (`init_from`; none when resuming a run)."""
    return cfg.get("init_from") if not cfg.resume else None


def initialise_from(module: EmotionClassifier, path: str) -> None:
    """Start from a checkpoint's weights (fine-tuning); its features and network must match."""
    model, labels, _ = load_source(Path(to_absolute_path(path)))
    require_same_model(path, (model, labels), (module.model, module.labels), "the configured ones")
    module.model.net.load_state_dict(model.net.state_dict())


def loggers_from_config(cfg: DictConfig, run_dir: Path) -> list:
    """CSV metrics always; wandb (offline by default) when `logging.wandb` is true."""
    from lightning.pytorch.loggers import CSVLogger

    loggers: list = [CSVLogger(save_dir=str(run_dir), name="csv", version="")]
    if cfg.logging.wandb:
        from lightning.pytorch.loggers import WandbLogger

        os.environ.setdefault("WANDB_MODE", cfg.logging.get("mode", "offline"))
        os.environ.setdefault("WANDB_SILENT", "true")
        loggers.append(
            WandbLogger(project=cfg.logging.project, save_dir=str(run_dir), config=plain(cfg))
        )
    return loggers
