"""ser: speech emotion recognition over log-mel spectrograms with a CNN + Transformer encoder."""

from ser.labels import EMOTIONS

__all__ = ["EMOTIONS"]
__version__ = "0.1.0"
