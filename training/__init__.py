"""Training and evaluation: corpora, speaker-independent splits, Lightning data and module."""
