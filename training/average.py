"""Average the weights of several checkpoints of one run (a uniform "model soup").

    python -m training.average soup.pt runs/<date>/<time>/checkpoints/epoch0*.ckpt

Each input is a ser model file or a Lightning checkpoint; all must share features, network
and labels. BatchNorm statistics are averaged too. Choose what to average on validation."""

from pathlib import Path

from torch.optim.swa_utils import AveragedModel

from ser.checkpoint import save_checkpoint
from training.build import load_source, require_same_model
from training.combine import combine_command

PROG = "average"


def average(output: Path, sources: list[Path]) -> int:
    """Write the uniform average of `sources` to `output` as a ser checkpoint."""
    first, labels, _ = load_source(sources[0])
    soup = AveragedModel(first, use_buffers=True)
    soup.update_parameters(first)
    for path in sources[1:]:
        model, other_labels, _ = load_source(path)
        require_same_model(path, (model, other_labels), (first, labels), str(sources[0]))
        soup.update_parameters(model)
    meta = {"averaged": [str(p) for p in sources]}
    save_checkpoint(output, soup.module, labels, meta=meta)
    print(f"{output}: average of {len(sources)} checkpoints")
    return 0


def main(argv: list[str] | None = None) -> None:
    combine_command(PROG, __doc__, average, argv)


if __name__ == "__main__":
    main()
