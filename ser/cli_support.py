"""Command entry helper: user errors become one stderr line and a non-zero exit."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ser.errors import SerError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def report_error(prog: str, message: str) -> None:
    """Print one `prog: error: message` line on stderr."""
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)


def run_command(prog: str, body: Callable[[], int | None]) -> int:
    """Run a command body; SerError -> one error line and exit 1, Ctrl-C -> 130."""
    try:
        return body() or 0
    except SerError as exc:
        report_error(prog, first_line(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def combine_command(
    prog: str, doc: str | None, combine: Callable[[Path, list[Path]], int], argv: list[str] | None
) -> None:
    """Entry point of a tool writing one checkpoint from several (`OUTPUT SOURCE...`)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    parser.add_argument("output", type=Path, help="the ser checkpoint to write")
    parser.add_argument("sources", type=Path, nargs="+", help="model.pt or .ckpt files")
    args = parser.parse_args(argv)
    sys.exit(run_command(prog, lambda: combine(args.output, args.sources)))
