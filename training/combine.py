"""Entry point of the tools that write one checkpoint from several (average, ensemble)."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from ser.cli_support import run_command


def combine_command(
    prog: str, doc: str | None, combine: Callable[[Path, list[Path]], int], argv: list[str] | None
) -> None:
    """Entry point of a tool writing one checkpoint from several (`OUTPUT SOURCE...`)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    parser.add_argument("output", type=Path, help="the ser checkpoint to write")
    parser.add_argument("sources", type=Path, nargs="+", help="model.pt or .ckpt files")
    args = parser.parse_args(argv)
    sys.exit(run_command(prog, lambda: combine(args.output, args.sources)))
