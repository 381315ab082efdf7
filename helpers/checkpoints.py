"""Checkpoints: weights as safetensors plus a JSON card (introduced in notebook 00).

``name.safetensors`` holds the tensors (safetensors cannot run code on load, unlike pickle);
``name.json`` — the card — holds the model config, the training config, metrics, the name and
shape of every tensor, and the size and SHA-256 of the weights file. Loading checks that the
card, the config and the weights agree, and says how to remake the checkpoint if they do not.

Both files are written atomically (a temporary file, then ``os.replace``), the card last: an
interrupted save leaves the old pair, or weights without a card, never new weights that load
under an old card. A name is a name: ``wd0.1`` is ``wd0.1.safetensors`` (dots are kept), and a
name cannot hold a path separator or be ``..``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformer_lens.model_bridge import TransformerBridge

from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import CheckpointError, ConfigError, MissingDataError, OutputExistsError
from helpers.models import build_model, config_of
from helpers.paths import data_dir, writable_dir

CARD_FORMAT = "mechinterp-course-checkpoint/1"
SUFFIXES = (".safetensors", ".json")


def checkpoint_name(name: str, flag: str = "--name") -> str:
    """``name`` if it is a plain file name (dots allowed); otherwise a ``ConfigError`` naming ``flag``."""
    bad = not name or name in (".", "..") or any(c in name for c in "/\\\0") or name.startswith("-")
    if bad or name.endswith(SUFFIXES):
        raise ConfigError(
            f"{flag} {name!r} is not a checkpoint name: use letters, digits, '-', '_' or '.', with no folder "
            f"and no suffix (e.g. {flag} wd0.1). Fix: put the folder in --out."
        )
    return name


def _paths(path: str | Path) -> tuple[Path, Path]:
    """The weights and card paths of a checkpoint. Only a known suffix is cut: ``wd0.1`` stays ``wd0.1``."""
    p = Path(path)
    stem = p.with_name(p.name[: -len(p.suffix)]) if p.suffix in SUFFIXES else p
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` through ``write(tmp)`` then ``os.replace``: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_digest(path: Path) -> dict[str, Any]:
    """Size and SHA-256 of a file: what a card records of its weights."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def checkpoint_exists(path: str | Path) -> bool:
    """True if either file of the checkpoint at ``path`` exists."""
    return any(p.exists() for p in _paths(path))


def refuse_overwrite(path: str | Path, force: bool, what: str = "checkpoint") -> None:
    """Raise ``OutputExistsError`` if a checkpoint is at ``path`` and ``force`` is off."""
    weights_path, card_path = _paths(path)
    if not force and checkpoint_exists(path):
        existing = card_path if card_path.exists() else weights_path
        raise OutputExistsError(
            f"{existing} exists: a {what} is never overwritten silently. Fix: choose another name, "
            "or add --force to replace it."
        )


def check_output(path: Path, force: bool, flag: str = "--out") -> None:
    """Before any training: ``path`` (a checkpoint without suffix) has a valid name, its folder is
    writable, and it holds no checkpoint unless ``force``; each failure is one line naming ``flag``."""
    checkpoint_name(path.name, flag)
    writable_dir(path.parent, flag)
    refuse_overwrite(path, force)


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
    sd = state_dict if state_dict is not None else model.state_dict()
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}
    card = {
        "format": CARD_FORMAT,
        "model_config": config_of(model).to_dict(),
        "train_config": train_config.to_dict() if train_config is not None else None,
        "metrics": metrics or {},
        "notes": notes,
        "tensors": {k: list(v.shape) for k, v in tensors.items()},
    }
    _card_text(card, card_path)  # a card that cannot be written fails here, before any file is touched
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=weights_path.parent, prefix=f".{weights_path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp)
        card["weights"] = file_digest(Path(tmp))
        text = _card_text(card, card_path)
        # The old card goes first: an interruption between the two replaces then leaves weights
        # without a card (an error on load), never new weights under the old card.
        card_path.unlink(missing_ok=True)
        os.replace(tmp, weights_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    write_atomic(card_path, lambda p: p.write_text(text))
    return weights_path


def _card_text(card: dict[str, Any], card_path: Path) -> str:
    """The card as strict JSON: NaN and infinity are not JSON, and a card must load anywhere."""
    try:
        return json.dumps(card, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except ValueError as e:
        raise CheckpointError(
            f"The card {card_path} would hold a NaN or infinite number ({e}); the run diverged or a metric is "
            "undefined. Fix: pass only finite metrics (None for an undefined one)."
        ) from e


def _remake_hint(card: dict[str, Any] | None, card_path: Path) -> str:
    """How to remake a checkpoint: the command in its card's notes, else where commands are listed."""
    notes = (card or {}).get("notes", "") if isinstance(card, dict) else ""
    for prefix in ("made by:", "Made by:", "Reproduce:"):
        if prefix in notes:
            cmd = notes.split(prefix, 1)[1].strip().split(". Data:")[0].rstrip(".")
            return f"Re-create it with: {cmd}"
    return (
        f"Re-create it with the command that made it (`python -m helpers.checkpoints {card_path.parent}` lists "
        "the commands of a folder's checkpoints; Documentation/checkpoints.md lists the course's)."
    )


def read_card(path: str | Path) -> dict[str, Any]:
    """The JSON card of a checkpoint, checked for the fields the course writes."""
    weights_path, card_path = _paths(path)
    if not card_path.exists():
        raise MissingDataError(
            f"No checkpoint card at {card_path}. A checkpoint is a .safetensors file with a .json "
            "card beside it, written by helpers.checkpoints.save_checkpoint (or helpers.train)."
        )
    try:
        card = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"The card {card_path} is not valid JSON ({e}): it is truncated or corrupted. {_remake_hint(None, card_path)}"
        ) from e
    if not isinstance(card, dict):
        raise CheckpointError(f"The card {card_path} is not a JSON object; it was not written by the course.")
    for key in ("format", "model_config", "tensors"):
        if key not in card:
            raise CheckpointError(f"The card {card_path} has no '{key}' field; it was not written by the course.")
    if card["format"] != CARD_FORMAT:
        raise CheckpointError(f"The card {card_path} has format {card['format']!r}; expected {CARD_FORMAT!r}.")
    return card


def _check_digest(card: dict[str, Any], weights_path: Path, card_path: Path) -> None:
    """The weights are the ones the card was written with (cards from before digests are trusted)."""
    want = card.get("weights")
    if not want:
        return
    size = weights_path.stat().st_size
    got = {"bytes": size, "sha256": want.get("sha256")} if size != want.get("bytes") else file_digest(weights_path)
    if got != {"bytes": want.get("bytes"), "sha256": want.get("sha256")}:
        raise CheckpointError(
            f"The weights {weights_path} are not the ones its card {card_path} was written with "
            f"({got['bytes']} bytes vs {want.get('bytes')} in the card, or a different SHA-256): the files come from "
            f"different runs or a save was interrupted. {_remake_hint(card, card_path)}"
        )


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
        raise MissingDataError(
            f"The card {card_path} exists but its weights {weights_path} do not. {_remake_hint(card, card_path)}"
        )
    try:
        cfg = ModelConfig.from_dict(card["model_config"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"The card {card_path} holds an invalid model config: {e}") from e
    _check_digest(card, weights_path, card_path)
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as e:
        raise CheckpointError(
            f"The weights {weights_path} cannot be read ({e}): the file is truncated or corrupted. "
            f"{_remake_hint(card, card_path)}"
        ) from e
    model = build_model(cfg)
    expected = {k: list(v.shape) for k, v in model.state_dict().items()}
    got = {k: list(v.shape) for k, v in tensors.items()}
    if got != card["tensors"] or got != expected:
        diff = sorted(k for k in set(expected) | set(got) if expected.get(k) != got.get(k))[:5]
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


def committed_checkpoint(name: str) -> tuple[TransformerBridge, dict[str, Any]]:
    """A committed checkpoint by name (``"attn2l"``, ``"ioi3l"``: ``data/checkpoints/NAME``) and its
    card; missing, a ``MissingDataError`` naming the recipe that re-makes it (``helpers.recipes``)."""
    path = data_dir() / "checkpoints" / checkpoint_name(name, "name")
    if not checkpoint_exists(path):
        raise MissingDataError(
            f"No checkpoint {name!r} in {path.parent}. Re-create it with: python -m helpers.train recipe {name} "
            "(Documentation/checkpoints.md lists every recipe with its time)."
        )
    return load_checkpoint(path)


def model_summary(card: dict[str, Any]) -> str:
    """``2L d_model=128 heads=4 attn-only``: a card's model in one phrase."""
    c = card["model_config"]
    mlp = f"d_mlp={c['d_mlp']}" if c.get("d_mlp") else "attn-only"
    return f"{c['n_layers']}L d_model={c['d_model']} heads={c['n_heads']} {mlp}" + (
        " LN" if c.get("normalization_type") else ""
    )


def metrics_summary(card: dict[str, Any]) -> str:
    """A card's scalar metrics, sorted, 4 significant digits."""
    card_metrics = card.get("metrics") if isinstance(card.get("metrics"), dict) else {}
    items = sorted((k, v) for k, v in card_metrics.items() if not isinstance(v, (list, dict)))
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in items)


def describe(folder: str | Path) -> str:
    """A Markdown table of every checkpoint card in ``folder``: what it is and the command that made it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingDataError(
            f"No folder {folder}. Fix: give the folder that holds the checkpoints (default: data/checkpoints)."
        )
    rows = ["| checkpoint | model | metrics | made by |", "|---|---|---|---|"]
    for card_path in sorted(folder.glob("*.json")):
        try:
            card = read_card(card_path)
        except (CheckpointError, MissingDataError):
            continue  # other JSON files (e.g. sweep results) live here too
        notes = str(card.get("notes", "")).replace("made by: ", "").replace("|", "\\|")
        rows.append(f"| `{card_path.stem}` | {model_summary(card)} | {metrics_summary(card)} | `{notes}` |")
    if len(rows) == 2:
        raise MissingDataError(f"No checkpoint cards in {folder}. Fix: give the folder that holds the checkpoints.")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.checkpoints [folder]``: list the checkpoints and the commands that made them."""
    from helpers.errors import ArgumentParser, run_cli

    def _main(args: list[str]) -> int:
        ap = ArgumentParser(prog="python -m helpers.checkpoints", description=main.__doc__)
        ap.add_argument("folder", nargs="?", default=None, help="default: data/checkpoints")
        ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
        a = ap.parse_args(args)
        print(describe(a.folder if a.folder is not None else data_dir() / "checkpoints"))
        return 0

    return run_cli(_main, argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
