"""A small local hyperparameter sweep for the sentiment classifier (introduced in notebook 05).

``run_sweep`` trains one classifier per point of a grid (d_model, n_heads, n_layers, lr) and
returns one row of results each. ``parallel_coordinates`` draws them with plotly and
``results_table`` prints them. Logging to Weights & Biases happens only when you ask for it
(``use_wandb=True``); ``wandb`` is never imported otherwise, so the sweep runs offline.

The notebook's sweep is precomputed (a few CPU-minutes) and committed as JSON:

    python -m helpers.sweep --out data/sweeps/05_sentiment_sweep.json
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers.errors import ConfigError, MissingDataError

PARAMS = ("d_model", "n_heads", "n_layers", "lr")


@dataclass(frozen=True)
class SweepConfig:
    """The grid: every combination of these values is one run."""

    d_model: tuple[int, ...] = (16, 64)
    n_heads: tuple[int, ...] = (1, 4)
    n_layers: tuple[int, ...] = (1, 2)
    lr: tuple[float, ...] = (1e-3, 3e-3)
    n_steps: int = 400
    tokenizer: str = "gpt2"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in PARAMS:
            if not getattr(self, name):
                raise ConfigError(f"SweepConfig.{name} needs at least one value.")
        bad = [(d, h) for d in self.d_model for h in self.n_heads if d % h]
        if bad:
            raise ConfigError(f"every d_model must be a multiple of every n_heads; these are not: {bad}.")

    def points(self) -> list[dict[str, float]]:
        return [dict(zip(PARAMS, p)) for p in itertools.product(*(getattr(self, n) for n in PARAMS))]


def run_sweep(cfg: SweepConfig, enc, use_wandb: bool = False, project: str = "mechinterp-course") -> list[dict]:
    """Train one classifier per grid point on ``enc`` (a ``sentiment.Encoded``); one result row each."""
    from helpers.sentiment import train_classifier

    rows = []
    for point in cfg.points():
        run = None
        if use_wandb:  # only now: the course never needs wandb, and it may be offline
            import wandb

            run = wandb.init(project=project, config={**point, "n_steps": cfg.n_steps, "seed": cfg.seed}, reinit=True)
        _, info = train_classifier(
            enc,
            d_model=int(point["d_model"]),
            n_heads=int(point["n_heads"]),
            n_layers=int(point["n_layers"]),
            lr=float(point["lr"]),
            n_steps=cfg.n_steps,
            seed=cfg.seed,
        )
        row = {**point, **{k: round(float(v), 4) for k, v in info.items()}}
        rows.append(row)
        if run is not None:
            run.log(row)
            run.finish()
    return rows


def best(rows: Sequence[dict], metric: str = "val_acc") -> dict:
    """The row with the highest ``metric``."""
    if not rows:
        raise ConfigError("best() needs at least one result row.")
    return max(rows, key=lambda r: r[metric])


def results_table(rows: Sequence[dict], columns: Sequence[str] = (*PARAMS, "val_acc", "train_acc", "seconds")) -> str:
    """A fixed-width text table of the rows, best validation accuracy first."""
    ordered = sorted(rows, key=lambda r: -r.get("val_acc", 0))
    lines = ["  ".join(f"{c:>9}" for c in columns)]
    lines += ["  ".join(f"{r[c]:>9.4g}" if isinstance(r[c], float) else f"{r[c]:>9}" for c in columns) for r in ordered]
    return "\n".join(lines)


def parallel_coordinates(rows: Sequence[dict], color: str = "val_acc", title: str = "sweep"):
    """A plotly parallel-coordinates plot: one line per run, coloured by ``color``."""
    import math

    import plotly.graph_objects as go

    dims = []
    for p in PARAMS:
        raw = [r[p] for r in rows]
        values = [math.log10(v) for v in raw] if p == "lr" else raw
        dim = dict(label="lr (log axis)" if p == "lr" else p, values=values)
        if len(set(raw)) <= 6:  # a setting, not a measurement: ticks only at the values tried
            ticks = sorted(set(zip(values, raw)))
            dim |= dict(tickvals=[v for v, _ in ticks], ticktext=[f"{r:g}" for _, r in ticks])
        dims.append(dim)
    dims.append(dict(label=color, values=[r[color] for r in rows]))
    fig = go.Figure(
        go.Parcoords(line=dict(color=[r[color] for r in rows], colorscale="Viridis", showscale=True), dimensions=dims)
    )
    # the axis names sit above the plot: the title goes higher, with room for both
    fig.update_layout(title=dict(text=title, y=0.98), height=400, margin=dict(l=60, r=40, t=100, b=30))
    return fig


def save(rows: Sequence[dict], cfg: SweepConfig, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(
        json.dumps(
            {
                "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()},
                "rows": list(rows),
            },
            indent=1,
        )
    )


def load(path: str | Path) -> tuple[SweepConfig, list[dict]]:
    if not Path(path).exists():
        raise MissingDataError(f"No sweep results at {path}; make them with `python -m helpers.sweep --out {path}`.")
    d = json.loads(Path(path).read_text())
    cfg = SweepConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in d["config"].items()})
    return cfg, d["rows"]


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.sweep``: run the notebook-05 sweep on Rotten Tomatoes, save JSON."""
    from helpers.errors import run_cli

    return run_cli(_main, argv)


def _main(argv: list[str]) -> int:
    from helpers.errors import ArgumentParser
    from helpers.paths import data_dir, writable_dir, writable_file
    from helpers.sentiment import encode_reviews, load_reviews

    ap = ArgumentParser(prog="python -m helpers.sweep", description=main.__doc__)
    ap.add_argument("--out", default=str(data_dir() / "sweeps" / "05_sentiment_sweep.json"))
    ap.add_argument("--wandb", action="store_true", help="also log each run to Weights & Biases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = ap.parse_args(argv)
    writable_dir(Path(args.out).parent, "--out")
    writable_file(args.out, "--out")  # now, not after minutes of training
    cfg = SweepConfig(seed=args.seed)
    enc = encode_reviews(load_reviews(seed=args.seed), cfg.tokenizer, quantile=0.8)
    rows = run_sweep(cfg, enc, use_wandb=args.wandb)
    save(rows, cfg, args.out)
    print(results_table(rows))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
