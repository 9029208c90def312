"""Row writers for CSV and JSON Lines, to a file or stdout, flushed per row."""

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from ser.errors import SerError

FORMATS = ("csv", "jsonl")


def infer_format(target: str, explicit: str | None, default: str = "jsonl") -> str:
    """The explicit format, else the target's extension (.csv/.jsonl/.json), else `default`."""
    if explicit:
        return explicit
    suffix = Path(target).suffix.lower()
    return {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl"}.get(suffix, default)


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """One level of nesting flattened: {'probs': {'sad': .1}} -> {'sad': .1}."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def partial_path(target: Path) -> Path:
    """Where an output is written until it is complete: beside it, hidden, same extension."""
    return target.with_name(f".{target.stem}.{os.getpid()}.partial{target.suffix}")


def settle(partial: Path, target: Path, keep: bool) -> None:
    """Move a finished partial file over its target, or drop it when it holds nothing."""
    if keep:
        os.replace(partial, target)
    else:
        partial.unlink(missing_ok=True)


class RecordWriter:
    """Writes dict rows as CSV (header from the first row) or JSON Lines.

    A file target is written beside itself under a temporary name and moved into place on
    close, and only when rows were written: a run that fails early never touches an existing
    file, and one that fails late still leaves what it computed."""

    def __init__(self, target: str, fmt: str | None = None) -> None:
        self.target = target
        self.format = infer_format(target, fmt)
        self.rows = 0
        self._csv: csv.DictWriter | None = None
        self._partial: Path | None = None
        if target == "-":
            self._stream: TextIO = sys.stdout
            return
        path = Path(target)
        self._partial = partial_path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(21, "is a directory")
            self._stream = open(self._partial, "w", newline="", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise SerError(f"cannot write output {target}: {exc.strerror or exc}") from exc

    def write(self, record: dict[str, Any]) -> None:
        """Append one row and flush it."""
        try:
            if self.format == "csv":
                row = flatten(record)
                if self._csv is None:
                    self._csv = csv.DictWriter(
                        self._stream, fieldnames=list(row), extrasaction="ignore"
                    )
                    self._csv.writeheader()
                self._csv.writerow(row)
            else:
                self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._stream.flush()
            self.rows += 1
        except OSError as exc:
            raise SerError(f"cannot write output {self.target}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Close the file (never stdout) and move it into place if it holds any row."""
        if self._partial is None or self._stream.closed:
            return
        self._stream.close()
        settle(self._partial, Path(self.target), keep=self.rows > 0)

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
