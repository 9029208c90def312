"""Console entry points, above every other package: each command's module (torch and all) is
imported here, so that a Ctrl-C while it is still loading is one line and exit 130, not a
traceback."""

import importlib
import signal
import sys
from functools import partial

from ser.cli_support import EXIT_INTERRUPTED


def launch(prog: str, module: str) -> None:
    """Import `module` and run its `main()`. A Ctrl-C during the import is only noted (raised
    inside a native extension's initialisation it would abort the process) and then ends the
    command."""
    interrupted: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:  # one the parent ignored (nohup, &) stays so
        signal.signal(signal.SIGINT, lambda signum, _: interrupted.append(signum))
    try:
        main = importlib.import_module(module).main
    finally:
        signal.signal(signal.SIGINT, previous)
    if interrupted:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    main()


# One console script each (pyproject's [project.scripts]).
ser_live = partial(launch, "ser-live", "streaming.cli")
ser_train = partial(launch, "ser-train", "training.train")
ser_test = partial(launch, "ser-test", "training.evaluate")
ser_predict = partial(launch, "ser-predict", "streaming.predict_cli")
ser_export = partial(launch, "ser-export", "ser.export")
ser_bench = partial(launch, "ser-bench", "benchmarks.bench")
