"""`python -m training.crossval`: by-speaker cross-validation of a frozen-encoder recipe, the
basis on which recipes are chosen (the test split is never read).

The main corpus's training speakers are dealt round-robin into `crossval.folds` folds; each is
held out in turn (trained on the other training speakers, validation speakers left out), and
the validation speakers form one more fold (trained on every training speaker). Each fold fits
a fresh head on the run's cached features (a probe: one L-BFGS fit; an Adam head:
`crossval.max_epochs` epochs), with no early stopping, and scores its held-out speakers' clips
and stream windows (windowed as `ser-test --streams` windows them, wholly inside one emotion
block, no speech gate): clean, and with babble of four of the fold's training talkers mixed
into each whole stream at 10 dB (as `ser-test --streams` mixes it). Babble, in the fold's
training augmentation too, comes only from the fold's training speakers; crossval.json lists
them per fold (`babble_talkers`)."""

import json
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ser.errors import SerError
from ser.labels import EMOTIONS
from ser.model import SerModel
from training.build import (
    CachedSources,
    cached_sources,
    concat,
    fit_feature_statistics,
    fit_probe_head,
    held_out_streams,
    model_from_config,
    module_from_config,
    plain,
    rounding_part,
    training_mode,
    training_parts,
)
from training.cached_data import Augmentation, CachedFeatureDataModule, Part, Tensors
from training.encoder_cache import content_digest
from training.hydra_task import hydra_task
from training.noise import NoiseMixer
from training.stream_eval import macro_f1

PROG = "crossval"
BABBLE_SNR_DB = 10.0
CONDITIONS = ("clips", "streams", "babble_streams")


def fold_plan(train_speakers: list[str], val_speakers: list[str], folds: int) -> list[list[str]]:
    """Held-out speakers per fold: the sorted training speakers dealt round-robin into `folds`
    folds, then the validation speakers."""
    speakers = sorted(train_speakers)
    if not 2 <= folds <= len(speakers):
        raise SerError(f"crossval.folds must lie in 2..{len(speakers)} (training speakers)")
    return [speakers[k::folds] for k in range(folds)] + [sorted(val_speakers)]


@torch.no_grad()
def held_out_macro_f1(model: SerModel, tensors: Tensors) -> float:
    """Macro-F1 of the model's labels for cached (features, labels), over the classes the
    labels hold (as ser-test scores clips and streams)."""
    model.eval()
    features, target = tensors
    labels = torch.cat([model.net.classify(batch) for batch in features.split(512)])
    return macro_f1(target.tolist(), labels.argmax(dim=-1).tolist(), EMOTIONS)["macro_f1"]


def fit_fold(
    cfg: DictConfig,
    template: SerModel,
    sources: CachedSources,
    groups: list[list[Part]],
    rounding: Part | None,
    held: set[str],
    held_out: dict[str, Tensors],
) -> dict:
    """Fit a fresh head without the `held` speakers (nor the validation speakers, unless they
    are the ones held) and score each held-out set of `CONDITIONS`."""
    split = sources.source.split
    trained = split.speakers("train") - held
    # Extra corpora always train; the main corpus only with its held-out speakers left out.
    main, *extra = groups
    train = concat([p.rows_of(trained) for p in main] + [p.tensors for ps in extra for p in ps])
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    clips = held_out["clips"]
    if training_mode(cfg) == "probe":
        model = model_from_config(cfg)
        model.net.encoder.load_state_dict(template.net.encoder.state_dict())
        # The rounding is measured on training clips of every corpus.
        fit_probe_head(cfg, model, train, rounding and rounding.rows_of(trained)[0])
    else:
        module = module_from_config(cfg)
        model = module.model
        model.net.encoder.load_state_dict(template.net.encoder.state_dict())
        fit_feature_statistics(model, train[0])
        data = CachedFeatureDataModule(
            train, concat([clips, held_out["streams"]]), clips, split, cfg.training.batch_size
        )
        trainer = L.Trainer(
            **{
                **plain(cfg.trainer),
                "max_epochs": cfg.crossval.max_epochs or cfg.training.crossval_epochs,
                "enable_checkpointing": False,
                "enable_model_summary": False,
                "limit_val_batches": 0,  # the held-out speakers choose nothing
                "num_sanity_val_steps": 0,
            },
            logger=False,
        )
        trainer.fit(module, datamodule=data)
        model.cpu()
    return {
        "held_out": sorted(held),
        "training_rows": len(train[-1]),
        "clips": len(clips[-1]),
        "stream_windows": len(held_out["streams"][-1]),
        **{f"{c}_macro_f1": held_out_macro_f1(model, held_out[c]) for c in CONDITIONS},
    }


def crossval_table(folds: list[dict], mean: dict) -> str:
    """Markdown table: one row per fold, then the means."""
    lines = [
        "| held out | training rows | clips | stream windows | clip macro-F1 "
        f"| stream macro-F1 | babble {BABBLE_SNR_DB:g} dB stream macro-F1 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for f in folds:
        scores = " | ".join(f"{f[f'{c}_macro_f1']:.3f}" for c in CONDITIONS)
        sizes = f"{f['training_rows']} | {f['clips']} | {f['stream_windows']}"
        lines.append(f"| {' '.join(f['held_out'])} | {sizes} | {scores} |")
    means = " | ".join(f"**{mean[f'{c}_macro_f1']:.3f}**" for c in CONDITIONS)
    lines.append(f"| **mean** | | | | {means} |")
    return "\n".join(lines)


def babble(pool: list[Path]) -> Augmentation:
    """Babble of four talker tracks from `pool` at `BABBLE_SNR_DB`, as ser-test adds it."""
    mixer = NoiseMixer("babble", BABBLE_SNR_DB, babble_pool=pool)
    settings = f"babble {BABBLE_SNR_DB} dB, talker tracks, pool {len(pool)}:{content_digest(pool)}"
    return Augmentation(f"babble{BABBLE_SNR_DB:g}", mixer, settings)


def crossvalidate(cfg: DictConfig) -> int:
    """Every fold of the recipe `cfg`; crossval.json and crossval.md in the run folder."""
    if training_mode(cfg) == "waveform":
        raise SerError("crossval runs frozen-encoder recipes (model=whisper, model=whisper_probe)")
    if cfg.get("init_from") or cfg.get("resume"):
        raise SerError("crossval fits every fold from scratch: leave init_from and resume unset")
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    template = model_from_config(cfg)
    sources = cached_sources(cfg, template)
    split, data = sources.source.split, sources.data
    main_tag, main_items = sources.source.train_groups[0]
    rounding = rounding_part(cfg, sources)  # read once, its rows chosen per fold
    # Held-out sets: the main corpus's clean clips (its first training part) and its streams.
    evaluated = {
        "train": (
            data.clips(main_tag, main_items),
            held_out_streams(cfg, data, main_tag, main_items),
        ),
        "val": (data.clips("val", split.val), held_out_streams(cfg, data, "val", split.val)),
    }
    plan = fold_plan(
        sorted({u.speaker for u in main_items}), sorted(split.speakers("val")), cfg.crossval.folds
    )
    folds = []
    for k, held in enumerate(plan):
        is_val = k == len(plan) - 1
        clips, streams = evaluated["val" if is_val else "train"]
        held_set = set(held)
        held_items = [u for u in (split.val if is_val else main_items) if u.speaker in held_set]
        # Babble talkers, in training and held-out streams: the fold's training speakers only.
        talkers = [u for u in split.train if u.speaker not in held_set]
        pool = sorted(u.path for u in talkers)
        groups = training_parts(cfg, sources, pool)
        tag = "val" if is_val else main_tag
        held_out = {
            "clips": clips.rows_of(held_set),
            "streams": streams.rows_of(held_set),
            "babble_streams": held_out_streams(cfg, data, tag, held_items, babble(pool)).tensors,
        }
        result = fit_fold(cfg, template, sources, groups, rounding, held_set, held_out)
        result["babble_talkers"] = sorted({u.speaker for u in talkers})
        folds.append(result)
        scores = ", ".join(f"{c} {result[f'{c}_macro_f1']:.3f}" for c in CONDITIONS)
        print(f"fold {k + 1}/{len(plan)} (held out {' '.join(held)}): {scores}", flush=True)
    mean = {
        f"{c}_macro_f1": round(sum(f[f"{c}_macro_f1"] for f in folds) / len(folds), 4)
        for c in CONDITIONS
    }
    report = {"recipe": plain(cfg), "folds": folds, "mean": mean}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "crossval.json").write_text(json.dumps(report, indent=2))
    (run_dir / "crossval.md").write_text(crossval_table(folds, mean) + "\n")
    print(crossval_table(folds, mean))
    print(f"report: {run_dir / 'crossval.json'}")
    return 0


if __name__ == "__main__":
    hydra_task(PROG, crossvalidate)()
