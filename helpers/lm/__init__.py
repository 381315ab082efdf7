"""Language models on the course corpus: one recipe for notebooks 01-05.

``train_lm`` trains a model from a ``ModelConfig`` on the corpus's token rows and returns the
model and its history. ``lm_checkpoint`` loads a committed checkpoint from ``data/checkpoints``;
``python -m helpers.train lm ...`` reproduces it.

Modules: ``trainer`` (``train_lm``, ``Kickstart``, ``track_metrics``), ``saved`` (``lm_checkpoint``, ``lm_snapshots``),
``cli`` (the command, with ``default_warmup``).
"""

from helpers.lm.cli import DEFAULTS, MODEL_FIELDS, TRAIN_FIELDS, LMRunOptions, _parser, cli_main, default_warmup
from helpers.lm.saved import checkpoint_path, lm_checkpoint, lm_snapshots, snapshots_path
from helpers.lm.trainer import Kickstart, track_metrics, train_lm
from helpers.tasks import repeated_rows  # it lived here first

__all__ = [
    "DEFAULTS", "MODEL_FIELDS", "TRAIN_FIELDS", "Kickstart", "LMRunOptions", "_parser", "checkpoint_path", "cli_main",
    "default_warmup", "lm_checkpoint", "lm_snapshots", "repeated_rows", "snapshots_path", "track_metrics", "train_lm",
]  # fmt: skip
