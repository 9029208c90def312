"""The six emotion classes, in CREMA-D order."""

EMOTIONS: tuple[str, ...] = ("anger", "disgust", "fear", "happy", "neutral", "sad")
