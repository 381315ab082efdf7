"""Steps to grok over a weight-decay x training-fraction grid, and Grokfast vs plain AdamW (notebook 07).

    PYTHONPATH=. python benchmarks/grokking_sweep.py --prime 59 --seeds 0 1 --weight-decays 0.3 1.0 3.0 \
        --train-fracs 0.3 0.45 0.6 --max-steps 2000 --out data/grokking_sweep_p59.json

Each cell trains the fast model (helpers.grokking) until test accuracy reaches 99% or the step
cap; "steps to grok" is that step (None when it never got there). The JSON holds the config of
every run and its result, so notebook 07 can plot it and re-run one cell live to check it agrees.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch

from helpers.grokking import GrokConfig, train_grokking


def run_cell(**kw) -> dict:
    cfg = GrokConfig(stop_at_test_acc=0.99, **kw)
    _, h = train_grokking(cfg)
    return {"config": cfg.to_dict(), "steps_to_grok": h.first_step("test_acc", 0.99),
            "steps_to_memorise": h.first_step("train_acc", 1.0), "seconds": round(h.seconds, 1),
            "ms_per_step": round(h.ms_per_step, 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prime", type=int, default=59)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decays", type=float, nargs="+", default=[0.1, 0.3, 1.0, 3.0])
    ap.add_argument("--train-fracs", type=float, nargs="+", default=[0.3, 0.4, 0.5, 0.6])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--max-steps", type=int, default=3000)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--grokfast-alpha", type=float, default=0.98)
    ap.add_argument("--grokfast-lambda", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = dict(p=args.prime, lr=args.lr, n_steps=args.max_steps, eval_every=args.eval_every)
    grid, grokfast = [], []
    t0 = time.perf_counter()
    for seed, wd, frac in itertools.product(args.seeds, args.weight_decays, args.train_fracs):
        r = run_cell(**base, weight_decay=wd, train_frac=frac, seed=seed)
        grid.append(r)
        print(f"seed {seed} wd {wd} frac {frac}: grok at {r['steps_to_grok']} ({r['seconds']} s)", flush=True)
    mid_frac = args.train_fracs[len(args.train_fracs) // 2]
    for seed, wd in itertools.product(args.seeds, args.weight_decays):
        for alpha in (None, args.grokfast_alpha):
            r = run_cell(**base, weight_decay=wd, train_frac=mid_frac, seed=seed,
                         grokfast_alpha=alpha, grokfast_lambda=args.grokfast_lambda)  # fmt: skip
            grokfast.append(r)
            print(f"seed {seed} wd {wd} grokfast {alpha}: grok at {r['steps_to_grok']}", flush=True)
    record = {"command": "python benchmarks/grokking_sweep.py " + " ".join(sys.argv[1:]),
              "grid": grid, "grokfast": grokfast, "total_seconds": round(time.perf_counter() - t0, 1),
              "threads": torch.get_num_threads()}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
