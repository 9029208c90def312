"""Fit `ser.calibration.Calibration` on held-out predictions (`training.loco`'s, never the
test split): the familiarity-dependent temperature by weighted NLL, each corpus weighing
alike, and the uncertainty threshold; expected calibration error reported per corpus with the
calibrator fitted without that corpus (nested leave-one-corpus-out)."""

import torch
import torch.nn.functional as F
from torchmetrics.functional.classification import multiclass_calibration_error

from ser.calibration import Calibration

Predictions = dict[str, dict[str, torch.Tensor]]  # corpus -> logits, labels, familiarity


def _joined(predictions: Predictions) -> tuple[torch.Tensor, ...]:
    """Logits, labels, familiarity and per-row weights (each corpus summing to 1)."""
    parts = list(predictions.values())
    weights = torch.cat([torch.full((len(p["labels"]),), 1.0 / len(p["labels"])) for p in parts])
    return (
        torch.cat([p["logits"] for p in parts]).float(),
        torch.cat([p["labels"] for p in parts]),
        torch.cat([p["familiarity"] for p in parts]).float(),
        weights,
    )


def fit_temperature(predictions: Predictions) -> tuple[float, ...]:
    """log T = w0 + w . log(distances) (`ser.calibration.Calibration`), by weighted NLL."""
    logits, labels, familiarity, weights = _joined(predictions)
    inputs = torch.cat([torch.ones(len(labels), 1), familiarity.log()], dim=1)
    w = torch.zeros(inputs.shape[1], requires_grad=True)
    optimiser = torch.optim.LBFGS([w], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        scaled = logits / (inputs @ w).exp().unsqueeze(1)
        value = (F.cross_entropy(scaled, labels, reduction="none") * weights).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return tuple(round(float(v), 4) for v in w.detach())


def calibrated(calibration: Calibration | None, part: dict[str, torch.Tensor]) -> torch.Tensor:
    """The part's probabilities under `calibration` (plain softmax when None)."""
    logits = part["logits"].float()
    if calibration is None:
        return logits.softmax(dim=1)
    return (logits / calibration.temperature(part["familiarity"].float())).softmax(dim=1)


def uncertainty_threshold(calibration: Calibration, predictions: Predictions) -> float:
    """The top probability under which held-out windows are the most often wrong: the
    threshold that maximises (wrong - right) among the windows below it, corpora weighed
    alike."""
    confidence, wrong, weights = [], [], []
    for part in predictions.values():
        probs = calibrated(calibration, part)
        confidence.append(probs.max(dim=1).values)
        wrong.append(probs.argmax(dim=1) != part["labels"])
        weights.append(torch.full((len(probs),), 1.0 / len(probs)))
    conf, order = torch.cat(confidence).sort()
    signed = torch.where(torch.cat(wrong), 1.0, -1.0) * torch.cat(weights)
    gains = signed[order].cumsum(dim=0)
    best = int(gains.argmax())
    if gains[best] <= 0:  # no low-confidence set is mostly wrong: nothing is flagged
        return 0.0
    # The windows below the threshold are the `best + 1` least confident ones.
    return round(float(conf[best + 1]), 3) if best + 1 < len(conf) else 1.0


def ece(calibration: Calibration | None, part: dict[str, torch.Tensor]) -> float:
    """Expected calibration error of the part's top probabilities, 10 bins."""
    probs = calibrated(calibration, part)
    error = multiclass_calibration_error(probs, part["labels"], probs.shape[1], n_bins=10)
    return round(float(error), 4)


def calibrate(predictions: Predictions) -> tuple[Calibration, dict[str, dict[str, float]]]:
    """The calibration fitted on every corpus, and per corpus the ECE uncalibrated, nested
    (fitted without that corpus) and in-sample, with the share of uncertain windows."""
    weights = fit_temperature(predictions)
    final = Calibration(weights, 0.0)
    final = Calibration(weights, uncertainty_threshold(final, predictions))
    report = {}
    for name, part in predictions.items():
        others = {k: v for k, v in predictions.items() if k != name}
        nested = Calibration(fit_temperature(others), 0.0)
        probs = calibrated(final, part)
        uncertain = probs.max(dim=1).values < final.uncertain_below
        right = probs.argmax(dim=1) == part["labels"]
        report[name] = {
            "ece_uncalibrated": ece(None, part),
            "ece_nested": ece(nested, part),
            "ece": ece(final, part),
            "mean_confidence": round(float(probs.max(dim=1).values.mean()), 4),
            "accuracy": round(float(right.float().mean()), 4),
            "uncertain_share": round(float(uncertain.float().mean()), 4),
            "accuracy_uncertain": round(float(right[uncertain].float().mean()), 4)
            if uncertain.any()
            else None,
            "accuracy_certain": round(float(right[~uncertain].float().mean()), 4)
            if (~uncertain).any()
            else None,
        }
    return final, report
