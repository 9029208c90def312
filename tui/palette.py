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
