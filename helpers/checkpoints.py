"""Checkpoints: weights as safetensors plus a JSON card (introduced in notebook 00).

``name.safetensors`` holds the tensors (safetensors cannot run code on load, unlike pickle);
``name.json`` — the card — holds the model config, the training config, metrics, and the
name and shape of every tensor. Loading checks that the card, the config and the weights
agree, and says how to remake the checkpoint if they do not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformer_lens.model_bridge import TransformerBridge

from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import CheckpointError, ConfigError, MissingDataError
from helpers.models import build_model, config_of

CARD_FORMAT = "mechinterp-course-checkpoint/1"


def _paths(path: str | Path) -> tuple[Path, Path]:
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_checkpoint(
    model: TransformerBridge,
    path: str | Path,
    train_config: TrainConfig | None = None,
    metrics: dict[str, Any] | None = None,
    notes: str = "",
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``path.safetensors`` and its card ``path.json``; return the weights' path.

    ``state_dict`` saves other weights for the same model (e.g. a snapshot from training).
    """
    weights_path, card_path = _paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    sd = state_dict if state_dict is not None else model.state_dict()
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}
    save_file(tensors, str(weights_path))
    card = {
        "format": CARD_FORMAT,
        "model_config": config_of(model).to_dict(),
        "train_config": train_config.to_dict() if train_config is not None else None,
        "metrics": metrics or {},
        "notes": notes,
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return weights_path


def read_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint, checked for the fields the course writes."""
    weights_path, card_path = _paths(path)
    if not card_path.exists():
        raise MissingDataError(
            f"No checkpoint card at {card_path}. A checkpoint is a .safetensors file with a .json "
            "card beside it, written by helpers.checkpoints.save_checkpoint (or helpers.train)."
        )
    card = json.loads(card_path.read_text())
    for key in ("format", "model_config", "tensors"):
        if key not in card:
            raise CheckpointError(f"The card {card_path} has no '{key}' field; it was not written by the course.")
    if card["format"] != CARD_FORMAT:
        raise CheckpointError(f"The card {card_path} has format {card['format']!r}; expected {CARD_FORMAT!r}.")
    return card


def load_checkpoint(
    path: str | Path, device: torch.device | str | None = None
) -> tuple[TransformerBridge, dict[str, Any]]:
    """Load a checkpoint into a fresh model; return ``(model, card)``.

    Raises ``MissingDataError`` if a file is missing and ``CheckpointError`` if the weights do
    not match the card's config (say, a card copied from another run).
    """
    weights_path, card_path = _paths(path)
    card = read_card(path)
    if not weights_path.exists():
        raise MissingDataError(f"The card {card_path} exists but its weights {weights_path} do not.")
    try:
        cfg = ModelConfig.from_dict(card["model_config"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"The card {card_path} holds an invalid model config: {e}") from e
    tensors = load_file(str(weights_path))
    model = build_model(cfg)
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    got = {k: list(v.shape) for k, v in tensors.items()}
    if got != card["tensors"] or got != expected:
        diff = sorted(
            k for k in set(expected) | set(got) if expected.get(k) != got.get(k)
        )[:5]
        raise CheckpointError(
            f"The weights in {weights_path} do not match the config in {card_path} "
            f"(first mismatched tensors: {diff}: config expects "
            f"{[expected.get(k) for k in diff]}, file has {[got.get(k) for k in diff]}). "
            "The card and weights come from different runs: re-create the checkpoint with the "
            "command in the card's notes, or with helpers.checkpoints.save_checkpoint."
        )
    model.load_state_dict(tensors)
    if device is not None:
        model = model.to(device)
    return model, card


def describe(folder: str | Path) -> str:
    """A Markdown table of every checkpoint card in ``folder``: what it is and the command that made it."""
    rows = ["| checkpoint | model | metrics | made by |", "|---|---|---|---|"]
    for card_path in sorted(Path(folder).glob("*.json")):
        try:
            card = read_card(card_path)
        except (CheckpointError, MissingDataError, json.JSONDecodeError):
            continue  # other JSON files (e.g. sweep results) live here too
        c = card["model_config"]
        model = f"{c['n_layers']}L d_model={c['d_model']} heads={c['n_heads']} " + (
            f"d_mlp={c['d_mlp']}" if c.get("d_mlp") else "attn-only"
        ) + (" LN" if c.get("normalization_type") else "")
        metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(card["metrics"].items()) if not isinstance(v, (list, dict)))
        notes = card.get("notes", "").replace("made by: ", "").replace("|", "\\|")
        rows.append(f"| `{card_path.stem}` | {model} | {metrics} | `{notes}` |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m helpers.checkpoints [folder]: list the checkpoints and their commands
    import sys

    from helpers.paths import data_dir

    print(describe(sys.argv[1] if len(sys.argv) > 1 else data_dir() / "checkpoints"))
