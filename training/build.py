"""Objects built from the Hydra config (data module, Lightning module, loggers) and from
checkpoint files (ser model files or a run's Lightning checkpoints)."""

import inspect
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from ser.checkpoint import load_checkpoint
from ser.config import to_plain
from ser.errors import CheckpointError, SerError
from ser.family import ModelFamily
from ser.labels import EMOTIONS
from ser.model import SerModel, family_named
from training.cached_data import (
    Augmentation,
    CachedFeatures,
    Part,
    StreamWindows,
    Tensors,
    babble_augmentation,
    room_augmentation,
)
from training.corpora import Utterance
from training.datamodule import EmotionDataModule, class_weights
from training.encoder_cache import EncoderFeatureCache
from training.import_whisper import import_whisper, load_encoder_weights
from training.module import EmotionClassifier, HeadClassifier, WaveformClassifier
from training.probe_fit import fit_probe, floored_std, set_head
from training.streams import StreamSpec


def plain(node: Any) -> Any:
    """OmegaConf node to plain Python containers (None stays None)."""
    return OmegaConf.to_container(node, resolve=True) if node is not None else None


# How ser-train fits, by `training.mode`: a family end to end on waveforms, a head on cached
# frozen-encoder features with Adam, or a linear probe on them by L-BFGS.
MODES = ("waveform", "head", "probe")


def family_from_config(cfg: DictConfig) -> ModelFamily:
    """The family `model.family` names; SerError for an unknown one."""
    try:
        return family_named(cfg.model.family)
    except ValueError as exc:
        raise SerError(f"model.family: {exc}") from exc


def training_mode(cfg: DictConfig) -> str:
    """`training.mode`, checked against the model family; SerError when they do not fit."""
    mode, family = cfg.training.mode, family_from_config(cfg)
    if mode not in MODES:
        raise SerError(f"training.mode must be one of {', '.join(MODES)}, not {mode!r}")
    if (mode != "waveform") != family.encoder_heads:
        raise SerError(
            f"training.mode={mode} does not train the {family.name} family (heads and probes "
            "need a frozen encoder's features: model=whisper, model=whisper_probe)"
        )
    return mode


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
        features=family_from_config(cfg).features_from(plain(cfg.features)),
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


def cached_sources(cfg: DictConfig, model: SerModel) -> CachedSources:
    """Loads the converted encoder into `model` (unless it was initialised from a checkpoint,
    see `init_source`: then the features come from its encoder) and sets up its feature cache."""
    heads = model.net.heads
    if len(heads) > 1:
        raise SerError(
            f"model.head={cfg.model.head} is an ensemble: train its members one by one, then "
            "join them with python -m training.ensemble"
        )
    source = datamodule_from_config(cfg)
    source.setup("fit")
    initialised = init_source(cfg) is not None
    if not initialised:
        load_encoder(model, Path(to_absolute_path(cfg.model.encoder_weights)))
    cache = EncoderFeatureCache(
        model,
        Path(to_absolute_path(cfg.cache_dir)),
        cfg.training.cached.precision,
        batch=cfg.training.cached.encode_batch,
        workers=cfg.data.num_workers,
    )
    data = CachedFeatures(cache, model.frontend.config.clip_samples)
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
    """bf16-minus-fp32 features of `cached.rounding_clips` training clips, when the recipe is a
    probe that penalises the fast path's rounding."""
    if cfg.training.mode != "probe" or not cfg.training.rounding_penalty:
        return None
    train = sources.source.split.train
    clips = random.Random(0).sample(train, min(cfg.training.cached.rounding_clips, len(train)))
    error = sources.data.rounding_error("train", clips)
    return Part((error,), tuple(u.speaker for u in clips))


def fit_feature_statistics(model: SerModel, features: torch.Tensor) -> None:
    """The head's standardisation, from the training features (see `floored_std`)."""
    head = model.net.heads[0]
    head.feature_mean.copy_(features.mean(dim=0))
    head.feature_std.copy_(floored_std(features))


def fit_probe_head(
    cfg: DictConfig, model: SerModel, train: Tensors, rounding_error: torch.Tensor | None
) -> None:
    """The linear head fitted as a probe on (features, labels), rows weighted by class, with
    the recipe's L2 and rounding penalties; `rounding_error`: bf16-minus-fp32 features."""
    features, labels = train
    t = cfg.training
    variance = None if rounding_error is None else rounding_error.float().square().mean(dim=0)
    probe = fit_probe(
        features,
        labels,
        class_weights(labels, model.net.config.num_classes)[labels],
        features.float().mean(dim=0),
        t.l2,
        variance,
        t.rounding_penalty,
        model.net.config.num_classes,
        t.iterations,
    )
    set_head(model.net.heads[0], probe)


@dataclass
class CachedTraining:
    """Frozen-encoder training data: (features, labels) to train on, validation (clips and
    stream windows), the report split's clips, the split, and the rounding error when the
    recipe penalises it."""

    train: Tensors
    val: Tensors
    scored: Tensors
    sources: CachedSources
    rounding: Part | None


def cached_training(cfg: DictConfig, model: SerModel) -> CachedTraining:
    """Caches the encoder's features of clips (clean and augmented) and of same-speaker stream
    windows, and sets the head's feature statistics from the training set (unless it started
    from a checkpoint); only the clips of `cfg.report_split` are scored."""
    sources = cached_sources(cfg, model)
    split, data = sources.source.split, sources.data
    talkers = sorted(u.path for u in split.train)
    train = concat([p.tensors for parts in training_parts(cfg, sources, talkers) for p in parts])
    val_clips = data.clips("val", split.val).tensors
    val = concat([val_clips, held_out_streams(cfg, data, "val", split.val).tensors])
    if not sources.initialised:  # a head started from a checkpoint keeps its statistics
        fit_feature_statistics(model, train[0])
    # Only the report split's clips are encoded: a run that reports on validation never reads test.
    scored = val_clips if cfg.report_split == "val" else data.clips("test", split.test).tensors
    return CachedTraining(train, val, scored, sources, rounding_part(cfg, sources))


def load_encoder(model: SerModel, encoder_file: Path) -> None:
    """Whisper encoder weights from a converted file (converted from the pinned packages on
    first use) or from a Whisper-family model file; their sizes must match the model's."""
    if not encoder_file.exists():
        import_whisper(encoder_file)
    sizes, state = load_encoder_weights(encoder_file)
    expected = to_plain(model.net.config)
    if any(expected[k] != v for k, v in sizes.items() if k in ("width", "layers", "heads")):
        raise SerError(f"{encoder_file}: encoder sizes {sizes} differ from the model")
    model.net.encoder.load_state_dict(state)


def concat(parts: list[Tensors]) -> Tensors:
    """Sets of (features..., labels) joined position by position; empty sets left out."""
    kept = [p for p in parts if len(p[-1])]
    return tuple(torch.cat(column) for column in zip(*kept, strict=True))


def model_from_config(cfg: DictConfig) -> SerModel:
    """A fresh SerModel of the configured family, features and network."""
    family = family_from_config(cfg)
    model = {**plain(cfg.model), "num_classes": len(EMOTIONS)}
    return SerModel(family.features_from(plain(cfg.features)), family.model_from(model))


def module_from_config(cfg: DictConfig) -> WaveformClassifier | HeadClassifier:
    """A fresh LightningModule for `training.mode` (waveform or head) and its settings."""
    t = cfg.training
    shared = {
        "features": plain(cfg.features),
        "model": plain(cfg.model),
        "labels": list(EMOTIONS),
        "focal_gamma": t.focal_gamma,
        "label_smoothing": t.label_smoothing,
        "lr": t.lr,
        "weight_decay": t.weight_decay,
    }
    if training_mode(cfg) == "head":
        return HeadClassifier(**shared, warmup_epochs=t.warmup_epochs)
    return WaveformClassifier(
        **shared,
        plateau_factor=t.plateau_factor,
        plateau_patience=t.plateau_patience,
        spec_augment=plain(t.spec_augment),
        mixup_alpha=t.mixup_alpha,
    )


def module_from_hparams(hparams: dict) -> EmotionClassifier:
    """The module a Lightning checkpoint's hyper-parameters describe (by its family)."""
    family = family_named(hparams["model"]["family"])
    cls = HeadClassifier if family.encoder_heads else WaveformClassifier
    names = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in hparams.items() if k in names})


def load_source(path: Path) -> tuple[SerModel, tuple[str, ...], dict]:
    """A ser model file, or a Lightning checkpoint of a run (e.g. the best one so far)."""
    if path.suffix != ".ckpt":
        source = load_checkpoint(path)
        return source.model, source.labels, source.meta
    if not path.is_file():
        raise SerError(f"{path}: checkpoint not found")
    try:  # safe loading, as Lightning's own loader does: a pickle asking for code fails
        raw = torch.load(path, map_location="cpu", weights_only=True)
        module = module_from_hparams(raw["hyper_parameters"])
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


def initialise_from(model: SerModel, path: str) -> None:
    """Start from a checkpoint's weights (fine-tuning); its features and network must match."""
    source, labels, _ = load_source(Path(to_absolute_path(path)))
    require_same_model(path, (source, labels), (model, EMOTIONS), "the configured ones")
    model.net.load_state_dict(source.net.state_dict())


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
