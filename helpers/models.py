"""TransformerLens models built from the course's configs (introduced in notebook 00).

Every model a learner analyses is a TransformerLens ``TransformerBridge`` booted natively
(no hub, no download), so the classic names work: ``model.W_Q``, ``model.OV``,
``blocks.0.attn.hook_pattern``, ``run_with_cache``, ``run_with_hooks``.
"""

from __future__ import annotations

import math

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.config import TransformerBridgeConfig
from transformer_lens.model_bridge import TransformerBridge

from helpers.configs import ModelConfig
from helpers.errors import ShapeError


def to_bridge_config(cfg: ModelConfig) -> TransformerBridgeConfig:
    """The TransformerLens config for a course ``ModelConfig``."""
    return TransformerBridgeConfig(
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        d_model=cfg.d_model,
        n_layers=cfg.n_layers,
        n_heads=cfg.n_heads,
        d_head=cfg.d_head,
        d_mlp=cfg.d_mlp if cfg.d_mlp is not None else 4 * cfg.d_model,
        attn_only=cfg.attn_only,
        act_fn=cfg.act_fn,
        normalization_type=cfg.normalization_type,
        positional_embedding_type="standard",
        seed=cfg.seed,
        # TL's GPT-2 init scales residual writes by 1/sqrt(2 n_layers), which is undefined for
        # the 0-layer model; we initialise that one ourselves (same std, no residual writes).
        init_weights=cfg.n_layers > 0,
    )


def build_model(cfg: ModelConfig, device: torch.device | str | None = None) -> TransformerBridge:
    """A freshly initialised TransformerLens model for ``cfg`` (seeded by ``cfg.seed``).

    The config is kept on the model as ``model.course_config`` so checkpoints can record it.
    """
    model = TransformerBridge.boot_native(to_bridge_config(cfg))
    if cfg.n_layers == 0:
        gen = torch.Generator().manual_seed(cfg.seed)
        std = 0.8 / math.sqrt(cfg.d_model)  # TL's gpt2 init range for small models
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("bias") or name.endswith("b"):
                    p.zero_()
                elif p.dim() >= 2:
                    p.copy_(torch.randn(p.shape, generator=gen) * std)
    model.course_config = cfg
    if device is not None:
        model = model.to(device)
    return model


def config_of(model: TransformerBridge) -> ModelConfig:
    """The course config a model was built from."""
    cfg = getattr(model, "course_config", None)
    if not isinstance(cfg, ModelConfig):
        raise TypeError(
            "This model has no course config. Build it with helpers.models.build_model(cfg) "
            "or load it with helpers.checkpoints.load_checkpoint(path)."
        )
    return cfg


def check_tokens(tokens: Tensor, cfg: ModelConfig) -> Int[Tensor, "batch pos"]:
    """Validate a batch of token ids for ``cfg``: 2-D, integer, in range, no longer than n_ctx."""
    if tokens.dim() == 1:
        tokens = tokens.unsqueeze(0)
    if tokens.dim() != 2:
        raise ShapeError(f"tokens must have shape [batch, pos], got {tuple(tokens.shape)}.")
    if tokens.dtype not in (torch.int64, torch.int32):
        raise ShapeError(f"tokens must be integer ids, got dtype {tokens.dtype}. Did you pass embeddings?")
    if tokens.shape[1] > cfg.n_ctx:
        raise ShapeError(
            f"sequence length {tokens.shape[1]} is longer than the model's n_ctx={cfg.n_ctx}. "
            "Fix: truncate the tokens (tokens[:, :n_ctx]) or build a model with a larger n_ctx."
        )
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= cfg.d_vocab):
        raise ShapeError(
            f"token ids must lie in [0, {cfg.d_vocab}), got range [{int(tokens.min())}, {int(tokens.max())}]. "
            "Fix: use the tokenizer the model was trained with."
        )
    return tokens


def n_params(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def logits(model: TransformerBridge, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_vocab"]:
    """Run the model on validated tokens and return its logits."""
    return model(check_tokens(tokens, config_of(model)))
