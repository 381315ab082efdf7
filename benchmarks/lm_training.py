"""Time one training step of the course's language model against a plain-PyTorch model of the same shape.

    PYTHONPATH=. python benchmarks/lm_training.py [--steps 20] [--rounds 5] [--threads 2]

The course's step is what ``python -m helpers.train lm`` runs for ``attn2l``: a TransformerLens
bridge model (2 attention-only layers, 4 heads, d_model 128, n_ctx 128, vocabulary 2048), the
next-token loss, AdamW and gradient clipping at 1.0, on batches of 32 corpus-shaped rows. The
baseline is the same computation written in plain PyTorch (fused QKV, causal softmax, no hooks).
The two are timed in alternating rounds and the median of each is reported, so a neighbour's
load drifting during the run affects both alike. Check the load first (`uptime`, below ~0.5).
"""

from __future__ import annotations

import argparse
import statistics

import torch
import torch.nn.functional as F
from timing import time_steps  # benchmarks/timing.py
from torch import nn

from helpers.configs import ModelConfig
from helpers.models import build_model
from helpers.training import lm_loss


class PlainAttnOnly(nn.Module):
    """The same shape as the course's attention-only model, in plain PyTorch."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.d_vocab, cfg.d_model)
        self.pos = nn.Embedding(cfg.n_ctx, cfg.d_model)
        self.qkv = nn.ModuleList(nn.Linear(cfg.d_model, 3 * cfg.n_heads * cfg.d_head) for _ in range(cfg.n_layers))
        self.out = nn.ModuleList(nn.Linear(cfg.n_heads * cfg.d_head, cfg.d_model) for _ in range(cfg.n_layers))
        self.unembed = nn.Linear(cfg.d_model, cfg.d_vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, n = tokens.shape
        h, d = self.cfg.n_heads, self.cfg.d_head
        x = self.embed(tokens) + self.pos(torch.arange(n))
        for qkv, out in zip(self.qkv, self.out):
            q, k, v = qkv(x).view(b, n, 3, h, d).permute(2, 0, 3, 1, 4)  # each [b, h, n, d]
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + out(z.transpose(1, 2).reshape(b, n, h * d))
        return self.unembed(x)


def make_step(model: nn.Module, batches: torch.Tensor, loss_fn):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    i = 0

    def step() -> None:
        nonlocal i
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model, (batches[i % len(batches)],))  # a batch is a tuple of tensors, as in training.train
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        i += 1

    return step


def plain_loss(model: nn.Module, batch: tuple[torch.Tensor]) -> torch.Tensor:
    (tokens,) = batch
    logits = model(tokens)
    return F.cross_entropy(logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = ModelConfig(d_vocab=2048, n_ctx=128, d_model=128, n_layers=2, n_heads=4, d_head=32, seed=0)
    batches = torch.randint(0, cfg.d_vocab, (8, 32, cfg.n_ctx), generator=torch.Generator().manual_seed(0))
    course = make_step(build_model(cfg), batches, lm_loss)
    plain = make_step(PlainAttnOnly(cfg), batches, plain_loss)
    times: dict[str, list[float]] = {"course": [], "plain": []}
    for r in range(args.rounds):
        times["course"].append(time_steps(course, args.steps))
        times["plain"].append(time_steps(plain, args.steps))
        print(
            f"round {r + 1}: course {times['course'][-1]:.0f} ms/step, plain PyTorch {times['plain'][-1]:.0f} ms/step"
        )
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = [c / p for c, p in zip(times["course"], times["plain"])]
    print(
        f"median over {args.rounds} rounds of {args.steps} steps, {args.threads} threads: course {med['course']:.0f} "
        f"ms/step, plain PyTorch {med['plain']:.0f} ms/step: the course's step costs {med['course'] / med['plain']:.2f}x "
        f"(rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
    )


if __name__ == "__main__":
    main()
