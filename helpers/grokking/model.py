"""``FastGrokModel``: the 1-layer grokking transformer computed only where the loss reads it.

See the package docstring (``helpers.grokking``) for how it regroups the computation; the
TransformerLens model (``to_tl``) is what the notebooks analyse.
"""

from __future__ import annotations

import math
import weakref
from typing import no_type_check

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from helpers.configs import ModelConfig
from helpers.errors import ConfigError, ShapeError

# TransformerLens state-dict names of the 1-layer model, and the FastGrokModel attribute for each.
TL_NAMES = {
    "embed.weight": "W_E",
    "pos_embed.weight": "W_pos",
    "blocks.0.attn.q.weight": "W_Q",
    "blocks.0.attn.q.bias": "b_Q",
    "blocks.0.attn.k.weight": "W_K",
    "blocks.0.attn.k.bias": "b_K",
    "blocks.0.attn.v.weight": "W_V",
    "blocks.0.attn.v.bias": "b_V",
    "blocks.0.attn.o.weight": "W_O",
    "blocks.0.attn.o.bias": "b_O",
    "blocks.0.mlp.in.weight": "W_in",
    "blocks.0.mlp.in.bias": "b_in",
    "blocks.0.mlp.out.weight": "W_out",
    "blocks.0.mlp.out.bias": "b_out",
    "unembed.weight": "W_U",
    "unembed.bias": "b_U",
}


class FastGrokModel(torch.nn.Module):
    """The 1-layer grokking transformer, computed only at the last position.

    Weights are stored in ``torch.nn.Linear`` layout (``[out, in]``), as in the TransformerLens
    state dict. ``b_U`` is a buffer: TransformerLens does not train the unembedding bias either.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.n_layers != 1 or cfg.d_mlp is None or cfg.normalization_type is not None or cfg.act_fn != "relu":
            raise ConfigError(
                "FastGrokModel is the grokking model only: n_layers=1, an MLP, act_fn='relu', no LayerNorm. "
                "Fix: build the config with GrokConfig(...).model_config()."
            )
        self.cfg = cfg
        d, v, m = cfg.d_model, cfg.d_vocab, cfg.d_mlp
        shapes = {
            "W_E": (v, d), "W_pos": (cfg.n_ctx, d),
            "W_Q": (d, d), "b_Q": (d,), "W_K": (d, d), "b_K": (d,), "W_V": (d, d), "b_V": (d,),
            "W_O": (d, d), "b_O": (d,), "W_in": (m, d), "b_in": (m,), "W_out": (d, m), "b_out": (d,),
            "W_U": (v, d),
        }  # fmt: skip
        for name, shape in shapes.items():
            setattr(self, name, torch.nn.Parameter(torch.zeros(shape)))
        self.register_buffer("b_U", torch.zeros(v))

    @classmethod
    def from_tl(cls, model: torch.nn.Module) -> "FastGrokModel":
        """A fast copy of a TransformerLens grokking model (same weights)."""
        from helpers.models import config_of

        fast = cls(config_of(model))
        fast.load_tl_state_dict(model.state_dict())
        return fast

    def load_tl_state_dict(self, sd: dict[str, Tensor]) -> None:
        missing = sorted(set(TL_NAMES) - set(sd))
        if missing:
            raise ShapeError(f"The state dict lacks {missing}; is it from a 1-layer grokking model?")
        with torch.no_grad():
            for tl_name, name in TL_NAMES.items():
                getattr(self, name).copy_(sd[tl_name].float())

    def tl_state_dict(self) -> dict[str, Tensor]:
        """The weights under TransformerLens's names (load with ``model.load_state_dict``)."""
        return {tl_name: getattr(self, name).detach().clone() for tl_name, name in TL_NAMES.items()}

    def to_tl(self) -> torch.nn.Module:
        """A TransformerLens model with these weights (for analysis with hooks and caches)."""
        from helpers.models import build_model

        model = build_model(self.cfg)
        model.load_state_dict(self.tl_state_dict())
        return model

    def _pairs(self, tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Distinct (position, token) pairs, each example's pair ids, and its 13 table rows.

        Full-batch training passes the same tokens every step, so the result is kept for the
        last tokens tensor seen (a weak reference plus its version counter: a new or modified
        tensor is recomputed)."""
        cached = getattr(self, "_pairs_cache", None)
        if cached is not None and cached[0]() is tokens and cached[1] == tokens._version:
            return cached[2]
        cfg, H = self.cfg, self.cfg.n_heads
        uniq, inv = torch.unique(tokens + torch.arange(cfg.n_ctx) * cfg.d_vocab, return_inverse=True)
        # Rows of the table in step 3: (pair, head) for each key position, then the query's base row.
        rows = torch.cat([(inv.unsqueeze(-1) * H + torch.arange(H)).flatten(1), len(uniq) * H + inv[:, -1:]], 1)
        self._pairs_cache = (weakref.ref(tokens), tokens._version, (uniq, inv, rows))
        return uniq, inv, rows

    @no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
    def forward(self, tokens: Int[Tensor, "batch 3"]) -> Float[Tensor, "batch d_vocab"]:
        """Logits at the last position (what the TL model gives at ``[:, -1]``).

        The same function as the TL model, regrouped so that the big matrix products act on
        small per-(position, token) tables instead of on every example (see the module doc).
        """
        cfg = self.cfg
        if tokens.dim() != 2 or tokens.shape[1] != cfg.n_ctx:
            raise ShapeError(f"tokens must have shape [batch, {cfg.n_ctx}], got {tuple(tokens.shape)}.")
        H, dh, v, m = cfg.n_heads, cfg.d_head, cfg.d_vocab, cfg.d_mlp
        # Each example is 3 (position, token) pairs, and only a few hundred distinct pairs occur
        # in a batch: compute everything per distinct pair, then look it up per example
        # (F.embedding's backward is much faster on a CPU than advanced indexing's).
        uniq, inv, rows = self._pairs(tokens)
        x = F.embedding(uniq % v, self.W_E) + F.embedding(uniq // v, self.W_pos)  # [pair, d_model]
        last = inv[:, -1]  # the query position's pair, per example

        # 1. Attention pattern of the last position (it attends to all positions: the causal mask
        #    hides nothing from it). Scores for every (query pair, key pair, head) form a small
        #    table; each example looks up its 3 scores.
        n_pair = uniq.shape[0]
        q = F.linear(x, self.W_Q, self.b_Q).view(n_pair, H, dh)
        k = F.linear(x, self.W_K, self.b_K).view(n_pair, H, dh)
        score_tab = torch.einsum("qha,kha->qkh", q, k) / math.sqrt(dh)  # [pair, pair, head]
        scores = F.embedding(last.unsqueeze(1) * n_pair + inv, score_tab.reshape(n_pair * n_pair, H))
        pattern = scores.softmax(dim=1)  # [batch, key_pos, head]

        # 2. What each (pair, head) writes, already multiplied by everything linear that reads the
        #    residual stream: W_in (the MLP's input) and W_U (the direct path to the logits).
        W_read = torch.cat([self.W_in, self.W_U])  # [d_mlp + d_vocab, d_model]
        v_pair = F.linear(x, self.W_V, self.b_V).view(-1, H, dh)
        ov = torch.einsum("tha,dha->thd", v_pair, self.W_O.view(-1, H, dh))  # [pair, head, d_model]
        read_tab = F.linear(ov, W_read)  # [pair, head, d_mlp + d_vocab]
        # The query position's own residual (embedding + b_O), read the same way, plus the biases.
        base = F.linear(x + self.b_O, W_read, torch.cat([self.b_in, self.b_U]))  # [pair, d_mlp + d_vocab]

        # 3. Per example: its base row plus the pattern-weighted sum of 12 table rows (3 key
        #    positions x 4 heads). embedding_bag with per-example weights does this gather-and-sum
        #    without materialising the rows; the base row rides along with weight 1.
        weights = torch.cat([pattern.flatten(1), torch.ones_like(pattern[:, :1, 0])], 1)
        table = torch.cat([read_tab.view(-1, m + v), base])  # [pair*head + pair, d_mlp + d_vocab]
        read = F.embedding_bag(rows, table, per_sample_weights=weights, mode="sum")
        pre, direct = read[:, :m], read[:, m:]  # MLP pre-activation; residual stream @ W_U^T (+ b_U)

        # 4. MLP output straight to the logits: W_U @ W_out is only [d_vocab, d_mlp].
        return direct + F.linear(F.relu(pre), self.W_U @ self.W_out, self.W_U @ self.b_out)


def weight_norm(model: torch.nn.Module) -> float:
    """The total L2 norm of all trainable weights (weight decay shrinks it during cleanup)."""
    return float(torch.sqrt(sum((p.detach().float() ** 2).sum() for p in model.parameters())))


def all_pairs(p: int) -> Int[Tensor, "n_pairs 3"]:
    """Every input ``[a, b, =]`` in grid order (row ``a * p + b``)."""
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    return torch.stack([a, b, torch.full_like(a, p)], dim=1)


def grid_logits(model: torch.nn.Module, p: int) -> Float[Tensor, "p p d_vocab"]:
    """The last-position logits for every ``(a, b)``, as a grid ``[a, b, c]``.

    Works for a ``FastGrokModel`` or a TransformerLens model.
    """
    with torch.no_grad():
        out = model(all_pairs(p))
        if out.dim() == 3:  # a TransformerLens model returns every position
            out = out[:, -1]
    return out.reshape(p, p, -1)
