"""Row writers for CSV and JSON Lines, to a file or stdout, flushed per row."""

import csv
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ser.errors import SerError
from ser.output_target import OutputTarget

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


class RecordWriter:
    """Writes dict rows as CSV (header from the first row) or JSON Lines.

    A file target is written beside itself under a temporary name and moved into place on
    close, and only when rows were written: a run that fails early never touches an existing
    file, and one that fails late still leaves what it computed. A device, FIFO or socket is
    written through (`OutputTarget`)."""

    def __init__(self, target: str, fmt: str | None = None) -> None:
        self.target = target
        self.format = infer_format(target, fmt)
        self.rows = 0
        self._csv: csv.DictWriter | None = None
        self._output: OutputTarget | None = None
        if target == "-":
            self._stream: TextIO = sys.stdout
            return
        self._output = OutputTarget(target)
        self._stream = self._output.open("w")

    @property
    def folder(self) -> Path | None:
        """The folder of a file output (a symlink's target's); None for stdout or a device."""
        if self._output is None or self._output.through:
            return None
        return self._output.path.parent

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
        if self._output is None or self._stream.closed:
            return
        self._stream.close()
        self._output.commit(keep=self.rows > 0)

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
