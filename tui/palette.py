"""One colour per emotion, shared by the terminal UI and the saved plot."""

COLOURS = {
    "anger": "#e5484d",
    "disgust": "#46a758",
    "fear": "#8e4ec6",
    "happy": "#f5d90a",
    "neutral": "#8b8d98",
    "sad": "#3e63dd",
}
SILENCE_COLOUR = "#303136"


def colour(label: str | None) -> str:
    """Colour of a label; silence (None) is a dark grey."""
    return COLOURS.get(label or "", SILENCE_COLOUR)


def blend(base: str, target: str, amount: float) -> str:
    """The colour `amount` (0..1) of the way from `base` to `target`, as #rrggbb."""
    amount = max(0.0, min(1.0, amount))
    a = [int(base[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(target[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b, strict=True))
