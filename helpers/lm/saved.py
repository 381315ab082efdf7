"""The committed language-model checkpoints and their training snapshots (``data/checkpoints``)."""

from __future__ import annotations

from pathlib import Path

from transformer_lens.model_bridge import TransformerBridge

from helpers.checkpoints import checkpoint_name, committed_checkpoint
from helpers.errors import (
    CheckpointError,
    MissingDataError,
)  # fmt: skip
from helpers.models import build_model, config_of
from helpers.paths import data_dir


def snapshots_path(name: str) -> Path:
    return data_dir() / "checkpoints" / f"{name}_snapshots.safetensors"


def lm_snapshots(name: str) -> list[tuple[int, TransformerBridge]]:
    """The training snapshots saved with ``--snapshot-every`` as ``(step, model)`` pairs, oldest first.

    They are stored in fp16 (to keep the file small) and loaded into fp32 models.
    """
    from safetensors.torch import load_file

    model, card = lm_checkpoint(name)
    path = snapshots_path(name)
    if not path.exists():
        raise MissingDataError(
            f"No snapshots {path}. Re-create them with the command in {checkpoint_path(name)}.json (notes)."
        )
    steps = card.get("metrics", {}).get("snapshot_steps")
    if not steps:
        raise MissingDataError(
            f"The checkpoint {name!r} was trained without --snapshot-every, so {path} is not its snapshots. "
            f"Re-create both with the command in {checkpoint_path(name)}.json (notes), with --snapshot-every."
        )
    try:
        flat = load_file(str(path))
    except Exception as e:  # SafetensorError: truncated or not safetensors
        raise CheckpointError(
            f"The snapshots {path} cannot be read ({e}). Re-create them with the command in {checkpoint_path(name)}.json (notes)."
        ) from e
    out = []
    for step in steps:
        prefix = f"step{int(step)}."
        sd = {k[len(prefix) :]: v.float() for k, v in flat.items() if k.startswith(prefix)}
        if not sd:
            raise CheckpointError(
                f"The snapshots {path} hold no step {step}, which the card of {name!r} lists: they come from another run. "
                f"Re-create them with the command in {checkpoint_path(name)}.json (notes)."
            )
        m = build_model(config_of(model))
        m.load_state_dict(sd)
        m.eval()
        out.append((int(step), m))
    return out


def checkpoint_path(name: str) -> Path:
    return data_dir() / "checkpoints" / checkpoint_name(name, "name")


def lm_checkpoint(name: str) -> tuple[TransformerBridge, dict]:
    """Load a committed language-model checkpoint by name (e.g. ``"attn2l"``), with its card."""
    return committed_checkpoint(name)
