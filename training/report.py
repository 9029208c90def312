"""Evaluation report: metrics JSON and a confusion-matrix PNG."""

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torchmetrics.functional.classification import (
    multiclass_accuracy,
    multiclass_confusion_matrix,
    multiclass_f1_score,
    multiclass_precision,
    multiclass_recall,
)


def clip_scores(
    logits: torch.Tensor, target: torch.Tensor, labels: tuple[str, ...]
) -> tuple[dict[str, float], dict[str, Any]]:
    """The test metrics and per-class results `build_report` takes, from logits of clips (as
    the Lightning test loop logs them)."""
    n = len(labels)
    metrics = {
        "test/acc": float(multiclass_accuracy(logits, target, n, average="micro")),
        "test/f1": float(multiclass_f1_score(logits, target, n, average="macro")),
    }
    per_class = {
        name: score(logits, target, n, average="none").tolist()
        for name, score in (
            ("precision", multiclass_precision),
            ("recall", multiclass_recall),
            ("f1", multiclass_f1_score),
        )
    }
    confusion = multiclass_confusion_matrix(logits, target, n).tolist()
    return metrics, class_results(per_class, confusion, labels)


def class_results(
    per_class: dict[str, list[float]], confusion: list[list[int]], labels: tuple[str, ...]
) -> dict[str, Any]:
    """Per-class scores keyed by label, and the confusion matrix."""
    return {
        "per_class": {
            label: {metric: per_class[metric][i] for metric in per_class}
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion,
    }


def build_report(metrics: dict[str, float], results: dict[str, Any], **info: Any) -> dict:
    """One dict with accuracy, macro-F1 over the classes the clips hold (a corpus that maps to
    fewer classes is not scored on the others), per-class P/R/F1+support, confusion matrix."""
    confusion = results["confusion_matrix"]
    per_class = {
        label: {**scores, "support": int(sum(confusion[i]))}
        for i, (label, scores) in enumerate(results["per_class"].items())
    }
    present = [s["f1"] for s in per_class.values() if s["support"] > 0]
    return {
        **info,
        "accuracy": float(metrics["test/acc"]),
        "macro_f1": sum(present) / len(present) if present else float(metrics["test/f1"]),
        "num_clips": int(sum(map(sum, confusion))),
        "per_class": per_class,
        "labels": list(results["per_class"]),
        "confusion_matrix": confusion,
    }


def plot_confusion(report: dict[str, Any], path: Path) -> Path:
    """Row-normalised confusion matrix with counts, saved as PNG."""
    labels, counts = report["labels"], report["confusion_matrix"]
    fig, ax = plt.subplots(figsize=(6, 5), dpi=120)
    rows = [[c / max(1, sum(row)) for c in row] for row in counts]
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            colour = "white" if rows[i][j] > 0.5 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=8)
    title = f"acc {report['accuracy']:.3f}  macro-F1 {report['macro_f1']:.3f}"
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], output_dir: Path) -> None:
    """report.json, confusion_matrix.json and confusion_matrix.png in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "report.json").write_text(json.dumps(report, indent=2))
    matrix = {"labels": report["labels"], "matrix": report["confusion_matrix"]}
    (output_dir / "confusion_matrix.json").write_text(json.dumps(matrix, indent=2))
    plot_confusion(report, output_dir / "confusion_matrix.png")


def format_report(report: dict[str, Any]) -> str:
    """Plain-text table of the headline numbers and per-class scores."""
    lines = [
        f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}   "
        f"clips {report['num_clips']}",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for label, s in report["per_class"].items():
        lines.append(
            f"{label:<10}{s['precision']:>10.3f}{s['recall']:>10.3f}{s['f1']:>10.3f}{s['support']:>9}"
        )
    return "\n".join(lines)
