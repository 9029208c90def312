"""ser-predict's rows across runs and processes: each process appends the rows it scores to its
own part file beside the output, one merge writes the output in input order, and a later run
skips the files the output (or an interrupted run's parts) already holds."""

import csv
import io
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ser.cli_support import report_error
from ser.errors import SerError
from ser.predictor import FileLabel
from ser.records import RecordWriter, infer_format
from streaming.archive import FileWindows
from streaming.events import WindowEvent


def window_label(labels: tuple[str, ...], windows: list[WindowEvent]) -> FileLabel:
    """A file's label from its window events (as `Predictor.classify_file` gives it)."""
    speech = [w for w in windows if w.speech]
    probs = np.array([[w.probs[n] for n in labels] for w in speech]).reshape(-1, len(labels))
    return FileLabel.of(probs, np.array([w.uncertain for w in speech], bool), labels)


@dataclass(frozen=True)
class ScoredFile:
    """A file's label, or why it could not be scored."""

    path: str
    label: FileLabel | None
    error: str | None = None

    @classmethod
    def of_windows(cls, result: FileWindows, labels: tuple[str, ...]) -> "ScoredFile":
        """From the window events archive scoring gave."""
        if result.error is not None:
            return cls(result.path, None, result.error)
        return cls(result.path, window_label(labels, result.windows))


def file_row(path: str, labels: tuple[str, ...], result: FileLabel) -> dict[str, object]:
    """One output row: the file, its label and the mean probabilities of its speech windows,
    how many there are and how many of them were uncertain; with no speech the label and
    probabilities are empty (null)."""
    row: dict[str, object] = {"path": path, "label": result.label}
    row |= {"speech_windows": result.speech_windows, "uncertain_windows": result.uncertain_windows}
    probs = result.probabilities or dict.fromkeys(labels)
    row.update({n: None if p is None else round(p, 5) for n, p in probs.items()})
    return row


def read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The rows of an earlier output that name a file; none when there is no such output."""
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SerError(f"cannot read the earlier output {path}: {exc}") from exc
    if fmt == "csv":
        rows: list[Any] = list(csv.DictReader(io.StringIO(text)))
    else:
        try:
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError:
            return []
    return [r for r in rows if isinstance(r, dict) and r.get("path")]


class PartWriter:
    """One process's part file: a JSON line per scored file (its row) or failed file (its
    error, also reported on stderr), flushed as each file ends."""

    def __init__(self, path: Path, prog: str, labels: tuple[str, ...]) -> None:
        self.prog, self.labels = prog, labels
        self.failures = 0
        self._file: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def add(self, result: ScoredFile) -> None:
        if result.label is None:
            report_error(self.prog, result.error)
            self.failures += 1
            entry: dict[str, Any] = {"path": result.path, "error": result.error}
        else:
            entry = {"path": result.path, "row": file_row(result.path, self.labels, result.label)}
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class ResultStore:
    """The output file, its earlier rows and the part files of the processes writing to it
    (beside it, hidden; in a temporary folder for stdout)."""

    def __init__(self, output: str, fmt: str | None) -> None:
        self.output = output
        self.format = infer_format(output, fmt, default="csv" if output == "-" else "jsonl")
        if output == "-":
            self.prior: list[dict[str, Any]] = []
            self.parts = Path(tempfile.mkdtemp(prefix="ser-predict-"))
            return
        target = Path(output)
        if target.is_dir():
            raise SerError(f"cannot write output {output}: is a directory")
        self.prior = read_rows(target, self.format)
        self.parts = target.with_name(f".{target.name}.parts")
        try:
            self.parts.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SerError(f"cannot write output {output}: {exc.strerror or exc}") from exc

    def _entries(self) -> list[dict[str, Any]]:
        entries = []
        for part in sorted(self.parts.glob("*.jsonl")):
            lines = part.read_text(encoding="utf-8").splitlines()
            # A line cut short by a killed process is the last one of its file.
            entries += [json.loads(line) for line in lines if line.endswith("}")]
        return entries

    def scored(self) -> set[str]:
        """Files the output or a part file already holds a row for."""
        return {r["path"] for r in self.prior} | {e["path"] for e in self._entries() if "row" in e}

    def part(self, rank: int, prog: str, labels: tuple[str, ...]) -> PartWriter:
        """The part file of process `rank`."""
        return PartWriter(self.parts / f"rank{rank}.jsonl", prog, labels)

    def merge(self, inputs: list[str]) -> int:
        """Write the output: the rows of `inputs` in their order, then earlier rows of other
        files; drop the parts. Returns how many of `inputs` have no row because they failed."""
        entries = self._entries()
        rows = {r["path"]: r for r in self.prior}
        rows.update({e["path"]: e["row"] for e in entries if "row" in e})
        failed = {e["path"] for e in entries if "error" in e} & set(inputs) - rows.keys()
        if any("row" in e for e in entries):
            ordered = [rows.pop(p) for p in inputs if p in rows] + list(rows.values())
            with RecordWriter(self.output, self.format) as writer:
                for row in ordered:
                    writer.write(row)
        shutil.rmtree(self.parts, ignore_errors=True)
        return len(failed)
