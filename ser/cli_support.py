"""Command entry helper: user errors become one stderr line and a non-zero exit; Ctrl-C,
SIGTERM and SIGHUP end a command the same way, each with its own exit status."""

import contextlib
import signal
import sys
from collections.abc import Callable

from ser.errors import SerError

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
# The signals that end a run, and the word the command says for each; exit 128 + number.
ENDINGS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread as Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def raise_on_signals() -> None:
    """Make SIGTERM and SIGHUP raise `Interrupted` (ones the parent ignored stay ignored)."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _raise_interrupted)


def hold_signals() -> None:
    """Ignore further ending signals while a run writes its last lines."""
    for signum in ENDINGS:
        signal.signal(signum, signal.SIG_IGN)


def ending_signal(exc: KeyboardInterrupt) -> int:
    """The signal behind a KeyboardInterrupt: SIGINT unless it is an `Interrupted`."""
    return exc.signum if isinstance(exc, Interrupted) else signal.SIGINT


def report_ending(prog: str, signum: int) -> int:
    """Print `prog: interrupted|terminated|hung up`; the exit status, 128 + the signal."""
    say(f"{prog}: {ENDINGS[signum]}")
    return 128 + signum


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def say(text: str) -> None:
    """Print to stderr; a terminal that is gone (after SIGHUP) is not an error of its own."""
    with contextlib.suppress(OSError):
        print(text, file=sys.stderr, flush=True)


def report_error(prog: str, message: str) -> None:
    """Print one `prog: error: message` line on stderr."""
    say(f"{prog}: error: {message}")


def run_command(prog: str, body: Callable[[], int | None]) -> int:
    """Run a command body; SerError -> one error line and exit 1, Ctrl-C -> 130, SIGTERM ->
    143, SIGHUP -> 129 (each one line)."""
    raise_on_signals()
    try:
        return body() or 0
    except SerError as exc:
        report_error(prog, first_line(exc))
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        return report_ending(prog, ending_signal(exc))
