"""Negative controls for notebook 09: its mechanism claims, computed on an untrained model of its config.

The pattern of tests/test_negative_controls.py (which also covers 09's accuracy, QK-span and tent
claims): each test computes the quantities a claim tests, with the notebook's own bounds, on an
untrained model of ``select_median``'s config, and checks that the claim fails there. When a bound
changes in notebooks/src/09_find_median.py, change it here too: each test names the claim it mirrors.
"""

from __future__ import annotations

import pytest
import torch

from helpers import algorithmic, models, tasks
from helpers.configs import ModelConfig

N, V, H = 5, 32, 4


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: a second thread only adds synchronisation (and stalls on a busy machine)."""
    torch.set_num_threads(1)
    yield


def untrained(seed: int):
    """An untrained model of select_median's config (1 layer, 4 heads of 16, d_model 64, attention-only)."""
    return models.build_model(
        ModelConfig(d_vocab=V + 1, n_ctx=N + 1, d_model=64, n_layers=1, n_heads=H, d_head=16, seed=seed)
    )


@pytest.fixture(scope="module")
def split() -> tasks.SupervisedSplit:
    return tasks.select_task("median", n=N, vocab=V, n_train=100, n_test=500, seed=0)


def tent_agreement(model, tokens: torch.Tensor) -> dict[str, float]:
    """09's last claim: how often tents (+ the positional part's average) pick the model's answer."""
    logits, cache = model.run_with_cache(tokens)
    answer = logits[:, -1, :V].argmax(-1)
    values = tokens[:, :-1]
    attn = cache["blocks.0.attn.hook_pattern"][:, :, -1, :-1]  # [batch, head, key]
    uniform = torch.full_like(attn, 1 / (N + 1))
    ov = torch.stack([algorithmic.ov_by_value(model, h)[:, :V] for h in range(H)])  # [head, value, logit]
    tents = ov[:, values].permute(1, 0, 2, 3)  # [batch, head, n, logit]
    pos_ov = torch.einsum("pm,hmd,hde,ev->hpv", model.W_pos[:N], model.W_V[0], model.W_O[0], model.W_U[:, :V])
    bias = torch.einsum("bhp,hpv->bv", attn, pos_ov).mean(0)
    votes = {
        "tents, uniform": torch.einsum("bhn,bhnv->bv", uniform, tents),
        "tents, real": torch.einsum("bhn,bhnv->bv", attn, tents),
    }
    votes["bias, uniform"] = votes["tents, uniform"] + bias
    votes["bias, real"] = votes["tents, real"] + bias
    return {k: float((v.argmax(-1) == answer).float().mean()) for k, v in votes.items()}


def tent_claim_holds(a: dict[str, float]) -> bool:
    """'tents alone < 50%; tents + the constant bias > 95% (real attention) and > 70% (uniform attention)'."""
    return max(a["tents, uniform"], a["tents, real"]) < 0.5 and a["bias, real"] > 0.95 and a["bias, uniform"] > 0.7


@torch.no_grad()
def test_09_tents_plus_constant_bias_holds_on_the_checkpoint(split):
    """The same function on the model the claim is about (500 test rows here, 2,000 in the notebook)."""
    from helpers import paths
    from helpers.checkpoints import load_checkpoint

    model, _ = load_checkpoint(paths.data_dir() / "checkpoints" / "select_median")
    agreement = tent_agreement(model, split.test_tokens)
    assert tent_claim_holds(agreement), agreement


@torch.no_grad()
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_09_tents_plus_constant_bias_fails_on_an_untrained_model(split, seed):
    """09: 'the tents plus one constant bias explain the answer' (measured on select_median: 16% / 22%
    alone, 80% / 99% with the bias); an untrained model's answer is not tents plus a constant."""
    agreement = tent_agreement(untrained(seed), split.test_tokens)
    assert not tent_claim_holds(agreement), agreement


@torch.no_grad()
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_09_distributed_patching_fails_on_an_untrained_model(split, seed):
    """09: 'the answer is distributed over the heads' (per-head patching effects in (0.05, 0.6); measured
    0.20-0.32). In an untrained model one head's random write dominates and others move it backwards."""
    from helpers.exercises.nb09 import patching_effect

    model, tokens, labels = untrained(seed), split.test_tokens, split.test_labels
    corrupt, _ = algorithmic.change_one_element(tokens, V, "median", seed=0)
    corrupt_labels = corrupt[:, :-1].sort(dim=1).values[:, N // 2]
    clean_logits, corrupt_logits = model(tokens)[:, -1], model(corrupt)[:, -1]
    effects = [
        float(
            patching_effect(
                clean_logits,
                corrupt_logits,
                algorithmic.patch_activation(model, tokens, corrupt, "blocks.0.attn.hook_z", pos=-1, head=h),
                labels,
                corrupt_labels,
            )
        )
        for h in range(H)
    ]
    assert not (min(effects) > 0.05 and max(effects) < 0.6), effects
