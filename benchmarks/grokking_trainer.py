"""Time one full-batch training step of the grokking model: TransformerLens vs the fast trainer.

    PYTHONPATH=. python benchmarks/grokking_trainer.py [--steps 20] [--rounds 3] [--threads 2]

Both train the same model (p = 113, 30% of pairs, AdamW lr 1e-3, wd 1.0) from the same weights;
the script also checks that their logits agree before timing. The two are timed in alternating
rounds and the median of each is reported, so a neighbour's load drifting during the run
affects both alike.
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from timing import time_steps  # benchmarks/timing.py

from helpers.grokking import FastGrokModel, GrokConfig
from helpers.models import build_model
from helpers.tasks import modular_arithmetic


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = GrokConfig()
    data = modular_arithmetic(cfg.p, cfg.op, cfg.train_frac, cfg.seed)
    x, y = data.train_tokens, data.train_labels

    tl = build_model(cfg.model_config())
    fast = FastGrokModel.from_tl(tl)
    with torch.no_grad():
        diff = (tl(x)[:, -1] - fast(x)).abs().max().item()

    tl_opt = torch.optim.AdamW(tl.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
    fast_opt = torch.optim.AdamW(
        fast.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, fused=True
    )

    # Both compute the loss as train_grokking does (float64 by default, as in the paper).
    loss_dtype = getattr(torch, cfg.loss_dtype)

    def tl_step() -> None:
        loss = F.cross_entropy(tl(x)[:, -1].to(loss_dtype), y)
        tl_opt.zero_grad(set_to_none=True)
        loss.backward()
        tl_opt.step()

    def fast_step() -> None:
        loss = F.cross_entropy(fast(x).to(loss_dtype), y)
        fast_opt.zero_grad(set_to_none=True)
        loss.backward()
        fast_opt.step()

    tl_times, fast_times = [], []
    for _ in range(args.rounds):
        tl_times.append(time_steps(tl_step, args.steps))
        fast_times.append(time_steps(fast_step, args.steps))
    tl_ms, fast_ms = statistics.median(tl_times), statistics.median(fast_times)
    ratios = sorted(t / f for t, f in zip(tl_times, fast_times))
    print(f"p={cfg.p}, {x.shape[0]} training pairs, {torch.get_num_threads()} threads, max |logit diff| {diff:.1e}")
    print(f"TransformerLens model: {tl_ms:7.1f} ms/step")
    print(f"fast trainer:          {fast_ms:7.1f} ms/step  ({tl_ms / fast_ms:.1f}x faster)")
    print(
        f"speed-up per round:    {', '.join(f'{r:.1f}x' for r in ratios)} ({args.rounds} rounds of {args.steps} steps)"
    )


if __name__ == "__main__":
    main()
