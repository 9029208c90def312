"""The commands layer, above every other package: one module per command, `options` for what
they share. Each command's module (torch and all) is imported here, so that a Ctrl-C while it is
still loading is one line and exit 130, not a traceback, and a command whose install extra is
missing says so in one line before loading anything."""

import importlib
import importlib.util
import signal
import sys
from functools import partial

from ser.cli_support import EXIT_ERROR, EXIT_INTERRUPTED, report_error

# What each install extra brings (pyproject's [project.optional-dependencies]), as modules.
EXTRAS = {
    "train": ("lightning", "torchmetrics", "hydra", "audiomentations", "pyroomacoustics", "wandb"),
    "export": ("onnx", "onnxscript"),
}


def check_extra(prog: str, extra: str | None) -> None:
    """Exit 1 with one line naming the extra when any of its modules is not installed."""
    if extra and any(importlib.util.find_spec(name) is None for name in EXTRAS[extra]):
        report_error(prog, f"this command needs the [{extra}] extra: pip install 'ser[{extra}]'")
        sys.exit(EXIT_ERROR)


def launch(prog: str, module: str, extra: str | None = None) -> None:
    """Import `module` and run its `main()`. A Ctrl-C during the import is only noted (raised
    inside a native extension's initialisation it would abort the process) and then ends the
    command."""
    check_extra(prog, extra)
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
ser_live = partial(launch, "ser-live", "ser_commands.live")
ser_train = partial(launch, "ser-train", "ser_commands.train", "train")
ser_test = partial(launch, "ser-test", "ser_commands.test", "train")
ser_predict = partial(launch, "ser-predict", "ser_commands.predict")
ser_export = partial(launch, "ser-export", "ser_commands.export", "export")
ser_bench = partial(launch, "ser-bench", "ser_commands.bench")
