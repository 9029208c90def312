"""Join trained Whisper-family runs into one model: their heads on the one frozen encoder,
averaging their probabilities (the encoder runs once per window, so it costs no more time).

    python -m training.ensemble ensemble.pt runs/mlp/model.pt runs/linear-babble/model.pt

Each input is a ser model file or a Lightning checkpoint; all must hold the same encoder
weights, features and labels. Choose what to join on validation."""

import dataclasses
from pathlib import Path

import torch

from ser.checkpoint import save_checkpoint
from ser.errors import CheckpointError
from ser.model import SerModel
from training.build import load_source
from training.combine import combine_command

PROG = "ensemble"


def _same_encoder(a: SerModel, b: SerModel) -> bool:
    sizes = [dataclasses.replace(m.net.config, head="mlp", hidden=0, dropout=0) for m in (a, b)]
    if sizes[0] != sizes[1]:
        return False
    ours, theirs = a.net.encoder.state_dict(), b.net.encoder.state_dict()
    return all(torch.equal(ours[k], theirs[k]) for k in ours)


def join(sources: list[Path]) -> tuple[SerModel, tuple[str, ...]]:
    """One model holding every source's heads (in order) on the first source's encoder."""
    members = [load_source(path)[:2] for path in sources]
    first, labels = members[0]
    for path, (model, other_labels) in zip(sources, members, strict=True):
        if not model.family.encoder_heads:
            raise CheckpointError(f"{path}: only models with heads on an encoder share it")
        if model.frontend.config != first.frontend.config or other_labels != labels:
            raise CheckpointError(f"{path}: its features or labels differ from {sources[0]}")
        if not _same_encoder(model, first):
            raise CheckpointError(f"{path}: its encoder differs from {sources[0]}'s")
    heads = [head for model, _ in members for head in model.net.heads]
    hidden = {m.net.config.hidden for m, _ in members if "mlp" in m.net.config.head_kinds}
    if len(hidden) > 1:
        raise CheckpointError(f"MLP heads of different widths ({sorted(hidden)}) cannot be joined")
    config = dataclasses.replace(
        first.net.config,
        head="+".join(head.kind for head in heads),
        hidden=hidden.pop() if hidden else first.net.config.hidden,
    )
    joined = SerModel(first.frontend.config, config)
    joined.net.encoder.load_state_dict(first.net.encoder.state_dict())
    for target, head in zip(joined.net.heads, heads, strict=True):
        target.load_state_dict(head.state_dict())
    return joined.eval(), labels


def ensemble(output: Path, sources: list[Path]) -> int:
    """Write the joined model of `sources` to `output` as a ser checkpoint."""
    model, labels = join(sources)
    save_checkpoint(output, model, labels, meta={"ensemble": [str(p) for p in sources]})
    print(f"{output}: {len(model.net.heads)} heads ({model.net.config.head}) on one encoder")
    return 0


def main(argv: list[str] | None = None) -> None:
    combine_command(PROG, __doc__, ensemble, argv)


if __name__ == "__main__":
    main()
