"""Sparse autoencoders (SAEs), written from scratch: introduced in notebook 10.

An SAE rewrites an activation ``x`` (``d_in`` numbers) as a sparse, non-negative code ``f``
over ``d_sae > d_in`` latents, and reads it back with a dictionary of unit-norm directions:

    f     = ReLU((x - b_dec) @ W_enc + b_enc)          # [batch, d_sae], mostly zeros
    x_hat = f @ W_dec + b_dec                          # W_dec: [d_sae, d_in], each row of norm 1

trained on ``||x - x_hat||^2 + l1_coeff * sum|f|``. The rows of ``W_dec`` are unit vectors
(renormalised after every step), so the L1 penalty cannot be dodged by shrinking ``f`` and
growing ``W_dec``. What the field reports, and this module measures: L0 (active latents per
token), the fraction of variance explained, dead latents, and, for a language model, the loss
with the reconstruction spliced in (through ``helpers.interventions``) against the clean loss
and against zero- and mean-ablating the activation.

SAELens is the field's library; it needs transformer-lens < 4, and the SAE is small enough to
write (Documentation/dependencies.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor, nn

from helpers import interventions, training
from helpers.errors import ConfigError


@dataclass(frozen=True)
class SAEConfig:
    """The SAE's size and its training: ``d_sae = expansion * d_in`` latents."""

    d_in: int
    expansion: int = 4
    l1_coeff: float = 1e-3
    n_steps: int = 2_000
    batch_size: int = 1_024
    lr: float = 3e-3

    def __post_init__(self) -> None:
        for name in ("d_in", "expansion", "n_steps", "batch_size"):
            if not getattr(self, name) >= 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}. Fix: e.g. {name}=4.")
        if not (self.l1_coeff >= 0 and math.isfinite(self.l1_coeff)):
            raise ConfigError(f"l1_coeff must be 0 or more, got {self.l1_coeff!r}. Fix: e.g. l1_coeff=1e-3.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be positive, got {self.lr!r}. Fix: e.g. lr=3e-3.")

    @property
    def d_sae(self) -> int:
        return self.d_in * self.expansion


def normalise_decoder(W_dec: Float[Tensor, "d_sae d_in"]) -> Float[Tensor, "d_sae d_in"]:
    """Each latent's decoder direction (a row of ``W_dec``) scaled to norm 1."""
    return W_dec / W_dec.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def encode(
    x: Float[Tensor, "batch d_in"], W_enc: Float[Tensor, "d_in d_sae"], b_enc: Float[Tensor, " d_sae"],
    b_dec: Float[Tensor, " d_in"],
) -> Float[Tensor, "batch d_sae"]:  # fmt: skip
    """``ReLU((x - b_dec) @ W_enc + b_enc)``: the sparse code (centred on the decoder's bias first)."""
    return torch.relu((x - b_dec) @ W_enc + b_enc)


def sae_forward(
    x: Float[Tensor, "batch d_in"], W_enc: Float[Tensor, "d_in d_sae"], b_enc: Float[Tensor, " d_sae"],
    W_dec: Float[Tensor, "d_sae d_in"], b_dec: Float[Tensor, " d_in"],
) -> tuple[Float[Tensor, "batch d_sae"], Float[Tensor, "batch d_in"]]:  # fmt: skip
    """The code ``f`` and the reconstruction ``x_hat = f @ W_dec + b_dec``."""
    f = encode(x, W_enc, b_enc, b_dec)
    return f, f @ W_dec + b_dec


def sae_loss(
    x: Float[Tensor, "batch d_in"], x_hat: Float[Tensor, "batch d_in"], f: Float[Tensor, "batch d_sae"], l1_coeff: float
) -> Tensor:
    """Per token, the squared error summed over ``d_in`` plus ``l1_coeff * sum|f|``; averaged over the batch."""
    return ((x - x_hat) ** 2).sum(-1).mean() + l1_coeff * f.abs().sum(-1).mean()


class SAE(nn.Module):
    """A ReLU sparse autoencoder with a unit-norm decoder (see the module's docstring)."""

    def __init__(self, cfg: SAEConfig, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.cfg = cfg
        w_dec = normalise_decoder(torch.randn(cfg.d_sae, cfg.d_in, generator=g))
        self.W_dec = nn.Parameter(w_dec)
        self.W_enc = nn.Parameter(w_dec.T.clone())  # tied at init: each latent starts reading its own direction
        self.b_enc = nn.Parameter(torch.zeros(cfg.d_sae))
        self.b_dec = nn.Parameter(torch.zeros(cfg.d_in))

    def encode(self, x: Float[Tensor, "batch d_in"]) -> Float[Tensor, "batch d_sae"]:
        return encode(x, self.W_enc, self.b_enc, self.b_dec)

    def forward(
        self, x: Float[Tensor, "batch d_in"]
    ) -> tuple[Float[Tensor, "batch d_sae"], Float[Tensor, "batch d_in"]]:
        return sae_forward(x, self.W_enc, self.b_enc, self.W_dec, self.b_dec)

    def reconstruct(self, x: Float[Tensor, "*lead d_in"]) -> Float[Tensor, "*lead d_in"]:
        """``x_hat`` for activations of any leading shape (e.g. ``[batch, pos, d_model]``)."""
        flat = x.reshape(-1, x.shape[-1])
        return self(flat)[1].reshape(x.shape)


@dataclass
class SAEHistory:
    loss: list[float]
    l0: list[float]  # mean active latents per token, per logged step


def train_sae(
    acts: Float[Tensor, "n d_in"], cfg: SAEConfig, seed: int = 0, log_every: int = 50
) -> tuple[SAE, SAEHistory]:
    """Train an SAE on rows of ``acts`` with Adam; the decoder rows are renormalised after every step.

    ``b_dec`` starts at the mean activation, so the code only has to explain deviations from it.
    ``seed`` sets the initialisation and the order of the minibatches."""
    if acts.dim() != 2 or acts.shape[1] != cfg.d_in:
        raise ConfigError(f"acts must be [n, d_in={cfg.d_in}], got {tuple(acts.shape)}. Fix: flatten to [n, d_in].")
    sae = SAE(cfg, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        sae.b_dec.copy_(acts.mean(0))
    opt = torch.optim.Adam(sae.parameters(), lr=cfg.lr)
    hist = SAEHistory([], [])
    for step in range(cfg.n_steps):
        x = acts[torch.randint(0, acts.shape[0], (cfg.batch_size,), generator=g)]
        f, x_hat = sae(x)
        loss = sae_loss(x, x_hat, f, cfg.l1_coeff)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            sae.W_dec.copy_(normalise_decoder(sae.W_dec))
        if step % log_every == 0 or step == cfg.n_steps - 1:
            hist.loss.append(loss.item())
            hist.l0.append(l0(f))
    return sae.eval(), hist


# --- what the field reports -----------------------------------------------------------------


def l0(f: Float[Tensor, "batch d_sae"]) -> float:
    """Mean number of active (non-zero) latents per token."""
    return float((f > 0).float().sum(-1).mean())


def fraction_variance_explained(x: Float[Tensor, "batch d_in"], x_hat: Float[Tensor, "batch d_in"]) -> float:
    """``1 - sum||x - x_hat||^2 / sum||x - mean(x)||^2``: 1 is perfect, 0 is no better than the mean."""
    return float(1 - ((x - x_hat) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def dead_latents(f: Float[Tensor, "batch d_sae"]) -> Tensor:
    """A boolean mask of the latents that never fire on these tokens (``[d_sae]``)."""
    return (f > 0).sum(0) == 0


def max_cosine(
    true_dirs: Float[Tensor, "n_true d"], learned_dirs: Float[Tensor, "n_learned d"]
) -> Float[Tensor, " n_true"]:
    """For each true direction, its largest cosine similarity with any learned direction (1: recovered)."""
    a = true_dirs / true_dirs.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    b = learned_dirs / learned_dirs.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    return (a @ b.T).max(dim=1).values


def loss_recovered(clean: float, spliced: float, ablated: float) -> float:
    """``(L_ablated - L_spliced) / (L_ablated - L_clean)``: 1 when the reconstruction is as good as the
    activation itself, 0 when it is no better than ablating the activation."""
    return (ablated - spliced) / (ablated - clean)


@dataclass(frozen=True)
class SpliceLosses:
    """Mean next-token losses (nats) of a language model on the same tokens."""

    clean: float
    spliced: float  # the activation replaced by the SAE's reconstruction
    zero: float  # the activation zeroed
    mean: float  # the activation replaced by its mean over the batch, at each position


@torch.no_grad()
def splice_losses(model: nn.Module, tokens: Int[Tensor, "batch pos"], sae: SAE, hook_name: str) -> SpliceLosses:
    """The model's loss clean, with ``hook_name`` replaced by ``sae``'s reconstruction, zeroed, and mean-ablated."""
    site = interventions.Site(hook_name)
    cache = interventions.cache_sites(model, tokens, site)
    recon = {hook_name: sae.reconstruct(cache[hook_name])}

    def loss(logits: Tensor) -> float:
        return training.next_token_loss(logits, tokens).mean().item()

    return SpliceLosses(
        clean=loss(model(tokens)),
        spliced=loss(interventions.patch(model, tokens, recon, site)),
        zero=loss(interventions.ablate(model, tokens, site)),
        mean=loss(interventions.ablate(model, tokens, site, mode="mean", reference_cache=cache)),
    )


def top_token_share(f: Float[Tensor, "n d_sae"], token_ids: Int[Tensor, " n"], k: int = 20) -> Float[Tensor, " d_sae"]:
    """Per latent: the share of its ``k`` strongest activations that fall on its most common token.

    1.0: a latent that fires hardest on one token only (e.g. " the"); low: a mix. Latents that
    fire on fewer than ``k`` tokens get NaN (too little evidence either way)."""
    idx = f.topk(k, dim=0).indices  # [k, d_sae]
    toks = token_ids[idx]
    share = (toks == toks.mode(dim=0).values).float().mean(0)
    return torch.where((f > 0).sum(0) >= k, share, torch.nan)


def next_token_mass(
    logit_effects: Float[Tensor, "n d_vocab"], next_probs: Float[Tensor, "n d_vocab"], k: int = 10
) -> Float[Tensor, " n"]:
    """Per row: the probability, under ``next_probs``, of the ``k`` tokens that ``logit_effects`` promotes most.

    With ``logit_effects`` a latent's direct logit effect (``W_dec[j] @ W_U``) and ``next_probs`` the
    corpus's next-token distribution after the latent's token: does the latent push up what follows?"""
    return next_probs.gather(-1, logit_effects.topk(k, dim=-1).indices).sum(-1)
