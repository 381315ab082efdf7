"""``python -m helpers.train grokking``: train with the fast trainer, saving as it goes, resumable."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

from helpers.cli import MISSING, Flags, RunOptions, add_config_flags, option, values
from helpers.errors import (
    ArgumentParser,
    ConfigError,
    DivergedError,
    MissingDataError,
    OutputExistsError,
    run_cli,
    with_flags,
)
from helpers.grokking.config import GrokConfig
from helpers.grokking.model import FastGrokModel
from helpers.grokking.runs import RESUME_FILE, _read_record, _save_snapshot, _write_record, load_state, save_state
from helpers.grokking.trainer import GrokHistory, GrokState, train_grokking


@dataclass(frozen=True)
class GrokRunOptions:
    """The grokking command's own flags (the run's settings are ``GrokConfig``'s fields)."""

    out: Path = option(MISSING, "output folder for snapshots and metrics.json")
    fp16: bool = option(False, "store snapshots in float16 (half the size)")
    resume: bool = option(False, "continue the run in --out from its last save (same flags as it was made with)")
    beta2: float | None = option(None, "AdamW's second beta alone (kept for older commands; --betas sets both)")


def _parser() -> tuple[argparse.ArgumentParser, Flags]:
    ap = ArgumentParser(
        prog="python -m helpers.train grokking",
        description="Train the 1-layer modular-arithmetic transformer (Nanda et al. 2023) with the fast trainer.",
    )
    flags = add_config_flags(ap, GrokConfig)
    add_config_flags(ap, GrokRunOptions, flags=flags)
    add_config_flags(ap, RunOptions, flags=flags)
    return ap, flags


class _StopOnCtrlC:
    """The first Ctrl-C asks the trainer to stop before its next step, where it saves; a second stops at once."""

    def __enter__(self) -> "_StopOnCtrlC":
        self.requested = False
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Ctrl-C keeps its default meaning
            self.previous = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: saving the run at the next step (press Ctrl-C again to stop at once) ...",
            file=sys.stderr,
            flush=True,
        )

    def __call__(self) -> bool:
        return self.requested

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


RUN_FILES = ("metrics.json", RESUME_FILE, "step_*.safetensors", "step_*.json")


def _prepare_out(out: Path, force: bool, resume: bool) -> None:
    """Check ``--out`` before training: writable, and holding no run unless --force or --resume say what to do."""
    from helpers.paths import writable_dir

    writable_dir(out, "--out")
    existing = [p for pattern in RUN_FILES for p in sorted(out.glob(pattern))]
    if resume:
        if not (out / "metrics.json").exists():
            raise MissingDataError(
                f"--resume: there is no run in {out} to continue (no metrics.json). Fix: drop --resume."
            )
        return
    if existing and not force:
        raise OutputExistsError(
            f"--out {out} already holds a run ({existing[0].name}); it is never overwritten silently. "
            "Fix: add --resume to continue it, --force to replace it, or choose another --out."
        )
    for p in existing:  # --force: an old run's files must not pass for this run's
        p.unlink()


def _config_from_args(args: argparse.Namespace, flags: dict[str, str]) -> GrokConfig:
    for name in ("threads", "snapshot_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(
                f"{flags[name]} must be 1 or more, got {value}. Fix: e.g. {flags[name]} 1, or leave it out."
            )
    if args.beta2 is not None:
        if not 0 <= args.beta2 < 1:
            raise ConfigError(
                f"{flags['beta2']} must be in [0, 1), got {args.beta2}. Fix: e.g. --beta2 0.98 (the paper's)."
            )
        args.betas = [args.betas[0], args.beta2]
    try:
        return GrokConfig(**values(args, GrokConfig))
    except ConfigError as e:
        raise ConfigError(with_flags(str(e), flags)) from e


def _resume_state(out: Path, cfg: GrokConfig, fp16: bool, flags: dict[str, str]) -> GrokState:
    record = _read_record(out)
    if record["config"] != cfg.to_dict() or bool(record.get("fp16", fp16)) != fp16:
        differ = sorted(k for k, v in cfg.to_dict().items() if record["config"].get(k) != v)
        raise ConfigError(
            f"--resume: the run in {out} was made with other settings ({', '.join(flags.get(k, k) for k in differ) or '--fp16'}). "
            f"Fix: repeat its command with --resume: {record.get('command', '')} --resume"
        )
    if record.get("status", "finished") == "finished":
        raise ConfigError(
            f"--resume: the run in {out} is finished ({record['metrics']['n_steps_run']} steps); nothing to continue."
        )
    state = load_state(out, cfg)
    if state.finished:
        raise ConfigError(f"--resume: the run in {out} is finished; nothing to continue.")
    return state


def cli_main(argv: list[str] | None = None) -> int:
    """``python -m helpers.train grokking``: train, saving as it goes; one line per user error."""
    return run_cli(_cli, argv)


def _cli(argv: list[str]) -> int:
    parser, all_flags = _parser()
    args = parser.parse_args(argv)
    flags = all_flags.for_errors(argv, [f.name for f in fields(GrokConfig)] + ["threads", "beta2"])
    cfg = _config_from_args(args, flags)
    out: Path = args.out
    if args.force and args.resume:
        raise ConfigError(
            "--force and --resume contradict each other. Fix: --resume to continue the run in --out, --force to replace it."
        )
    _prepare_out(out, args.force, args.resume)
    resume = _resume_state(out, cfg, args.fp16, flags) if args.resume else None
    argv_cmd = [a for a in argv if a not in ("--resume", "--force", "--debug")]
    command = "python -m helpers.train grokking " + " ".join(argv_cmd)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    def report(step: int, hist: GrokHistory, model: FastGrokModel) -> None:
        if hist.snapshots and hist.snapshots[-1][0] == step:  # written as the run goes, not at its end
            _save_snapshot(out, cfg, step, hist.snapshots.pop()[1], args.fp16, command)
        if step % (10 * cfg.eval_every) == 0:
            print(
                f"step {step:6d}  train loss {hist.train_loss[-1]:.3e} acc {hist.train_acc[-1]:.3f}  "
                f"test loss {hist.test_loss[-1]:.3e} acc {hist.test_acc[-1]:.3f}  "
                f"{hist.ms_per_step:.1f} ms/step",
                flush=True,
            )

    # What is on disk: a record always matches the last resume state (its history is a copy, as
    # the trainer keeps appending to its own).
    saved: dict[str, Any] = {"step": 0, "status": "running", "hist": GrokHistory()}

    def on_save(state: GrokState) -> None:
        save_state(out, state, cfg)
        status = "finished" if state.finished else "running"
        saved.update(step=state.next_step, status=status, hist=GrokHistory.from_dict(state.history.to_dict()))
        _write_record(out, cfg, saved["hist"], command, args.fp16, status, state.next_step)

    if resume is None:
        _write_record(out, cfg, saved["hist"], command, args.fp16, "running", 0)  # --out now holds a run
    else:
        saved.update(step=resume.next_step, hist=GrokHistory.from_dict(resume.history.to_dict()))
        print(f"resuming {out} at step {resume.next_step}", flush=True)
    try:
        with _StopOnCtrlC() as stop:
            _, hist = train_grokking(
                cfg, callback=report, resume=resume, on_save=on_save, save_every=10 * cfg.eval_every, stop=stop
            )
    except DivergedError:
        _write_record(out, cfg, saved["hist"], command, args.fp16, "diverged", saved["step"])
        raise
    except KeyboardInterrupt:
        _write_record(out, cfg, saved["hist"], command, args.fp16, "interrupted", saved["step"])
        print(
            f"interrupted: {out} holds the run up to step {saved['step']}; continue it with: {command} --resume",
            file=sys.stderr,
        )
        return 130
    if saved["status"] != "finished":
        _write_record(out, cfg, saved["hist"], command, args.fp16, "interrupted", saved["step"])
        print(
            f"stopped: {out} holds the run up to step {saved['step']}; continue it with: {command} --resume",
            file=sys.stderr,
        )
        return 130
    d = hist.to_dict()
    n_snapshots = len(json.loads((out / "metrics.json").read_text())["snapshot_steps"])
    print(
        f"done: {hist.n_steps_run} steps in {hist.seconds:.1f} s ({hist.ms_per_step:.1f} ms/step); "
        f"train acc 100% at step {d['step_train_acc_100']}, test acc 99% at step {d['step_test_acc_99']}; "
        f"wrote {out}/metrics.json and {n_snapshots} snapshot(s)."
    )
    return 0
