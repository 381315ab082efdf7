"""A grokking run on disk: OUT/metrics.json (the record), OUT/step_NNNNNN.{safetensors,json}
(snapshots), OUT/resume.safetensors (weights, AdamW moments and Grokfast EMA in fp32, for --resume).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from helpers.errors import CheckpointError, ConfigError, MissingDataError
from helpers.grokking.config import GrokConfig
from helpers.grokking.model import FastGrokModel
from helpers.grokking.trainer import GrokHistory, GrokState, _optimizer

RESUME_FILE = "resume.safetensors"
RESUME_FORMAT = "mechinterp-course-grok-resume/1"


def _state_tensors(state: GrokState) -> dict[str, Tensor]:
    """A state as flat fp32 tensors for safetensors (never pickle): model, AdamW per parameter, EMA."""
    out = {f"model.{k}": v.detach().clone() for k, v in state.model.state_dict().items()}
    params = [p for p in state.model.parameters() if p.requires_grad]
    for i, p in enumerate(params):
        for k, v in state.optimizer.state.get(p, {}).items():
            out[f"adamw.{i}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(float(v))).detach().clone()
    for i, e in enumerate(state.ema or []):
        out[f"ema.{i}"] = e.detach().clone()
    return out


def save_state(out: Path, state: GrokState, cfg: GrokConfig) -> None:
    """Write ``out/resume.safetensors`` atomically: everything ``load_state`` needs to continue exactly."""
    from safetensors.torch import save_file

    from helpers.checkpoints import write_atomic

    meta = {
        "format": RESUME_FORMAT, "config": json.dumps(cfg.to_dict()), "next_step": str(state.next_step),
        "finished": str(state.finished), "history": json.dumps(state.history.to_dict(), allow_nan=False),
    }  # fmt: skip
    tensors = _state_tensors(state)
    write_atomic(out / RESUME_FILE, lambda p: save_file(tensors, str(p), metadata=meta))


def load_state(out: Path, cfg: GrokConfig) -> GrokState:
    """The state saved by ``save_state`` for this config, ready for ``train_grokking(resume=...)``."""
    from safetensors import safe_open

    path = out / RESUME_FILE
    if not path.exists():
        raise MissingDataError(
            f"--resume: {out} has no {RESUME_FILE} (the run stopped before its first save). "
            "Fix: start it again with --force instead of --resume."
        )
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # SafetensorError: truncated or not safetensors
        raise CheckpointError(
            f"{path} cannot be read ({e}): it is truncated or corrupted. Fix: start the run again with --force."
        ) from e
    if meta.get("format") != RESUME_FORMAT or json.loads(meta.get("config", "null")) != cfg.to_dict():
        raise CheckpointError(
            f"{path} is not the resume state of this run's config. Fix: start the run again with --force."
        )
    model = FastGrokModel(cfg.model_config())
    model.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
    opt, ema = _optimizer(cfg, model)
    params = [p for p in model.parameters() if p.requires_grad]
    for i, p in enumerate(params):
        st = {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"adamw.{i}.")}
        if st:
            opt.state[p].update(st)
    for i, e in enumerate(ema or []):
        e.copy_(tensors[f"ema.{i}"])
    hist = GrokHistory.from_dict(json.loads(meta["history"]))
    return GrokState(int(meta["next_step"]), model, opt, ema, hist, meta.get("finished") == "True")


def _write_record(
    out: Path, cfg: GrokConfig, hist: GrokHistory, command: str, fp16: bool, status: str, next_step: int
) -> None:
    """``out/metrics.json`` (strict JSON, written atomically): config, command, status, curves."""
    from helpers.checkpoints import write_atomic

    snapshot_steps = [
        s for s in hist.steps if cfg.snapshot_every is not None and s % cfg.snapshot_every == 0 and s < next_step
    ]
    record = {"config": cfg.to_dict(), "command": command, "snapshot_steps": snapshot_steps}
    record["metrics"] = hist.to_dict()
    record.update(status=status, next_step=next_step, fp16=fp16)
    text = json.dumps(record, allow_nan=False) + "\n"
    write_atomic(out / "metrics.json", lambda p: p.write_text(text))


def _save_snapshot(out: Path, cfg: GrokConfig, step: int, sd: dict[str, Tensor], fp16: bool, command: str) -> None:
    from helpers.checkpoints import save_checkpoint
    from helpers.models import build_model

    sd = {k: (v.half() if fp16 else v) for k, v in sd.items()}
    save_checkpoint(
        build_model(cfg.model_config()), out / f"step_{step:06d}", state_dict=sd,
        metrics={"step": step, "grok_config": cfg.to_dict()},
        notes=f"Snapshot at step {step}. Reproduce: {command}",
    )  # fmt: skip


def save_run(out: Path, cfg: GrokConfig, hist: GrokHistory, fp16: bool = False, command: str = "") -> None:
    """Write ``out/metrics.json`` (config + curves) and one safetensors checkpoint per snapshot."""
    out.mkdir(parents=True, exist_ok=True)
    for step, sd in hist.snapshots:
        _save_snapshot(out, cfg, step, sd, fp16, command)
    _write_record(out, cfg, hist, command, fp16, "finished", hist.n_steps_run + 1)


def _read_record(out: Path) -> dict[str, Any]:
    path = Path(out) / "metrics.json"
    if not path.exists():
        raise MissingDataError(f"No grokking run at {path}. Make it with: python -m helpers.train grokking --out {out}")
    try:
        record = json.loads(path.read_text())
        GrokConfig.from_dict(record["config"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ConfigError) as e:
        raise CheckpointError(
            f"{path} is not a grokking run record ({type(e).__name__}: {e}): it is truncated or corrupted. "
            f"Re-create the run with: python -m helpers.train grokking ... --out {out} --force"
        ) from e
    return record


def load_run(out: str | Path) -> tuple[GrokConfig, GrokHistory, list[int]]:
    """Read a run written by the CLI: its config, history (no snapshots) and snapshot steps."""
    record = _read_record(Path(out))
    return GrokConfig.from_dict(record["config"]), GrokHistory.from_dict(record["metrics"]), record["snapshot_steps"]


def load_snapshot(out: str | Path, step: int) -> torch.nn.Module:
    """The TransformerLens model of a CLI run's snapshot at ``step`` (fp32).

    The snapshot must belong to the run in ``out/metrics.json`` (same config, a listed step), so
    a folder holding pieces of two runs fails here instead of mixing them.
    """
    from helpers.checkpoints import load_checkpoint

    path = Path(out) / f"step_{step:06d}"
    model, card = load_checkpoint(path)
    if (Path(out) / "metrics.json").exists():
        record = _read_record(Path(out))
        if card.get("metrics", {}).get("grok_config") != record["config"] or step not in record["snapshot_steps"]:
            raise CheckpointError(
                f"The snapshot {path}.safetensors is not from the run in {Path(out) / 'metrics.json'} (another config, or a "
                f"step it does not list). Re-create the run with: {record.get('command') or 'python -m helpers.train grokking'} --force"
            )
    return model.float()
