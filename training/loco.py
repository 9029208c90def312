"""`python -m training.loco`: choose a frozen-encoder probe recipe by what users bring.

Every corpus of `../shared/data` is held out in turn (URDU, EMOVO, ASED, RESD, SPANISH), the
probe trained on every other corpus the recipe names (SPANISH never: it is validation only;
RAVDESS actors 19-24 never: they are the test split), and scored on the held-out corpus's
session streams (stream window macro-F1 over the classes present, the most frequent label's
share, accuracy on single-emotion sessions) and clips; then RAVDESS by-actor folds (01-16 in
four round-robin folds, and 17-18 trained on 01-16). Each run appends one line to
`runs/loco/log.jsonl` and writes its held-out predictions for calibration
(`training.calibrate`)."""

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import torch

from ser.adaptation import AdaptationConfig, adapt, running_means
from ser.bundle import resolve_checkpoint
from ser.calibration import Calibration, distances
from ser.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from ser.errors import SerError
from ser.labels import EMOTIONS
from training.cached_data import clip_window
from training.calibrate import calibrate, ece
from training.corpora import scan
from training.encoder_cache import EncoderFeatureCache, content_digest
from training.probe_fit import Probe, fit_probe, head_probe, set_head
from training.session_features import CORPORA, CorpusFeatures, corpus_features
from training.stream_eval import macro_f1

RAVDESS_FOLDS = (
    ("01", "05", "09", "13"),
    ("02", "06", "10", "14"),
    ("03", "07", "11", "15"),
    ("04", "08", "12", "16"),
    ("17", "18"),
)
TEST_ACTORS = frozenset(f"{a:02d}" for a in range(19, 25))
VALIDATION_ACTORS = frozenset(("17", "18"))
SINGLE_EMOTION_MIN_WINDOWS = 10
ROUNDING_CLIPS = 300
ITERATIONS = 150  # L-BFGS iterations of one fit


@dataclass(frozen=True)
class Recipe:
    """What the probe trains on and how: `train` names the corpora (those whose use allows
    training), `prior_windows` the session adaptation (None: off)."""

    train: tuple[str, ...]
    prior_windows: float | None
    l2: float = 1e-3
    clips: bool = True
    rounding_penalty: float = 10.0

    @property
    def name(self) -> str:
        adapt_part = "no-adapt" if self.prior_windows is None else f"adapt{self.prior_windows:g}"
        clips = "" if self.clips else "-windows-only"
        return f"{'+'.join(self.train)}-{adapt_part}-l2{self.l2:g}{clips}"


def trainable(name: str) -> bool:
    """Whether a corpus may ever be in a model's training data."""
    return next(c for c in CORPORA if c.name == name).use != "validation"


def keep_rows(speakers: tuple[str, ...], drop: frozenset[str]) -> torch.Tensor:
    return torch.tensor([s not in drop for s in speakers], dtype=torch.bool)


def session_means(cf: CorpusFeatures, mean: torch.Tensor, prior: float) -> torch.Tensor:
    """The blended session mean each window of `cf` sees, causally, per session."""
    windows = cf.windows.float()
    out = torch.empty_like(windows)
    start = 0
    while start < len(windows):
        end = start
        while end < len(windows) and cf.window_sessions[end] == cf.window_sessions[start]:
            end += 1
        out[start:end] = running_means(windows[start:end], mean, prior)
        start = end
    return out


def session_adapted(cf: CorpusFeatures, mean: torch.Tensor, prior: float | None) -> torch.Tensor:
    """Every window of `cf` as the product sees it: adapted per session, causally."""
    if prior is None:
        return cf.windows.float()
    return adapt(cf.windows, session_means(cf, mean, prior), mean)


def clip_adapted(clips: torch.Tensor, mean: torch.Tensor, prior: float | None) -> torch.Tensor:
    """A clip is a session of one window."""
    if prior is None:
        return clips.float()
    return adapt(clips, running_means(clips.unsqueeze(1), mean, prior).squeeze(1), mean)


def training_set(
    data: dict[str, CorpusFeatures], recipe: Recipe, held_out: str, drop: frozenset[str]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Features, labels and corpus-and-class balanced row weights of the fold, and the raw
    training mean (the adaptation's prior)."""
    corpora = [n for n in recipe.train if n != held_out and trainable(n)]
    raw, picked = [], {}
    for name in corpora:
        cf = data[name]
        w_keep = keep_rows(cf.window_sessions, drop) & (cf.window_labels >= 0)
        c_keep = keep_rows(cf.clip_speakers, drop) if recipe.clips else None
        picked[name] = (w_keep, c_keep)
        raw.append(cf.windows[w_keep].float())
        if c_keep is not None:
            raw.append(cf.clips[c_keep].float())
    mean = torch.cat(raw).mean(dim=0)
    del raw
    feats, labels, groups = [], [], []
    for name in corpora:
        cf, (w_keep, c_keep) = data[name], picked[name]
        feats.append(session_adapted(cf, mean, recipe.prior_windows)[w_keep])
        labels.append(cf.window_labels[w_keep])
        if c_keep is not None:
            feats.append(clip_adapted(cf.clips[c_keep], mean, recipe.prior_windows))
            labels.append(cf.clip_labels[c_keep])
        groups += [name] * int(w_keep.sum() + (0 if c_keep is None else c_keep.sum()))
    y = torch.cat(labels)
    counts = Counter(zip(groups, y.tolist(), strict=True))
    weights = torch.tensor([1.0 / counts[g, c] for g, c in zip(groups, y.tolist(), strict=True)])
    return torch.cat(feats), y, weights, mean


def label_share(predicted: list[int]) -> tuple[str, float]:
    """The most frequent predicted label and its share of the windows."""
    label, count = Counter(predicted).most_common(1)[0]
    return EMOTIONS[label], round(count / len(predicted), 4)


def single_emotion_accuracy(
    probe: Probe, cf: CorpusFeatures, keep: torch.Tensor, prior: float | None
) -> dict:
    """Each (session, class) with enough windows as a session of its own (its windows in time
    order, adapted from scratch): window accuracy over all of them."""
    correct = total = sessions = 0
    order: dict[tuple[str, int], list[int]] = {}
    for i, (s, y) in enumerate(zip(cf.window_sessions, cf.window_labels.tolist(), strict=True)):
        if y >= 0 and keep[i]:
            order.setdefault((s, y), []).append(i)
    for (_, y), rows in order.items():
        if len(rows) < SINGLE_EMOTION_MIN_WINDOWS:
            continue
        part = cf.windows[rows].float()
        if prior is not None:
            part = adapt(part, running_means(part, probe.mean, prior), probe.mean)
        correct += int((probe.logits(part).argmax(1) == y).sum())
        total += len(rows)
        sessions += 1
    accuracy = round(correct / total, 4) if total else None
    return {"sessions": sessions, "windows": total, "correct": correct, "accuracy": accuracy}


def score(probe: Probe, cf: CorpusFeatures, recipe: Recipe, only_speakers=None) -> dict:
    """Stream windows, clips and single-emotion sessions of `cf` (only `only_speakers`' when
    given); with the held-out windows' logits and familiarity for calibration."""
    w_sel = cf.window_labels >= 0
    c_sel = torch.ones(len(cf.clip_labels), dtype=torch.bool)
    if only_speakers is not None:
        w_sel &= ~keep_rows(cf.window_sessions, only_speakers)
        c_sel = ~keep_rows(cf.clip_speakers, only_speakers)
    # Familiarity is measured with the default prior when adaptation is off.
    means = session_means(cf, probe.mean, recipe.prior_windows or AdaptationConfig.prior_windows)
    windows = cf.windows.float()
    if recipe.prior_windows is not None:
        windows = adapt(windows, means, probe.mean)
    logits = probe.logits(windows[w_sel])
    truth = cf.window_labels[w_sel].tolist()
    predicted = logits.argmax(1).tolist()
    clips = probe.logits(clip_adapted(cf.clips[c_sel], probe.mean, recipe.prior_windows))
    stream = macro_f1(truth, predicted, EMOTIONS)
    familiarity = distances(cf.windows[w_sel], means[w_sel], probe.mean, probe.std)
    return {
        "stream_windows": len(truth),
        "stream_macro_f1": stream["macro_f1"],
        "stream_accuracy": stream["accuracy"],
        "top_label": label_share(predicted),
        "clip_macro_f1": macro_f1(
            cf.clip_labels[c_sel].tolist(), clips.argmax(1).tolist(), EMOTIONS
        )["macro_f1"],
        "single_emotion": single_emotion_accuracy(probe, cf, w_sel, recipe.prior_windows),
        "_predictions": {
            "logits": logits,
            "labels": cf.window_labels[w_sel],
            "familiarity": familiarity,
        },
    }


def fit(
    recipe: Recipe,
    x: torch.Tensor,
    y: torch.Tensor,
    w: torch.Tensor,
    mean: torch.Tensor,
    rounding: torch.Tensor | None,
) -> Probe:
    """The recipe's probe on one training set."""
    return fit_probe(
        x, y, w, mean, recipe.l2, rounding, recipe.rounding_penalty, len(EMOTIONS), ITERATIONS
    )


def run(recipe: Recipe, data: dict[str, CorpusFeatures], rounding: torch.Tensor | None) -> dict:
    """Every leave-one-corpus-out fold and RAVDESS fold of `recipe`."""
    folds, predictions = {}, {}
    plan = [
        (c.name, frozenset(TEST_ACTORS)) for c in CORPORA if c.use in ("held_out", "validation")
    ]
    plan += [("ravdess", frozenset(TEST_ACTORS | set(f))) for f in RAVDESS_FOLDS]
    for k, (held_out, drop) in enumerate(plan):
        started = time.monotonic()
        x, y, w, mean = training_set(data, recipe, held_out if held_out != "ravdess" else "", drop)
        probe = fit(recipe, x, y, w, mean, rounding)
        del x
        held = set(drop - TEST_ACTORS) if held_out == "ravdess" else None
        result = score(probe, data[held_out], recipe, frozenset(held) if held else None)
        name = held_out if held is None else f"ravdess-{'-'.join(sorted(held))}"
        predictions[name] = result.pop("_predictions")
        folds[name] = result
        print(
            f"[{k + 1}/{len(plan)}] {name}: streams {result['stream_macro_f1']} clips "
            f"{result['clip_macro_f1']} top {result['top_label']} single "
            f"{result['single_emotion']['accuracy']} ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
    held = [c.name for c in CORPORA if c.use in ("held_out", "validation")]
    ravdess = [n for n in folds if n.startswith("ravdess")]
    summary = {
        "held_out_stream_mean": _mean(folds, held, "stream_macro_f1"),
        "held_out_min": min(folds[n]["stream_macro_f1"] for n in held),
        "held_out_top_share_max": max(folds[n]["top_label"][1] for n in held),
        "ravdess_stream_mean": _mean(folds, ravdess, "stream_macro_f1"),
        "ravdess_clip_mean": _mean(folds, ravdess, "clip_macro_f1"),
        "single_emotion_accuracy": round(
            sum(f["single_emotion"]["correct"] for f in folds.values())
            / max(1, sum(f["single_emotion"]["windows"] for f in folds.values())),
            4,
        ),
    }
    return {
        "recipe": asdict(recipe),
        "name": recipe.name,
        "summary": summary,
        "folds": folds,
        "_predictions": predictions,
    }


def by_corpus(predictions: dict) -> dict:
    """Held-out predictions with the RAVDESS folds joined into one corpus."""
    joined: dict[str, list[dict]] = {}
    for name, part in predictions.items():
        joined.setdefault(name.split("-")[0], []).append(part)
    return {
        n: {k: torch.cat([p[k] for p in parts]) for k in parts[0]} for n, parts in joined.items()
    }


def write_model(
    recipe: Recipe,
    data: dict[str, CorpusFeatures],
    rounding: torch.Tensor | None,
    predictions: dict,
    path: Path,
) -> dict:
    """Fit the recipe on every training corpus (RAVDESS test actors left out), calibrate it on
    the held-out predictions and write a model file around the shipped model's encoder."""
    x, y, w, mean = training_set(data, recipe, "", frozenset(TEST_ACTORS))
    probe = fit(recipe, x, y, w, mean, rounding)
    del x
    calibration, report = calibrate(by_corpus(predictions))
    checkpoint = load_checkpoint(resolve_checkpoint(None))
    net = checkpoint.model.net
    if net.config.head_kinds != ("linear",):
        raise SerError("the shipped model's head is not one linear layer")
    set_head(net.heads[0], probe)
    meta = {
        "calibration": calibration.settings(),
        "train": {"recipe": asdict(recipe), "rows": len(y), "loco": "python -m training.loco"},
    }
    if recipe.prior_windows is not None:
        meta["adaptation"] = asdict(AdaptationConfig(prior_windows=recipe.prior_windows))
    save_checkpoint(path, checkpoint.model, checkpoint.labels, meta=meta)
    return {"calibration": calibration.settings(), "calibration_report": report}


def file_probe(checkpoint: Checkpoint) -> Probe:
    """A model file's one linear head as a probe."""
    net = checkpoint.model.net
    if net.config.head_kinds != ("linear",):
        raise SerError("only a model file with one linear head can be scored on features")
    return head_probe(net.heads[0])


def score_file(path: Path, data: dict[str, CorpusFeatures]) -> dict:
    """A model file as it is (its adaptation and calibration) on every scored corpus's streams
    and clips, RAVDESS as its validation actors: honest for corpora the file never trained on."""
    checkpoint = load_checkpoint(path)
    adaptation = AdaptationConfig.from_settings(checkpoint.meta.get("adaptation"))
    calibration = Calibration.from_settings(checkpoint.meta.get("calibration"))
    recipe = Recipe((), adaptation and adaptation.prior_windows)
    probe = file_probe(checkpoint)
    table = {}
    for corpus in (c for c in CORPORA if c.clips):
        only = VALIDATION_ACTORS if corpus.name == "ravdess" else None
        result = score(probe, data[corpus.name], recipe, only)
        result["ece"] = ece(calibration, result.pop("_predictions"))
        table[corpus.name] = result
    return table


def _mean(folds: dict, names: list[str], key: str) -> float:
    return round(sum(folds[n][key] for n in names) / len(names), 4)


def load_all(root: Path, cache_dir: Path) -> dict[str, CorpusFeatures]:
    """Every corpus's features through the shipped model's encoder."""
    model = load_checkpoint(resolve_checkpoint(None)).model
    return {c.name: corpus_features(c, root, model, cache_dir) for c in CORPORA}


def rounding_variance(root: Path, cache_dir: Path) -> torch.Tensor:
    """Per-feature variance of the bf16 fast path's rounding of the pooled features, measured
    on RAVDESS training clips (the penalty keeps the probe from leaning on it)."""
    model = load_checkpoint(resolve_checkpoint(None)).model
    train = [u for u in scan("ravdess", root / "ravdess") if u.speaker not in TEST_ACTORS]
    clips = random.Random(0).sample(train, min(ROUNDING_CLIPS, len(train)))
    size = model.frontend.config.clip_samples
    cache = EncoderFeatureCache(model, cache_dir, batch=8)
    keys = [content_digest([u.path for u in clips]), size]
    makes = [partial(clip_window, u.path, size) for u in clips]
    return cache.rounding_error("ravdess-train-clips", keys, makes).float().square().mean(dim=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.loco", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cache-dir", type=Path, default=Path("runs/feature-cache"))
    parser.add_argument("--out", type=Path, default=Path("runs/loco"))
    parser.add_argument("--train", default="all", help="'all' or corpus names joined by +")
    parser.add_argument("--prior", type=float, default=None, help="adaptation prior windows")
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--windows-only", action="store_true")
    parser.add_argument(
        "--rounding-penalty",
        type=float,
        default=Recipe.rounding_penalty,
        help="weight of the bf16 rounding penalty (0: off)",
    )
    parser.add_argument("--write", type=Path, help="also fit on everything and write this model")
    parser.add_argument("--score", type=Path, help="only score this model file on every corpus")
    args = parser.parse_args(argv)
    if args.score:
        table = score_file(args.score, load_all(args.data, args.cache_dir))
        print(json.dumps(table, indent=1))
        return 0
    names = [c.name for c in CORPORA if trainable(c.name)]
    train = tuple(names if args.train == "all" else args.train.split("+"))
    unknown = set(train) - set(names)
    if unknown:
        raise SerError(f"cannot train on {sorted(unknown)} (trainable: {', '.join(names)})")
    recipe = Recipe(train, args.prior, args.l2, not args.windows_only, args.rounding_penalty)
    data = load_all(args.data, args.cache_dir)
    rounding = rounding_variance(args.data, args.cache_dir) if recipe.rounding_penalty else None
    result = run(recipe, data, rounding)
    args.out.mkdir(parents=True, exist_ok=True)
    predictions = result.pop("_predictions")
    torch.save(predictions, args.out / f"{recipe.name}.predictions.pt")
    with (args.out / "log.jsonl").open("a") as log:
        log.write(json.dumps(result) + "\n")
    print(json.dumps(result["summary"]))
    if args.write:
        written = write_model(recipe, data, rounding, predictions, args.write)
        (args.out / f"{recipe.name}.calibration.json").write_text(json.dumps(written, indent=2))
        print(json.dumps(written, indent=2))
        print(f"model: {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
