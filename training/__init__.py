"""Training and evaluation: corpora, speaker-independent splits, Lightning data and module."""

import warnings

# Lightning 2.6 on torch 2.14 warns about its own use of a deprecated pytree API on every run.
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
